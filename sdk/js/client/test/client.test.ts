// The flow helpers against answers recorded from a real Lanyard server
// (sdk/js/react/test/fixtures, made by flows/react_e2e_test.go).
import { describe, expect, it } from "vitest";
import { LanyardError, createLanyardClient, csrfToken, nextStep, type AnyFlow } from "../src/index.js";

interface Fixture {
  status: number;
  body: any;
}
const files = import.meta.glob<Fixture>("../../react/test/fixtures/*.json", { eager: true, import: "default" });
function fixture(name: string): Fixture {
  const f = Object.entries(files).find(([p]) => p.endsWith(`/${name}.json`));
  if (!f) throw new Error(`no fixture ${name}`);
  return structuredClone(f[1]);
}

const base = "http://project.test/p/slug";

// replay answers requests in order and records them; a request out of
// order fails.
function replay(answers: { method: string; path: string; answer: Fixture }[]) {
  const sent: { method: string; url: URL; body: any; headers: Headers }[] = [];
  const fetch = async (req: Request) => {
    const url = new URL(req.url);
    const text = req.method === "GET" ? "" : await req.text();
    sent.push({ method: req.method, url, body: text ? JSON.parse(text) : undefined, headers: req.headers });
    const next = answers.shift();
    const path = url.pathname.replace("/p/slug", "");
    if (!next || next.method !== req.method || next.path !== path) throw new Error(`unexpected ${req.method} ${path}`);
    return new Response(next.answer.status === 204 ? null : JSON.stringify(next.answer.body), {
      status: next.answer.status,
      headers: { "Content-Type": "application/json" },
    });
  };
  return { fetch, sent };
}

