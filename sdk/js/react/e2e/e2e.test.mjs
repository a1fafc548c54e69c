// Headless Chromium (Debian's, through playwright-core) drives the app in
// e2e/src — @lanyard/react rendering a Lanyard project's browser flows:
// sign up, verify the address with the mailed code (read from Mailpit),
// see the session, sign out, a wrong password, sign in, change the name in
// settings. Run by flows/react_e2e_test.go (TestLanyardReactBrowser), which
// builds the app, serves it and the project API on one 127.0.0.1 origin and
// sets the variables below.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const app = process.env.E2E_APP_URL;
const sdk = process.env.LANYARD_URL;
const mailpit = process.env.MAILPIT_API || "http://127.0.0.1:8025";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOTS || join(process.cwd(), "test-output");
const skip = (!app || !sdk) && "E2E_APP_URL / LANYARD_URL are not set (run through go test ./flows -run TestLanyardReactBrowser)";

let browser;

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
});

async function whoami(page) {
  return page.evaluate(async (url) => {
    const res = await fetch(url + "/sessions/whoami", { credentials: "include", headers: { Accept: "application/json" } });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, sdk);
}

function watch(page) {
  const log = [];
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && log.push(`console: ${m.text()}`));
  page.on("response", (r) => r.status() >= 400 && log.push(`${r.status()} ${r.request().method()} ${r.url()}`));
  return log;
}

// mailedCode waits for the n-th mail to address in Mailpit and reads its 6-digit code.
async function mailedCode(address, n) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`${mailpit}/api/v1/search?limit=50&query=${encodeURIComponent("to:" + address)}`);
    const list = (await res.json()).messages ?? [];
    if (list.length >= n) {
      const msg = await (await fetch(`${mailpit}/api/v1/message/${list[0].ID}`)).json();
      const m = /^\s*(\d{6})\s*$/m.exec(msg.Text ?? "");
      assert.ok(m, `no code in the mail ${JSON.stringify(msg.Subject)}: ${msg.Text}`);
      return m[1];
    }
    if (Date.now() > deadline) assert.fail(`Mailpit holds ${list.length} mails for ${address}, want ${n}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("@lanyard/react: sign up, verify, sign out, sign in, settings", { skip, timeout: 150_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  const log = watch(page);
  const why = () => `\n${log.join("\n")}`;
  const run = Date.now().toString(36);
  const email = process.env.E2E_EMAIL || `react-${run}@example.com`;
  const password = `react horse ${run} staple`;
  const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });

  try {
    // Sign up: the app creates a browser flow and renders its nodes.
    await page.goto(`${app}/ui/registration?sdk=${encodeURIComponent(sdk)}`);
    const emailInput = page.getByLabel("E-Mail");
    await emailInput.waitFor({ timeout: 15_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    assert.match(page.url(), /[?&]flow=[0-9a-f-]{36}/, "the flow id is kept in the URL");
    await shot("1-registration.png");
    await emailInput.fill(email);
    await page.getByLabel("First name").fill("Ada");
    // A too-short password first: the message under the field, the input kept.
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.locator('[data-message-id="4000032"]').waitFor({ timeout: 10_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    assert.equal(await page.getByLabel("E-Mail").inputValue(), email);
    assert.equal(await page.getByLabel("First name").inputValue(), "Ada");
    await shot("2-registration-error.png");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();

    // continue_with show_verification_ui: the verification page, code sent.
    await page.waitForURL(/\/ui\/verification\?flow=/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    const codeInput = page.getByLabel("Verification code");
    await codeInput.waitFor({ timeout: 10_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    await shot("3-verification.png");
    const code = await mailedCode(email, 1);
    await codeInput.fill(code);
    await page.getByRole("button", { name: "Submit" }).click();
    await page.locator('[data-message-id="1080002"]').waitFor({ timeout: 10_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    await shot("4-verified.png");
    await page.getByRole("link", { name: "Continue" }).click();

    await page.waitForURL(/\/ui\/welcome/, { timeout: 15_000 });
    await page.getByTestId("app-email").waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("app-email").textContent(), email);
    assert.equal(await page.getByTestId("app-verified").textContent(), "verified");
    await shot("5-welcome.png");
    let me = await whoami(page);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const firstSession = me.body.id;

    // Sign out (the logout flow, by fetch): back to the login page.
    await page.getByTestId("app-logout").click();
    await page.waitForURL(/\/ui\/login/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    me = await whoami(page);
    assert.equal(me.status, 401, JSON.stringify(me.body));

    // A wrong password: 4000006 in words, the identifier kept; then sign in.
    const identifier = page.getByLabel("ID");
    await identifier.waitFor({ timeout: 15_000 });
    await identifier.fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByLabel("Password").press("Enter");
    await page.locator('[data-message-id="4000006"]').waitFor({ timeout: 10_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    assert.equal(await page.getByLabel("ID").inputValue(), email);
    await shot("6-login-error.png");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in with password" }).click();
    await page.waitForURL(/\/ui\/welcome/, { timeout: 15_000 }).catch(async (e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    await page.getByTestId("app-email").waitFor({ timeout: 10_000 });
    me = await whoami(page);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.notEqual(me.body.id, firstSession, "a new session at login");

    // Settings: change the first name (the profile form).
    await page.getByTestId("app-settings").click();
    await page.waitForURL(/\/ui\/settings/, { timeout: 15_000 });
    const first = page.getByRole("form", { name: "Profile" }).getByLabel("First name");
    await first.waitFor({ timeout: 10_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    await first.fill("Augusta");
    await page.getByRole("form", { name: "Profile" }).getByRole("button", { name: "Save" }).click();
    await page.locator('[data-message-id="1050001"]').waitFor({ timeout: 10_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    await shot("7-settings-saved.png");
    // A new settings flow shows the saved name. (whoami is not asked: its
    // cache does not yet drop an identity's entries when traits change.)
    await page.goto(`${app}/ui/settings`);
    const again = page.getByRole("form", { name: "Profile" }).getByLabel("First name");
    await again.waitFor({ timeout: 10_000 });
    assert.notEqual(new URL(page.url()).searchParams.get("flow"), null);
    assert.equal(await again.inputValue(), "Augusta");

    // Phone width: the same page, no sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "the settings page scrolls sideways on a phone");
    await shot("8-settings-phone.png");

    // Chromium logs every 4xx answer as "Failed to load resource"; the 400s
    // with validation messages and the 401 of whoami when signed out are
    // expected here. Anything else the page logs is an error.
    const errors = log.filter((l) => l.startsWith("pageerror") || (l.startsWith("console") && !l.includes("Failed to load resource")));
    assert.deepEqual(errors, [], "no page or console errors");
    const failed = log.filter((l) => /^\d{3} /.test(l)).map((l) => l.replace(/\?.*$/, "").replace(/^(\d{3} \w+) .*\/p\/[^/]+/, "$1 "));
    assert.deepEqual(failed, ["400 POST /self-service/registration", "401 GET /sessions/whoami", "400 POST /self-service/login"], "the failed requests");
  } catch (err) {
    await shot("fail.png").catch(() => {});
    console.error(`failed at ${page.url()}${why()}`);
    throw err;
  } finally {
    await context.close();
  }
});
