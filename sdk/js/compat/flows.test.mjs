// The official Kratos SDK (@ory/client-fetch), used unchanged, against a
// Lanyard project's self-service flows: native (API) registration, whoami,
// login, settings and logout with a session token, then the browser flow
// calls with a cookie jar. basePath is the project URL. Run by
// identity/compat_node_test.go, which starts the server and sets
// LANYARD_URL.
// Tokens are opaque to clients: Lanyard prefixes them lyst_/lylo_ (Kratos: ory_st_/ory_lo_).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Configuration, FrontendApi, ResponseError } from "@ory/client-fetch";

const basePath = process.env.LANYARD_URL;
const skip = !basePath && "LANYARD_URL is not set (run through go test ./identity)";

// status returns the HTTP status of a rejected SDK call.
async function status(p) {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResponseError, `a ResponseError, got ${err}`);
    return err.response.status;
  }
  assert.fail("the call succeeded");
}

// cookieJar is a fetch that keeps the cookies the server sets and sends
// them back, as a browser with credentials: "include" does (one origin).
function cookieJar() {
  const jar = new Map();
  const fetchApi = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a)) ||
        attrs.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split("=")[1]) < Date.now());
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  return { jar, fetchApi };
}

function csrfTokenOf(flow) {
  const node = flow.ui.nodes.find((n) => n.attributes.node_type === "input" && n.attributes.name === "csrf_token");
  assert.ok(node, "the flow has a csrf_token node");
  return node.attributes.value;
}