describe("createLanyardClient", () => {
  it("creates a browser flow with return_to, asking for JSON with cookies", async () => {
    const r = replay([{ method: "GET", path: "/self-service/registration/browser", answer: fixture("registration-browser") }]);
    const c = createLanyardClient({ baseUrl: base + "/", fetch: r.fetch });
    const flow = await c.createFlow("registration", { returnTo: "http://app.test/" });
    expect(flow.type).toBe("browser");
    expect(r.sent[0]!.url.searchParams.get("return_to")).toBe("http://app.test/");
    expect(r.sent[0]!.headers.get("Accept")).toBe("application/json");
  });

  it("creates API flows and sends the session token", async () => {
    const r = replay([{ method: "GET", path: "/self-service/settings/api", answer: fixture("settings-api") }]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch, sessionToken: () => "lyst_token" });
    const flow = await c.createFlow("settings", { type: "api" });
    expect(flow.type).toBe("api");
    expect(flow.identity.traits).toBeTruthy();
    expect(r.sent[0]!.headers.get("X-Session-Token")).toBe("lyst_token");
  });

  it("submit: a 400 flow is 'invalid', the CSRF token is added from the flow", async () => {
    const flow = fixture("login-browser").body as AnyFlow;
    const r = replay([{ method: "POST", path: "/self-service/login", answer: fixture("login-browser-invalid") }]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    const res = await c.submitFlow("login", flow as any, { method: "password", identifier: "a@b.test", password: "x" });
    expect(res.type).toBe("invalid");
    if (res.type !== "invalid") return;
    expect(res.flow.ui.messages?.[0]?.id).toBe(4000006);
    expect(r.sent[0]!.url.searchParams.get("flow")).toBe(flow.id);
    expect(r.sent[0]!.headers.get("Content-Type")).toBe("application/json");
    expect(r.sent[0]!.body).toEqual({ method: "password", identifier: "a@b.test", password: "x", csrf_token: csrfToken(flow) });
  });

  it("submit: 410 fetches the replacement flow named by use_flow_id", async () => {
    const flow = fixture("login-browser-expiring").body;
    const expired = fixture("login-browser-expired");
    const r = replay([
      { method: "POST", path: "/self-service/login", answer: expired },
      { method: "GET", path: "/self-service/login/flows", answer: fixture("login-browser-replacement") },
    ]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    const res = await c.submitFlow("login", flow, { method: "password", identifier: "a", password: "b" });
    expect(res.type).toBe("expired");
    if (res.type !== "expired") return;
    expect(r.sent[1]!.url.searchParams.get("id")).toBe(expired.body.use_flow_id);
    expect(res.flow.id).toBe(expired.body.use_flow_id);
    expect(res.flow.ui.messages?.map((m) => m.id)).toContain(4010001);
    expect(res.error.error.id).toBe("self_service_flow_expired");
  });

  it("submit: 422 is a redirect to redirect_browser_to", async () => {
    const redirect = fixture("recovery-browser-redirect");
    const r = replay([{ method: "POST", path: "/self-service/recovery", answer: redirect }]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    const res = await c.submitFlow("recovery", fixture("recovery-browser-sent").body, { method: "code", code: "123456" });
    expect(res).toMatchObject({ type: "redirect", status: 422, to: redirect.body.redirect_browser_to });
  });

  it("submit: success carries continue_with; nextStep ranks verification over the redirect", async () => {
    const ok = fixture("registration-browser-success");
    const r = replay([{ method: "POST", path: "/self-service/registration", answer: ok }]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    const res = await c.submitFlow("registration", fixture("registration-browser").body, { method: "password" });
    expect(res.type).toBe("success");
    if (res.type !== "success") return;
    expect(res.data.identity.id).toBeTruthy();
    const step = nextStep(res.continueWith);
    expect(step.action).toBe("show_verification_ui");
    expect(nextStep(fixture("registration-api-success").body.continue_with)).toMatchObject({ action: "show_verification_ui" });
    expect(nextStep(fixture("login-browser-success").body.continue_with)).toMatchObject({ action: "redirect_browser_to" });
    expect(nextStep([{ action: "set_ory_session_token", ory_session_token: "t" }])).toEqual({ action: "set_ory_session_token", token: "t" });
    expect(nextStep(null)).toEqual({ action: "none" });
  });

  it("getFlow: an error answer throws a LanyardError with the status and id", async () => {
    const r = replay([{ method: "GET", path: "/self-service/login/flows", answer: fixture("login-browser-expired") }]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    const err = await c.getFlow("login", "x").catch((e) => e);
    expect(err).toBeInstanceOf(LanyardError);
    expect(err.status).toBe(410);
    expect(err.id).toBe("self_service_flow_expired");
  });

  it("whoami: the session, or null when signed out", async () => {
    const session = fixture("login-browser-success").body.session;
    const r = replay([
      { method: "GET", path: "/sessions/whoami", answer: { status: 200, body: session } },
      { method: "GET", path: "/sessions/whoami", answer: { status: 401, body: { error: { code: 401, status: "Unauthorized", message: "No valid session credentials found in the request." } } } },
    ]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    expect((await c.whoami())?.id).toBe(session.id);
    expect(await c.whoami()).toBeNull();
  });

  it("logout: the browser logout flow, then its URL; signed out already is fine", async () => {
    const url = `${base}/self-service/logout?token=lylo_abc`;
    const r = replay([
      { method: "GET", path: "/self-service/logout/browser", answer: { status: 200, body: { logout_token: "lylo_abc", logout_url: url } } },
      { method: "GET", path: "/self-service/logout", answer: { status: 204, body: null } },
      { method: "GET", path: "/self-service/logout/browser", answer: { status: 401, body: { error: { code: 401, status: "Unauthorized", message: "No active session." } } } },
    ]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch });
    await c.logout();
    expect(r.sent[1]!.url.searchParams.get("token")).toBe("lylo_abc");
    expect(r.sent[1]!.headers.get("Accept")).toBe("application/json");
    await c.logout();
    expect(r.sent).toHaveLength(3);
  });

  it("logout with a session token: DELETE /self-service/logout/api", async () => {
    const r = replay([{ method: "DELETE", path: "/self-service/logout/api", answer: { status: 204, body: null } }]);
    const c = createLanyardClient({ baseUrl: base, fetch: r.fetch, sessionToken: "lyst_t" });
    await c.logout();
    expect(r.sent[0]!.body).toEqual({ session_token: "lyst_t" });
  });
});
