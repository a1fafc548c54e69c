// The dashboard's acceptance test in headless Chromium (Debian's, through
// playwright-core): sign up, verify the address with the mailed code (read
// from Mailpit), create a project and an API key, use the key to create a
// user on the project API (as curl would), find the user on the Users
// page, edit a trait, revoke the user's session, sign out and in again,
// open the billing page. Every page is saved as a screenshot; any page or
// console error fails the test.
//
// Run by dashboard/web_e2e_test.go (TestDashboardBrowserE2E), which serves
// the built app, the platform API and a project API and sets the variables
// below.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";

const app = process.env.DASHBOARD_URL;
const mailpit = process.env.MAILPIT_API || "http://127.0.0.1:8025";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOTS || join(process.cwd(), "test-output");
const skip = !app && "DASHBOARD_URL is not set (run through go test ./dashboard -run TestDashboardBrowserE2E)";

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

function watch(page) {
  const log = [];
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  page.on("framenavigated", (f) => f === page.mainFrame() && log.push(`  (page: ${f.url()})`));
  page.on("console", (m) => m.type() === "error" && log.push(`console: ${m.text()}`));
  page.on("response", async (r) => {
    if (r.status() < 400) return;
    const line = `${r.status()} ${r.request().method()} ${r.url()}`;
    log.push(line);
    // The error's id, for the reader of a failure (not compared).
    const id = await r.json().then((b) => b?.error?.id, () => undefined);
    if (id) log.push(`  (${line.split(" ").slice(0, 2).join(" ")}: ${id})`);
  });
  return log;
}

// mailedCode waits for the n-th mail to address in Mailpit and reads its 6-digit code.
async function mailedCode(address, n) {
  const deadline = Date.now() + 30_000;
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
    await new Promise((r) => setTimeout(r, 150));
  }
}

// mailedLink waits for a mail to address in Mailpit and returns the first link matching re.
async function mailedLink(address, re) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${mailpit}/api/v1/search?limit=50&query=${encodeURIComponent("to:" + address)}`);
    const list = (await res.json()).messages ?? [];
    if (list.length > 0) {
      const msg = await (await fetch(`${mailpit}/api/v1/message/${list[0].ID}`)).json();
      const m = re.exec(msg.Text ?? "");
      assert.ok(m, `no link in the mail ${JSON.stringify(msg.Subject)}: ${msg.Text}`);
      return m[0];
    }
    if (Date.now() > deadline) assert.fail(`Mailpit holds no mail for ${address}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

// normalize turns a failed request of the log into "STATUS METHOD /path" with ids as :id.
function normalize(line) {
  return line
    .replace(/\?.*$/, "")
    .replace(app, "")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, ":id");
}

async function json(res, what) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, what };
}