test("FrontendApi native (API) flows with a session token", { skip }, async () => {
  const api = new FrontendApi(new Configuration({ basePath }));
  const run = Date.now().toString(36);
  const email = `native-${run}@example.com`;
  let password = `correct horse ${run} battery`;

  // registration → session token
  const rflow = await api.createNativeRegistrationFlow();
  assert.equal(rflow.type, "api");
  assert.ok(rflow.expires_at instanceof Date);
  assert.match(rflow.ui.action, /\/self-service\/registration\?flow=/);
  const reg = await api.updateRegistrationFlow({
    flow: rflow.id,
    updateRegistrationFlowBody: { method: "password", password, traits: { email, name: { first: "Native", last: "Node" } } },
  });
  assert.match(reg.session_token, /^[a-z]+_[0-9A-Za-z]{32,}$/);
  assert.equal(reg.identity.traits.email, email);
  assert.equal(reg.session.identity.id, reg.identity.id);
  assert.ok(reg.continue_with.some((c) => c.action === "set_ory_session_token" && c.ory_session_token === reg.session_token));

  // the same identifier again: a 400 flow with 4000007, traits kept
  const dflow = await api.createNativeRegistrationFlow();
  let dup;
  try {
    await api.updateRegistrationFlow({
      flow: dflow.id,
      updateRegistrationFlowBody: { method: "password", password, traits: { email, name: { first: "Twice" } } },
    });
  } catch (err) {
    dup = err;
  }
  assert.ok(dup instanceof ResponseError);
  assert.equal(dup.response.status, 400);
  const dupFlow = await dup.response.json();
  assert.ok(dupFlow.ui.messages.some((m) => m.id === 4000007), "4000007 in ui.messages");
  assert.equal(dupFlow.ui.nodes.find((n) => n.attributes.name === "traits.email").attributes.value, email);

  // whoami without credentials: 401 in the Kratos envelope
  let anon;
  try {
    await api.toSession();
  } catch (err) {
    anon = err;
  }
  assert.ok(anon instanceof ResponseError);
  assert.equal(anon.response.status, 401);
  assert.equal((await anon.response.json()).error.code, 401);

  // whoami with X-Session-Token
  const who = await api.toSession({ xSessionToken: reg.session_token });
  assert.equal(who.id, reg.session.id);
  assert.equal(who.active, true);
  assert.equal(who.authenticator_assurance_level, "aal1");
  assert.ok(who.authenticated_at instanceof Date);
  assert.equal(who.authentication_methods[0].method, "password");
  assert.equal(who.identity.traits.email, email);

  // a wrong password is a 400 flow with 4000006
  const lflow0 = await api.createNativeLoginFlow();
  let bad;
  try {
    await api.updateLoginFlow({ flow: lflow0.id, updateLoginFlowBody: { method: "password", identifier: email, password: "wrong password!" } });
  } catch (err) {
    bad = err;
  }
  assert.ok(bad instanceof ResponseError);
  assert.equal(bad.response.status, 400);
  const badFlow = await bad.response.json();
  assert.equal(badFlow.id, lflow0.id);
  assert.ok(badFlow.ui.messages.some((m) => m.id === 4000006));

  // login → a second session token
  const lflow = await api.createNativeLoginFlow();
  assert.equal(lflow.type, "api");
  const login = await api.updateLoginFlow({ flow: lflow.id, updateLoginFlowBody: { method: "password", identifier: email, password } });
  assert.match(login.session_token, /^[a-z]+_[0-9A-Za-z]{32,}$/);
  assert.notEqual(login.session_token, reg.session_token);
  assert.notEqual(login.session.id, reg.session.id);
  const token = login.session_token;

  // settings: profile (change a trait)
  const sflow = await api.createNativeSettingsFlow({ xSessionToken: token });
  assert.equal(sflow.type, "api");
  assert.equal(sflow.state, "show_form");
  assert.equal(sflow.identity.traits.email, email);
  const fetched = await api.getSettingsFlow({ id: sflow.id, xSessionToken: token });
  assert.equal(fetched.id, sflow.id);
  const profiled = await api.updateSettingsFlow({
    flow: sflow.id,
    xSessionToken: token,
    updateSettingsFlowBody: { method: "profile", traits: { email, name: { first: "Renamed", last: "Node" } } },
  });
  assert.equal(profiled.state, "success");
  assert.equal(profiled.identity.traits.name.first, "Renamed");
  assert.ok(profiled.ui.messages.some((m) => m.id === 1050001 && m.type === "success"));

  // settings: password (the login just happened, so the session is privileged)
  const pflow = await api.createNativeSettingsFlow({ xSessionToken: token });
  const newPassword = `${password} rotated`;
  const changed = await api.updateSettingsFlow({
    flow: pflow.id,
    xSessionToken: token,
    updateSettingsFlowBody: { method: "password", password: newPassword },
  });
  assert.equal(changed.state, "success");
  password = newPassword;
  assert.equal((await api.toSession({ xSessionToken: token })).identity.traits.name.first, "Renamed");

  // a refresh login (re-authentication) for the token's session
  const rl = await api.createNativeLoginFlow({ refresh: true, xSessionToken: token });
  assert.equal(rl.refresh, true);
  assert.ok(rl.ui.messages.some((m) => m.id === 1010003));
  const refreshed = await api.updateLoginFlow({
    flow: rl.id,
    xSessionToken: token,
    updateLoginFlowBody: { method: "password", identifier: email, password },
  });
  assert.equal(refreshed.session.identity.id, login.session.identity.id);
  // Lanyard issues a new session (and token) at every login, a refresh
  // included, and ends the refreshed one; Kratos keeps the session and its
  // token. Apps that store the returned session_token work with both.
  assert.equal((await api.toSession({ xSessionToken: refreshed.session_token })).id, refreshed.session.id);

  // the new password signs in
  const lflow2 = await api.createNativeLoginFlow();
  const login2 = await api.updateLoginFlow({ flow: lflow2.id, updateLoginFlowBody: { method: "password", identifier: email, password } });

  // list my other sessions, revoke one
  const mine = await api.listMySessions({ xSessionToken: login2.session_token });
  assert.ok(mine.some((s) => s.id === reg.session.id), "the registration session is listed");
  assert.ok(!mine.some((s) => s.id === login2.session.id), "the current session is not listed");
  await api.disableMySession({ id: reg.session.id, xSessionToken: login2.session_token });
  assert.equal(await status(api.toSession({ xSessionToken: reg.session_token })), 401);

  // revoke all my other sessions
  const others = await api.disableMyOtherSessions({ xSessionToken: login2.session_token });
  assert.ok(others.count >= 1, `revoked ${others.count} sessions`);
  assert.equal(await status(api.toSession({ xSessionToken: refreshed.session_token })), 401);

  // native logout ends the session at once
  await api.performNativeLogout({ performNativeLogoutBody: { session_token: login2.session_token } });
  assert.equal(await status(api.toSession({ xSessionToken: login2.session_token })), 401);
  // a retried logout succeeds again; an unknown token is a 403
  await api.performNativeLogout({ performNativeLogoutBody: { session_token: login2.session_token } });
  assert.equal(await status(api.performNativeLogout({ performNativeLogoutBody: { session_token: "ory_st_unknown" } })), 403);

  // the error UI's endpoint
  const stub = await api.getFlowError({ id: "stub:500" });
  assert.equal(stub.error.code, 500);
});

