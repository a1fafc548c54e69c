// Headless Chromium (Debian's, through playwright-core) drives the app in
// src/ — Ory Elements' default theme rendering a Lanyard project's browser
// flows: sign up with email + password, see the session, sign out, sign in.
// Run by flows/elements_e2e_test.go, which builds the app, serves it and the
// project API on one 127.0.0.1 origin and sets the variables below.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const app = process.env.E2E_APP_URL;
const sdk = process.env.LANYARD_URL;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOTS || join(process.cwd(), "test-output");
const skip = (!app || !sdk) && "E2E_APP_URL / LANYARD_URL are not set (run through go test ./flows -run TestOryElementsBrowser)";

let browser;

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  // launch() gives Chromium a new empty profile (--user-data-dir) of its own.
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

// whoami asks the project for the current session with the page's cookies.
async function whoami(page) {
  return page.evaluate(async (url) => {
    const res = await fetch(url + "/sessions/whoami", { credentials: "include", headers: { Accept: "application/json" } });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, sdk);
}

// watch records failed requests and page errors, for the assertion messages.
function watch(page) {
  const log = [];
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && log.push(`console: ${m.text()}`));
  page.on("response", (r) => r.status() >= 400 && log.push(`${r.status()} ${r.request().method()} ${r.url()}`));
  return log;
}

test("Ory Elements: sign up, session, sign out, sign in", { skip, timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  const log = watch(page);
  const why = () => `\n${log.join("\n")}`;
  const run = Date.now().toString(36);
  const email = `elements-${run}@example.com`;
  const password = `elements horse ${run} staple`;

  try {
    // Registration: the app creates a browser flow and Elements renders it.
    await page.goto(`${app}/ui/registration?sdk=${encodeURIComponent(sdk)}`);
    const emailInput = page.locator('input[name="traits.email"]');
    await emailInput.waitFor({ timeout: 15_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    await page.screenshot({ path: join(shots, "1-registration.png"), fullPage: true });
    await emailInput.fill(email);
    for (const [name, value] of [["traits.name.first", "Elle"], ["traits.name.last", "Ments"]]) {
      const input = page.locator(`input[name="${name}"]`);
      if (await input.count()) await input.fill(value);
    }
    await page.locator('input[name="password"]').fill(password);
    await page.screenshot({ path: join(shots, "2-registration-filled.png"), fullPage: true });
    await page.locator('button[type="submit"][value="password"]').first().click();

    // Signed up and in. Verification is on (a new project's default), so
    // continue_with show_verification_ui sends the browser to the
    // verification page first; the app lets the person verify later.
    await page.waitForURL(/\/ui\/(welcome|verification)/, { timeout: 15_000 }).catch(async (e) => {
      await page.screenshot({ path: join(shots, "fail-registration.png"), fullPage: true });
      assert.fail(`${e.message} (at ${page.url()})${why()}`);
    });
    if (page.url().includes("/ui/verification")) {
      assert.match(page.url(), /[?&]flow=[0-9a-f-]{36}/, "the verification flow id");
      await page.getByTestId("app-skip-verification").waitFor({ timeout: 10_000 });
      await page.locator('input[name="code"], input[name="email"]').first().waitFor({ timeout: 10_000 })
        .catch((e) => assert.fail(`the verification form: ${e.message}${why()}`));
      await page.screenshot({ path: join(shots, "3-verification.png"), fullPage: true });
      await page.getByTestId("app-skip-verification").click();
      await page.waitForURL(/\/ui\/welcome/, { timeout: 15_000 });
    }
    await page.getByTestId("app-email").waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("app-email").textContent(), email);
    await page.screenshot({ path: join(shots, "4-signed-up.png"), fullPage: true });
    let me = await whoami(page);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.identity.traits.email, email);
    const identity = me.body.identity.id;
    const firstSession = me.body.id;

    // Sign out through the logout flow: back to the login page, no session.
    await page.getByTestId("app-logout").click();
    await page.waitForURL(/\/ui\/login/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    me = await whoami(page);
    assert.equal(me.status, 401, JSON.stringify(me.body));

    // Sign in through the rendered login form.
    const identifier = page.locator('input[name="identifier"]');
    await identifier.waitFor({ timeout: 15_000 }).catch((e) => assert.fail(`${e.message}${why()}`));
    await page.screenshot({ path: join(shots, "5-login.png"), fullPage: true });
    await identifier.fill(email);
    const pw = page.locator('input[name="password"]');
    if (!(await pw.count())) {
      // identifier-first: the password comes on the second step
      await page.locator('button[type="submit"]').first().click();
    }
    await pw.fill(password);
    await page.locator('button[type="submit"][value="password"]').first().click();
    await page.waitForURL(/\/ui\/welcome/, { timeout: 15_000 }).catch(async (e) => {
      await page.screenshot({ path: join(shots, "fail-login.png"), fullPage: true });
      assert.fail(`${e.message} (at ${page.url()})${why()}`);
    });
    await page.getByTestId("app-email").waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("app-email").textContent(), email);
    await page.screenshot({ path: join(shots, "6-signed-in.png"), fullPage: true });
    me = await whoami(page);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.identity.id, identity);
    assert.notEqual(me.body.id, firstSession, "a new session at login");

    // The session cookie is the project's: HttpOnly, scoped to /p/<slug>.
    const cookies = await context.cookies(sdk);
    const session = cookies.find((c) => c.httpOnly && c.value && c.path.startsWith(new URL(sdk).pathname));
    assert.ok(session, `a HttpOnly session cookie under ${new URL(sdk).pathname}: ${JSON.stringify(cookies)}`);
  } catch (err) {
    // Whatever failed: what the page showed, and what went wrong on it.
    await page.screenshot({ path: join(shots, "fail.png"), fullPage: true }).catch(() => {});
    console.error(`failed at ${page.url()}${why()}`);
    throw err;
  } finally {
    await context.close();
  }
});