test("dashboard: sign up, project, API key, users, billing", { skip, timeout: 240_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const log = watch(page);
  const why = () => `\n${log.join("\n")}`;
  const run = Date.now().toString(36);
  const email = process.env.E2E_EMAIL || `dash-${run}@example.com`;
  const password = `dashboard horse ${run} staple`;
  let n = 0;
  const shot = (name) => page.screenshot({ path: join(shots, `${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
  const see = (locator, what, timeout = 15_000) => locator.waitFor({ timeout }).catch((e) => assert.fail(`${what}: ${e.message} (at ${page.url()})${why()}`));
  const timings = {};

  try {
    // Sign up: the console project's registration flow, rendered by @lanyard/react.
    let t0 = Date.now();
    await page.goto(`${app}/`);
    await page.waitForURL(/\/login/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    await see(page.getByLabel("Password"), "the sign-in form");
    timings.firstLoadMs = Date.now() - t0;
    timings.navigation = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return nav ? { domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd), loadMs: Math.round(nav.loadEventEnd) } : null;
    });
    await shot("login");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await see(page.getByRole("heading", { name: "Recover your account" }), "the recovery page");
    await see(page.getByLabel("Email"), "the recovery form");
    await shot("recovery");
    await page.getByRole("link", { name: "Back to sign in" }).click();
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.waitForURL(/\/registration/);
    const emailInput = page.getByLabel("E-Mail");
    await see(emailInput, "the sign-up form");
    await emailInput.fill(email);
    // A too-short password first: the message, the input kept.
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Sign up" }).click();
    await see(page.locator('[data-message-id="4000032"]'), "the password message");
    assert.equal(await page.getByLabel("E-Mail").inputValue(), email, "the email is kept after an error");
    await shot("registration-error");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();

    // The verification page of this app, with the code from the mail.
    await page.waitForURL(/\/verification\?flow=/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    const codeInput = page.getByLabel("Verification code");
    await see(codeInput, "the code input");
    await shot("verification");
    await codeInput.fill(await mailedCode(email, 1));
    await page.getByRole("button", { name: "Submit" }).click();
    await see(page.locator('[data-message-id="1080002"]'), "the verified message");
    await shot("verified");
    await page.getByRole("link", { name: "Go to the dashboard" }).click();

    // The personal workspace, with no projects yet.
    await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    await see(page.getByText("No projects yet"), "the empty project list");
    const switcher = page.getByTestId("workspace-switcher");
    assert.match(await switcher.locator("option:checked").textContent(), /personal/i, "the personal workspace is chosen");
    await shot("projects-empty");

    // Create a project: its overview, the first key shown once.
    await page.getByRole("button", { name: "New project" }).click();
    await page.getByLabel("Name").fill("Acme E2E");
    await page.getByLabel("Production").check();
    await shot("project-new");
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    await see(page.getByRole("heading", { name: "Acme E2E" }), "the project overview");
    await see(page.getByTestId("secret"), "the first API key");
    const projectId = new URL(page.url()).pathname.split("/").pop();
    const projectUrl = (await page.getByTestId("project-url").textContent()).trim();
    assert.match(projectUrl, /^http:\/\/127\.0\.0\.1:\d+\/p\/[a-z0-9-]+$/);
    for (const tab of ["@ory/client-fetch", "React", "Go", "curl"]) {
      await page.getByRole("tab", { name: tab }).click();
      assert.ok((await page.locator("[role=tabpanel] pre").textContent()).includes(projectUrl), `the ${tab} quickstart names the project URL`);
    }
    await shot("project-overview");
    await page.getByRole("button", { name: "I have copied it" }).click();

    // An API key: the secret once, then in the list.
    await page.getByRole("link", { name: "API keys" }).click();
    await page.waitForURL(/\/keys$/);
    await page.getByLabel("Key name").fill("e2e backend");
    await page.getByRole("button", { name: "Create key" }).click();
    await see(page.getByTestId("secret"), "the new key's secret");
    const apiKey = await page.getByTestId("secret").inputValue();
    assert.ok(apiKey.length > 20, "a secret");
    await see(page.getByRole("cell", { name: "e2e backend", exact: true }), "the key in the list");
    await shot("api-key-created");

    // Use the key as curl would: create a user with a password, then sign
    // the user in through the project's API flow (a session to revoke).
    const userEmail = `user-${run}@example.com`;
    const userPassword = `user horse ${run} battery`;
    const made = await json(
      await fetch(`${projectUrl}/admin/identities`, {
        method: "POST",
        headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ schema_id: "default", traits: { email: userEmail, name: { first: "Ada", last: "Lovelace" } }, credentials: { password: { config: { password: userPassword } } } }),
      }),
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const identityId = made.body.id;
    const flow = await json(await fetch(`${projectUrl}/self-service/login/api`, { headers: { Accept: "application/json" } }));
    assert.equal(flow.status, 200, JSON.stringify(flow.body));
    const login = await json(
      await fetch(flow.body.ui.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ method: "password", identifier: userEmail, password: userPassword }),
      }),
    );
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const sessionToken = login.body.session_token;
    const whoami = async () => (await fetch(`${projectUrl}/sessions/whoami`, { headers: { "X-Session-Token": sessionToken, Accept: "application/json" } })).status;
    assert.equal(await whoami(), 200);

    // 30 more users, so that the list pages (25 a page).
    const more = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${projectUrl}/admin/identities`, {
          method: "POST",
          headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
          body: JSON.stringify({ traits: { email: `bulk-${i}-${run}@example.com` } }),
        }).then((r) => r.status),
      ),
    );
    assert.deepEqual([...new Set(more)], [201]);

    // The Users page lists users by page; the search finds one by identifier.
    await page.getByRole("link", { name: "Users" }).click();
    await page.waitForURL(/\/users$/);
    const rows = page.getByTestId("user-list").locator("tbody tr");
    await see(rows.first(), "the user list");
    assert.equal(await rows.count(), 25, "the first page");
    const firstPage = await rows.allTextContents();
    await page.getByRole("button", { name: "Next page" }).click();
    await see(page.getByRole("button", { name: "First page" }), "the second page");
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=user-list] tbody tr").length === 6);
    const secondPage = await rows.allTextContents();
    assert.equal(secondPage.filter((r) => firstPage.includes(r)).length, 0, "the pages overlap");
    assert.ok([...firstPage, ...secondPage].some((r) => r.includes(userEmail)), "the user is on a page");
    assert.equal(await page.getByRole("button", { name: "Next page" }).count(), 0, "a third page");
    await page.getByRole("button", { name: "First page" }).click();
    await see(page.getByRole("button", { name: "Next page" }), "back on the first page");
    await shot("users");
    await page.getByLabel("Search by identifier").fill(userEmail);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForURL(/\/users\?q=/);
    await see(page.getByRole("link", { name: userEmail }), "the user found");
    await page.getByLabel("Search by identifier").fill("nobody@example.com");
    await page.getByLabel("Search by identifier").press("Enter");
    await see(page.getByText("No user has the identifier"), "the empty search");
    await page.getByLabel("Search by identifier").fill(userEmail);
    await page.getByLabel("Search by identifier").press("Enter");
    await page.getByRole("link", { name: userEmail }).click();

    // The detail: traits, addresses, one session.
    await page.waitForURL(new RegExp(`/users/${identityId}$`));
    await see(page.getByTestId("traits"), "the traits");
    await see(page.getByTestId("session-list").locator("tbody tr"), "the user's session");
    assert.equal(await page.getByTestId("session-list").locator("tbody tr").count(), 1);
    await shot("user-detail");

    // Edit a trait: invalid JSON first (the message, the text kept), then the change.
    await page.getByRole("button", { name: "Edit traits" }).click();
    const traits = page.getByLabel("Traits (JSON)");
    const edited = JSON.parse(await traits.inputValue());
    await traits.fill("{ not json");
    await page.getByRole("button", { name: "Save traits" }).click();
    await see(page.getByText("Traits is not valid JSON"), "the JSON error");
    assert.equal(await traits.inputValue(), "{ not json");
    edited.name.first = "Augusta";
    await traits.fill(JSON.stringify(edited, null, 2));
    await page.getByRole("button", { name: "Save traits" }).click();
    await see(page.getByText("Traits saved."), "the saved notice");
    assert.match(await page.getByTestId("traits").textContent(), /"first": "Augusta"/);
    await shot("user-trait-edited");

    // Revoke the session: asked once more, then gone, and the token is dead.
    await page.getByRole("button", { name: "Revoke sessions" }).click();
    await page.getByRole("button", { name: "Revoke all sessions" }).click();
    await see(page.getByText("All sessions of this user were revoked."), "the revoked notice");
    await see(page.getByText("No active sessions."), "no sessions left");
    assert.equal(await whoami(), 401, "the revoked session still works");
    await shot("user-sessions-revoked");

    // The workspace pages: members, tokens, the audit log of all that.
    await page.getByRole("link", { name: "Members" }).click();
    await see(page.getByRole("cell", { name: `${email} (you)`, exact: true }), "the member list");
    await shot("members");
    await page.getByRole("link", { name: "Access tokens" }).click();
    await see(page.getByText("No access tokens."), "the token list");
    await page.getByLabel("Token name").fill("ci");
    await page.getByRole("button", { name: "Create token" }).click();
    await see(page.getByTestId("secret"), "the token's secret");
    await shot("tokens");
    await page.getByRole("link", { name: "Audit log" }).click();
    for (const action of ["identity.patch", "identity.sessions_revoke", "api_key.create", "project.create"]) {
      await see(page.getByTestId("audit-list").getByText(action, { exact: true }).first(), `the audit event ${action}`);
    }
    await shot("audit");

    // ---- Hooks and Email pages (project settings) ----------------------
    {
      // A local webhook receiver: the project's sign-ups call it inline.
      const received = [];
      const receiver = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          received.push(body);
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end('{"ok":true}');
        });
      });
      await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
      const hookURL = `http://127.0.0.1:${receiver.address().port}/hook`;
      try {
        await page.goto(`${app}/projects/${projectId}`);
        await page.getByRole("link", { name: "Hooks", exact: true }).click();
        await page.waitForURL(/\/hooks$/);
        const editor = page.getByTestId("hooks-json");
        await see(editor, "the hooks editor");
        assert.match(await editor.inputValue(), /"session"/, "the default hooks");
        const withHook = (url) =>
          JSON.stringify(
            { registration: { after: { hooks: [{ hook: "web_hook", config: { id: "e2e-notify", url, method: "POST", can_interrupt: true } }, { hook: "session" }] } } },
            null,
            2,
          );
        // An invalid URL: the server's message, the input kept.
        await editor.fill(withHook("not a url"));
        await page.getByRole("button", { name: "Save hooks" }).click();
        await see(page.getByTestId("hooks-error"), "the validation error");
        assert.match(await page.getByTestId("hooks-error").textContent(), /registration\.after/, "the error names the place");
        assert.match(await editor.inputValue(), /not a url/, "the input was kept");
        await shot("hooks-invalid");
        // Not JSON at all: said in words, nothing sent.
        await editor.fill("{ nope");
        await page.getByRole("button", { name: "Save hooks" }).click();
        await see(page.getByText(/not valid JSON/), "the JSON error");
        // The webhook to the local receiver: saved, its secret shown once.
        await editor.fill(withHook(hookURL));
        await page.getByRole("button", { name: "Save hooks" }).click();
        await see(page.getByText("The hooks were saved."), "the saved notice");
        await see(page.getByTestId("secret"), "the webhook's signing secret");
        assert.ok((await page.getByTestId("secret").inputValue()).length > 16, "a signing secret");
        assert.doesNotMatch(await editor.inputValue(), /"secret":/, "the editor shows no secret");
        await page.getByRole("button", { name: "I have copied it" }).click();
        // A sign-up on the project calls it; the call is in the delivery log.
        const reg = await json(await fetch(`${projectUrl}/self-service/registration/api`, { headers: { Accept: "application/json" } }), "registration flow");
        const done = await fetch(reg.body.ui.action, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ method: "password", traits: { email: `hooked-${run}@example.com` }, password: `hooked horse ${run} staple` }),
        });
        assert.equal(done.status, 200, `the sign-up with the webhook: ${await done.text()}`);
        assert.equal(received.length, 1, "the webhook was called once");
        await page.reload();
        await see(page.getByTestId("deliveries").getByText("e2e-notify"), "the delivery in the log");
        await page.getByRole("button", { name: "Details" }).first().click();
        await see(page.getByTestId("delivery-detail").getByText(/Attempt 1/), "the delivery's attempt");
        await see(page.getByTestId("delivery-detail").getByText('{"ok":true}'), "the response excerpt");
        await shot("hooks");
        // The JavaScript action helper; the plan may refuse actions, in words.
        await page.getByTestId("insert-action").click();
        assert.match(await editor.inputValue(), /"action-1"/, "the sample action was inserted");
        await page.getByRole("button", { name: "Save hooks" }).click();
        await see(page.getByText("The hooks were saved.").or(page.getByTestId("hooks-error")), "the action saved or refused");
        if (await page.getByTestId("hooks-error").isVisible()) {
          assert.match(await page.getByTestId("hooks-error").textContent(), /plan/, "the plan refusal in words");
          await shot("hooks-plan");
        }
      } finally {
        receiver.close();
      }

      // Email: the platform's server at first; then Mailpit as the project's own, and a test send.
      await page.getByRole("link", { name: "Email", exact: true }).click();
      await page.waitForURL(/\/email$/);
      await see(page.getByText("This project uses the platform's SMTP server.", { exact: false }), "the platform server note");
      await page.getByLabel("Host").fill("127.0.0.1");
      await page.getByLabel("Port").fill("1025");
      await page.getByLabel("Security").selectOption("none");
      await page.getByLabel("Sender").fill("Acme <hello@acme-e2e.test>");
      await page.getByRole("button", { name: "Save SMTP settings" }).click();
      await see(page.getByText(/The SMTP settings were saved/), "the saved SMTP notice");
      assert.equal((await page.getByTestId("smtp-mode").textContent()).trim(), "Your own server");
      const testTo = `smtp-test-${run}@example.com`;
      await page.getByLabel("Recipient").fill(testTo);
      await page.getByRole("button", { name: "Send test email" }).click();
      await see(page.getByText(`The test email to ${testTo} was accepted by the server.`), "the test mail notice");
      let got;
      for (let i = 0; i < 50 && !got; i++) {
        const r = await (await fetch(`${mailpit}/api/v1/search?query=${encodeURIComponent(`to:${testTo}`)}`)).json();
        got = r.messages?.[0];
        if (!got) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(got?.Subject, "Lanyard test email", "Mailpit has the test email");
      await shot("email");
    }

    // ---- Authentication settings and Identity schema pages ---------------
    const authSettingsFailures = ["400 PATCH /api/v1/projects/:id/config"];
    {
      await page.goto(`${app}/projects/${projectId}`);
      await page.getByRole("link", { name: "Project settings", exact: true }).click();
      await page.waitForURL(/\/settings$/);
      const authForm = page.getByRole("form", { name: "Authentication settings" });
      const minLength = authForm.getByLabel("Minimum password length");
      await see(minLength, "the authentication settings form");
      assert.equal(await minLength.inputValue(), "8", "the default minimum length");
      // Out of range: the field's message, the input kept, nothing saved.
      await minLength.fill("3");
      await authForm.getByRole("button", { name: "Save the authentication settings" }).click();
      await see(authForm.getByTestId("field-error"), "the field error");
      assert.match(await authForm.getByTestId("field-error").textContent(), /between 6 and 1024/);
      assert.equal(await minLength.getAttribute("aria-invalid"), "true", "the field is marked invalid");
      assert.equal(await minLength.inputValue(), "3", "the input is kept");
      await shot("settings-invalid");
      // Valid values: saved, and shown again after a reload.
      await minLength.fill("12");
      await authForm.getByLabel("Sliding expiry", { exact: false }).uncheck();
      await authForm.getByLabel("Allowed return URLs (one per line)").fill("https://app.acme-e2e.test/\nhttps://*.acme-e2e.test");
      await authForm.getByRole("button", { name: "Save the authentication settings" }).click();
      await see(page.getByText("The authentication settings were saved."), "the saved notice");
      const cors = page.getByRole("form", { name: "Allowed origins (CORS)" });
      await cors.getByLabel("Origins (one per line)").fill("https://app.acme-e2e.test");
      await cors.getByRole("button", { name: "Save the origins" }).click();
      await see(page.getByText("The allowed origins were saved."), "the saved origins notice");
      await page.reload();
      await see(page.getByRole("form", { name: "Authentication settings" }).getByLabel("Minimum password length"), "the settings after a reload");
      assert.equal(await page.getByRole("form", { name: "Authentication settings" }).getByLabel("Minimum password length").inputValue(), "12", "the saved length");
      assert.equal(await page.getByRole("form", { name: "Authentication settings" }).getByLabel("Sliding expiry", { exact: false }).isChecked(), false);
      assert.match(await page.getByLabel("Allowed return URLs (one per line)").inputValue(), /\*\.acme-e2e\.test/);
      assert.equal(await page.getByLabel("Origins (one per line)").inputValue(), "https://app.acme-e2e.test");
      await shot("settings");

      // The identity schema: a JSON error at its line, a preset, its preview, saved.
      await page.getByRole("link", { name: "Identity schema", exact: true }).click();
      await page.waitForURL(/\/schema$/);
      const schemaEditor = page.getByLabel("Identity schema (JSON)");
      await see(schemaEditor, "the schema editor");
      assert.match(await schemaEditor.inputValue(), /"traits"/, "the current schema");
      await see(page.getByTestId("preview").getByLabel("E-Mail").or(page.getByTestId("preview").getByLabel("Email")), "the preview of the current schema");
      const schemaId = await page.evaluate(async (p) => (await (await fetch(`/api/v1/projects/${p}/schemas`)).json())[0].id, projectId);
      authSettingsFailures.push(`400 PUT /api/v1/projects/:id/schemas/${schemaId}`);
      await schemaEditor.fill('{\n  "type": "object",\n  "properties": {,\n}');
      await page.getByRole("button", { name: "Save the schema" }).click();
      await see(page.getByTestId("error-position"), "the error position");
      assert.match(await page.getByTestId("error-position").textContent(), /Line 3, column 18/);
      assert.equal(await page.getByTestId("gutter").locator(".error-line").getAttribute("data-line"), "3", "the gutter marks line 3");
      await see(page.getByText(/not valid JSON/), "the server's message");
      await shot("schema-invalid");
      await page.getByLabel("Preset").selectOption({ label: "Email, first and last name" });
      assert.match(await schemaEditor.inputValue(), /"First name"/, "the preset fills the editor");
      await see(page.getByTestId("preview").getByLabel("First name"), "the preview follows the editor");
      await see(page.getByTestId("preview").getByLabel("Password"), "the preview's password");
      await page.getByRole("button", { name: "Save the schema" }).click();
      await see(page.getByText(/The schema .* was saved/), "the saved schema notice");
      await page.reload();
      await see(page.getByLabel("Identity schema (JSON)"), "the editor after a reload");
      assert.match(await page.getByLabel("Identity schema (JSON)").inputValue(), /"Last name"/, "the saved schema");
      await shot("schema");
    }

    // --- Users extra: a recovery link mailed from the user page, and the
    // project overview's usage chart (daily sign-ups and active users).
    {
      await page.goto(`${app}/projects/${projectId}/users/${identityId}`);
      await see(page.getByRole("button", { name: "Send recovery link" }), "the send recovery link button");
      await page.getByRole("button", { name: "Send recovery link" }).click();
      await see(page.getByText(`A recovery link is on its way to ${userEmail}.`), "the sent recovery link notice");
      const link = await mailedLink(userEmail, /https?:\/\/\S+\/self-service\/recovery\?\S+/);
      assert.ok(link.includes(new URL(projectUrl).pathname), `the mailed link ${link} is the project's`);
      await shot("user-recovery-link-sent");
      await page.goto(`${app}/projects/${projectId}`);
      const usage = page.getByTestId("project-usage");
      await see(usage.locator(".chart svg"), "the project usage chart");
      assert.match(await usage.textContent(), /\d+ sign-ups in \d{4}-\d{2}/, "the month's sign-ups");
      await shot("project-overview-usage");
    }

    // ---- Email templates (Email page): a bad template refused in words,
    // a preview in a sandboxed frame, saved, and reset to the default.
    const templateFailures = ["400 PUT /api/v1/projects/:id/email/templates/login_code_valid/default"];
    {
      await page.goto(`${app}/projects/${projectId}/email`);
      const tpl = page.getByRole("form", { name: "Email template" });
      await see(tpl.getByTestId("template-subject"), "the template editor");
      await tpl.getByTestId("template-type").selectOption("login_code_valid");
      await see(tpl.getByTestId("template-preview-html"), "the preview of the default template");
      assert.equal(await tpl.getByTestId("template-preview-html").getAttribute("sandbox"), "", "the preview frame is sandboxed");
      assert.equal((await tpl.getByTestId("template-mode").textContent()).trim(), "Built-in default");
      await tpl.getByLabel("HTML body").fill("<p>{{.NoSuchVariable}}</p>");
      await tpl.getByRole("button", { name: "Save template" }).click();
      await see(tpl.getByText(/There is a problem in the HTML body/), "the template error in words");
      await shot("email-template-invalid");
      await tpl.getByLabel("Subject").fill("Your Acme sign-in code");
      await tpl.getByLabel("HTML body").fill('<h1 style="color:#1d4ed8">Acme</h1><p>Your sign-in code is <b>{{.LoginCode}}</b>.</p>');
      await tpl.getByRole("button", { name: "Preview" }).click();
      await see(tpl.getByTestId("template-preview-subject").getByText("Your Acme sign-in code"), "the preview's subject");
      // Chromium throttles the rendering of an off-screen cross-origin
      // frame (the sandboxed preview is one), and its text may then count
      // as hidden: bring it on screen, as a reader would.
      await tpl.getByTestId("template-preview-html").scrollIntoViewIfNeeded();
      await see(tpl.frameLocator('[data-testid="template-preview-html"]').getByText("Your sign-in code is 123456."), "the rendered HTML");
      await tpl.getByRole("button", { name: "Save template" }).click();
      await see(tpl.getByText(/template was saved/), "the saved template notice");
      assert.equal((await tpl.getByTestId("template-mode").textContent()).trim(), "Customized");
      await shot("email-templates");
      await tpl.getByRole("button", { name: "Reset to default" }).click();
      await see(tpl.getByText("The template is back to the built-in default."), "the reset notice");
      assert.notEqual(await tpl.getByLabel("Subject").inputValue(), "Your Acme sign-in code", "the default subject again");
    }

    // Sign out, and in again: back to the workspace with the project.
    await page.getByTestId("account-menu").click();
    await page.getByTestId("sign-out").click();
    await page.waitForURL(/\/login/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    await see(page.getByLabel("ID"), "the sign-in form");
    const me = await page.evaluate(async () => (await fetch("/api/v1/me")).status);
    assert.equal(me, 401, "signed out");
    await page.getByLabel("ID").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in with password" }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${page.url()})${why()}`));
    await see(page.getByRole("link", { name: /Acme E2E/ }), "the project after signing in");
    await shot("projects");

    // Account settings: the console settings flow, the profile saved.
    await page.getByTestId("account-menu").click();
    await page.getByRole("menuitem", { name: "Account settings" }).click();
    await page.waitForURL(/\/settings/);
    const firstName = page.getByRole("form", { name: "Profile" }).getByLabel("First name");
    await see(firstName, "the profile form");
    await firstName.fill("Grace");
    await page.getByRole("form", { name: "Profile" }).getByRole("button", { name: "Save" }).click();
    await see(page.locator('[data-message-id="1050001"]'), "the saved settings");
    await shot("account-settings");
    await page.getByRole("link", { name: "Lanyard home" }).click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects/);

    // Billing: the plan, usage and plans (billing is on, against
    // stripe-mock), or the word that billing is off.
    await page.getByRole("link", { name: "Billing" }).click();
    await page.waitForURL(/\/billing$/);
    await see(page.getByTestId("billing-plan").or(page.getByTestId("billing-disabled")), "the billing page");
    await see(page.locator(".chart svg").or(page.getByText("No usage in this month.")), "the usage chart");
    const billingOn = await page.getByTestId("billing-plan").isVisible();
    if (billingOn) {
      await see(page.getByRole("heading", { name: "Plans" }), "the plans");
      await see(page.getByRole("cell", { name: "Acme E2E" }), "the project's active users");
    }
    await page.waitForLoadState("networkidle");
    await shot("billing");
    if (billingOn) {
      // Upgrading goes to the Checkout page Stripe names (stripe-mock's
      // URL; the browser is kept from leaving for it).
      await page.route((u) => !u.href.startsWith(app), (r) => r.fulfill({ contentType: "text/html", body: "<!doctype html><title>Checkout</title>" }));
      await page.getByRole("button", { name: "Switch to Pro" }).click();
      await page.waitForURL((u) => !u.href.startsWith(app), { timeout: 15_000 }).catch((e) => assert.fail(`checkout: ${e.message} (at ${page.url()})${why()}`));
      await page.unroute(() => true);
      await page.goto(`${app}/`);
      await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects/);
    }

    // A teammate as viewer: the owner names the workspace and invites by
    // email; the link in the mail leads a new account through sign-up and
    // verification to the invitation; a viewer sees no admin buttons and
    // the API refuses the viewer's writes.
    await page.getByRole("link", { name: "Workspace settings" }).click();
    await page.getByLabel("Workspace name").fill("Acme Team");
    await page.getByRole("button", { name: "Rename" }).click();
    await see(page.getByText("The workspace was renamed."), "the renamed workspace");
    await page.getByRole("link", { name: "Members" }).click();
    const viewerEmail = email.replace("@", "-viewer@");
    await page.getByLabel("Email address").fill(viewerEmail);
    await page.getByRole("combobox", { name: "Role" }).selectOption("viewer");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await see(page.getByText(`Invitation sent to ${viewerEmail}.`), "the invitation notice");
    await see(page.getByRole("cell", { name: viewerEmail, exact: true }), "the open invitation");
    await shot("members-invited");
    const link = await mailedLink(viewerEmail, /https?:\/\/\S+\/invitations\/accept\?token=\S+/);

    const context2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewer = await context2.newPage();
    const log2 = watch(viewer);
    const why2 = () => `\n${log2.join("\n")}`;
    const see2 = (locator, what) => locator.waitFor({ timeout: 15_000 }).catch((e) => assert.fail(`viewer: ${what}: ${e.message} (at ${viewer.url()})${why2()}`));
    try {
      await viewer.goto(link);
      await viewer.waitForURL(/\/login\?invitation=/, { timeout: 15_000 });
      await viewer.getByRole("link", { name: "Create an account" }).click();
      await see2(viewer.getByLabel("E-Mail"), "the sign-up form");
      await viewer.getByLabel("E-Mail").fill(viewerEmail);
      await viewer.getByLabel("Password").fill(password + " v");
      await viewer.getByRole("button", { name: "Sign up" }).click();
      await viewer.waitForURL(/\/verification\?flow=/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${viewer.url()})${why2()}`));
      await see2(viewer.getByLabel("Verification code"), "the code input");
      await viewer.getByLabel("Verification code").fill(await mailedCode(viewerEmail, 2));
      await viewer.getByRole("button", { name: "Submit" }).click();
      await see2(viewer.locator('[data-message-id="1080002"]'), "the verified message");
      await viewer.getByRole("link", { name: "Go to the invitation" }).click();
      await viewer.waitForURL(/\/invitations\/accept\?token=/, { timeout: 15_000 }).catch((e) => assert.fail(`${e.message} (at ${viewer.url()})${why2()}`));
      await see2(viewer.getByRole("button", { name: "Accept the invitation" }), "the invitation page");
      await viewer.screenshot({ path: join(shots, `${String(++n).padStart(2, "0")}-viewer-invitation.png`), fullPage: true });
      await viewer.getByRole("button", { name: "Accept the invitation" }).click();
      await viewer.waitForURL(/\/w\/[0-9a-f-]{36}\/projects/, { timeout: 15_000 });
      assert.equal(await viewer.getByTestId("workspace-switcher").locator("option:checked").textContent(), "Acme Team");
      await see2(viewer.getByRole("link", { name: /Acme E2E/ }), "the project list");
      assert.equal(await viewer.getByRole("button", { name: "New project" }).count(), 0, "a viewer sees New project");
      await viewer.goto(`${app}/projects/${projectId}/keys`);
      await see2(viewer.getByRole("cell", { name: "e2e backend", exact: true }), "the key list");
      assert.equal(await viewer.getByLabel("Key name").count(), 0, "a viewer sees the key form");
      assert.equal(await viewer.getByRole("button", { name: /Revoke/ }).count(), 0, "a viewer sees Revoke");
      await viewer.screenshot({ path: join(shots, `${String(++n).padStart(2, "0")}-viewer-keys.png`), fullPage: true });
      await viewer.goto(`${app}/projects/${projectId}/users/${identityId}`);
      await see2(viewer.getByTestId("traits"), "the user as viewer");
      assert.equal(await viewer.getByRole("button", { name: "Edit traits" }).count(), 0, "a viewer sees Edit traits");
      assert.equal(await viewer.getByRole("button", { name: "Delete user" }).count(), 0, "a viewer sees Delete user");
      // Authentication settings and identity schema as viewer: read-only, no save buttons.
      await viewer.goto(`${app}/projects/${projectId}/settings`);
      await see2(viewer.getByRole("form", { name: "Authentication settings" }).getByLabel("Minimum password length"), "the settings as viewer");
      assert.equal(await viewer.getByLabel("Minimum password length").inputValue(), "12", "the viewer sees the saved length");
      assert.ok(await viewer.getByLabel("Minimum password length").isDisabled(), "a viewer can edit the settings");
      assert.equal(await viewer.getByRole("button", { name: /^Save the/ }).count(), 0, "a viewer sees a Save button");
      await viewer.goto(`${app}/projects/${projectId}/schema`);
      await see2(viewer.getByLabel("Identity schema (JSON)"), "the schema as viewer");
      assert.equal(await viewer.getByRole("button", { name: "Save the schema" }).count(), 0, "a viewer sees Save the schema");
      const denied = await viewer.evaluate(
        async (id) => (await fetch(`/api/v1/projects/${id}/api-keys`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "x" }) })).status,
        projectId,
      );
      assert.equal(denied, 403, "the API lets a viewer create a key");
      const errors2 = log2.filter((l) => l.startsWith("pageerror") || (l.startsWith("console") && !l.includes("Failed to load resource")));
      assert.deepEqual(errors2, [], "viewer: no page or console errors");
      const failed2 = [...new Set(log2.filter((l) => /^\d{3} /.test(l)).map(normalize))];
      assert.deepEqual(
        failed2.filter((f) => !["401 GET /api/v1/me", "403 POST /api/v1/projects/:id/api-keys"].includes(f)),
        [],
        "viewer: unexpected failed requests",
      );
    } catch (err) {
      await viewer.screenshot({ path: join(shots, "fail-viewer.png"), fullPage: true }).catch(() => {});
      throw err;
    } finally {
      await context2.close();
    }

    // Delete a project: the button waits for the typed slug; a stale page
    // of it then says it is gone.
    await page.getByRole("link", { name: "Projects" }).first().click();
    await page.getByRole("button", { name: "New project" }).click();
    await page.getByLabel("Name").fill("Scratch");
    await page.getByRole("button", { name: "Create project" }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}$/, { timeout: 15_000 });
    const scratch = new URL(page.url()).pathname.split("/").pop();
    await page.getByRole("link", { name: "Project settings" }).click();
    const del = page.getByRole("button", { name: "Delete this project" });
    await see(del, "the delete form");
    assert.equal(await del.isDisabled(), true, "delete is enabled before the slug is typed");
    const slug = (await page.locator("form[aria-label='Delete the project'] label code").textContent()).trim();
    await page.getByLabel(/Type .* to confirm/).fill(slug.slice(0, -1));
    assert.equal(await del.isDisabled(), true, "delete is enabled with a wrong slug");
    await page.getByLabel(/Type .* to confirm/).fill(slug);
    await shot("project-delete");
    await del.click();
    await page.waitForURL(/\/w\/[0-9a-f-]{36}\/projects$/, { timeout: 15_000 });
    await see(page.getByRole("link", { name: /Acme E2E/ }), "the remaining project");
    assert.equal(await page.getByRole("link", { name: /Scratch/ }).count(), 0, "the deleted project is listed");
    await page.goto(`${app}/projects/${scratch}`);
    await see(page.getByText("The project could not be found."), "the stale project page");
    await shot("project-gone");

    // Phone width: the project and user pages, no sideways scrolling.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${app}/projects/${projectId}/users/${identityId}`);
    await see(page.getByTestId("traits"), "the user page on a phone");
    let overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "the user page scrolls sideways on a phone");
    await shot("phone-user");
    await page.getByRole("link", { name: "Overview" }).click();
    await see(page.getByRole("heading", { name: "Acme E2E" }), "the overview on a phone");
    overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, "the overview scrolls sideways on a phone");
    await shot("phone-overview");

    // Chromium logs every 4xx answer as "Failed to load resource"; the
    // expected ones are the 401s while signed out and the 400 of the short
    // password. Anything else the page logs is an error.
    const errors = log.filter((l) => l.startsWith("pageerror") || (l.startsWith("console") && !l.includes("Failed to load resource")));
    assert.deepEqual(errors, [], "no page or console errors");
    const failed = [...new Set(log.filter((l) => /^\d{3} /.test(l)).map(normalize))];
    const expected = ["401 GET /api/v1/me", "400 POST /self-service/registration", "401 GET /sessions/whoami", "404 GET /api/v1/projects/:id"];
    // The Hooks and Email pages: the refused hooks (bad URL; a plan without actions) and a project on the platform's SMTP server.
    expected.push("400 PUT /api/v1/projects/:id/hooks", "403 PUT /api/v1/projects/:id/hooks", "404 GET /api/v1/projects/:id/email/smtp");
    // The Authentication settings and Identity schema pages: a refused setting and a schema that is not JSON.
    expected.push(...authSettingsFailures);
    // The Email templates: a template naming a variable that does not exist.
    expected.push(...templateFailures);
    assert.deepEqual(
      failed.filter((f) => !expected.includes(f)),
      [],
      "unexpected failed requests",
    );

    writeFileSync(join(shots, "result.json"), JSON.stringify({ projectUrl, apiKey, identityId, firstName: "Augusta", timings }, null, 2));
    console.log(`first load: ${JSON.stringify(timings)}`);
  } catch (err) {
    await page.screenshot({ path: join(shots, "fail.png"), fullPage: true }).catch(() => {});
    console.error(`failed at ${page.url()}${why()}`);
    throw err;
  } finally {
    await context.close();
  }
});