test("FrontendApi browser flows with a cookie jar", { skip }, async () => {
  const { jar, fetchApi } = cookieJar();
  const api = new FrontendApi(new Configuration({ basePath, fetchApi, credentials: "include", headers: { Accept: "application/json" } }));
  const run = Date.now().toString(36);
  const email = `browser-${run}@example.com`;
  const password = `browser ${run} password`;

  // no session yet
  assert.equal(await status(api.toSession()), 401);

  // registration: the CSRF cookie comes with the flow, the token from its nodes
  const flow = await api.createBrowserRegistrationFlow();
  assert.equal(flow.type, "browser");
  assert.ok([...jar.keys()].some((k) => k.startsWith("csrf_token_")), "a CSRF cookie is set");
  const again = await api.getRegistrationFlow({ id: flow.id });
  assert.equal(again.id, flow.id);

  // a submit without the CSRF token is refused
  assert.equal(
    await status(api.updateRegistrationFlow({
      flow: flow.id,
      updateRegistrationFlowBody: { method: "password", password, traits: { email, name: { first: "Browser" } } },
    })),
    403,
  );

  const reg = await api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: { method: "password", password, csrf_token: csrfTokenOf(flow), traits: { email, name: { first: "Browser" } } },
  });
  assert.equal(reg.session_token, undefined, "no token for browsers");
  assert.equal(reg.identity.traits.email, email);
  assert.ok(reg.continue_with.some((c) => c.action === "redirect_browser_to"));

  // an API flow submitted with cookies (as a browser would) is refused: 400 flow with 4000001
  const native = await new FrontendApi(new Configuration({ basePath })).createNativeLoginFlow();
  let cookied;
  try {
    await api.updateLoginFlow({ flow: native.id, updateLoginFlowBody: { method: "password", identifier: email, password } });
  } catch (err) {
    cookied = err;
  }
  assert.ok(cookied instanceof ResponseError);
  assert.equal(cookied.response.status, 400);
  assert.ok((await cookied.response.json()).ui.messages.some((m) => m.id === 4000001));

  // whoami with the session cookie
  const who = await api.toSession();
  assert.equal(who.id, reg.session.id);
  assert.equal(who.identity.id, reg.identity.id);

  // signed in: a new login flow is refused with session_already_available
  let already;
  try {
    await api.createBrowserLoginFlow();
  } catch (err) {
    already = err;
  }
  assert.ok(already instanceof ResponseError);
  assert.equal(already.response.status, 400);
  assert.equal((await already.response.json()).error.id, "session_already_available");

  // settings in the browser
  const sflow = await api.createBrowserSettingsFlow();
  const saved = await api.updateSettingsFlow({
    flow: sflow.id,
    updateSettingsFlowBody: { method: "profile", csrf_token: csrfTokenOf(sflow), traits: { email, name: { first: "Changed" } } },
  });
  assert.equal(saved.state, "success");
  assert.ok(saved.continue_with.some((c) => c.action === "redirect_browser_to" && c.redirect_browser_to.includes(`flow=${sflow.id}`)));

  // logout: the logout URL, then the token
  const logout = await api.createBrowserLogoutFlow();
  assert.match(logout.logout_token, /^[a-z]+_[0-9A-Za-z]{32,}$/);
  assert.ok(logout.logout_url.startsWith(basePath + "/self-service/logout?token="));
  await api.updateLogoutFlow({ token: logout.logout_token });
  assert.equal(await status(api.toSession()), 401);
  assert.equal(await status(api.createBrowserLogoutFlow()), 401);

  // browser login brings a new session
  const lflow = await api.createBrowserLoginFlow();
  const login = await api.updateLoginFlow({
    flow: lflow.id,
    updateLoginFlowBody: { method: "password", identifier: email, password, csrf_token: csrfTokenOf(lflow) },
  });
  assert.notEqual(login.session.id, reg.session.id);
  assert.equal((await api.toSession()).identity.traits.name.first, "Changed");
  const out = await api.createBrowserLogoutFlow();
  await api.updateLogoutFlow({ token: out.logout_token });
  assert.equal(await status(api.toSession()), 401);
});
