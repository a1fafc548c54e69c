// The forms against recorded answers of a real server: what a submit
// posts, how 400, 410, 422 and continue_with are handled.
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLanyardClient } from "@lanyard/client";
import { Flow, LanyardProvider, LoginForm, RecoveryForm, RegistrationForm, SettingsForm, VerificationForm } from "../src/index.js";
import { fixture, flowOf, nodeValue, replay } from "./helpers.js";

const base = "http://project.test/p/fixtures";

afterEach(cleanup);
beforeEach(() => window.history.replaceState(null, "", "/"));

function setup(routes: Parameters<typeof replay>[1]) {
  const r = replay(base, routes);
  const client = createLanyardClient({ baseUrl: base, fetch: r.fetch });
  const navigate = vi.fn();
  return { ...r, client, navigate };
}

describe("<Flow onSubmit>: the body of a submit", () => {
  it("login: method, identifier, password and the CSRF token", async () => {
    const user = userEvent.setup();
    const flow = flowOf("login-browser");
    const onSubmit = vi.fn();
    render(<Flow flow={flow} onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText(/^ID/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Password/), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign in with password" }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit.mock.calls[0]![0]).toEqual({
      csrf_token: nodeValue(flow, "csrf_token"),
      identifier: "ada@example.com",
      password: "correct horse",
      method: "password",
    });
  });

  it("keyboard: Enter in the password field submits with the form's method", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<Flow flow={flowOf("login-browser")} onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText(/^ID/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Password/), "correct horse{Enter}");
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit.mock.calls[0]![0]).toMatchObject({ method: "password", identifier: "ada@example.com", password: "correct horse" });
  });

  it("keyboard: Tab moves through the fields to the button, Space presses it", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<Flow flow={flowOf("login-browser")} onSubmit={onSubmit} />);
    await user.tab();
    expect(document.activeElement).toBe(screen.getByLabelText(/^ID/));
    await user.keyboard("ada@example.com");
    await user.tab();
    expect(document.activeElement).toBe(screen.getByLabelText(/^Password/));
    await user.keyboard("pw");
    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Sign in with password" }));
    await user.keyboard(" ");
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it("registration: traits nested, empty fields left out", async () => {
    const user = userEvent.setup();
    const flow = flowOf("registration-browser");
    const onSubmit = vi.fn();
    render(<Flow flow={flow} onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText(/^E-Mail/), "ada@example.com");
    await user.type(screen.getByLabelText(/^First name/), "Ada");
    await user.type(screen.getByLabelText(/^Password/), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    expect(onSubmit.mock.calls[0]![0]).toEqual({
      csrf_token: nodeValue(flow, "csrf_token"),
      traits: { email: "ada@example.com", name: { first: "Ada" } },
      password: "correct horse",
      method: "password",
    });
  });

  it("types: numbers as numbers, checkboxes as booleans, dates and phones as strings", async () => {
    const user = userEvent.setup();
    const flow = flowOf("registration-browser-types");
    const onSubmit = vi.fn();
    render(<Flow flow={flow} onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText(/^E-Mail/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Phone/), "+15550100");
    await user.type(screen.getByLabelText(/^Age/), "41");
    await user.type(screen.getByLabelText(/^Birthday/), "1985-04-12");
    await user.type(screen.getByLabelText(/^Password/), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    expect(onSubmit.mock.calls[0]![0]).toEqual({
      csrf_token: nodeValue(flow, "csrf_token"),
      traits: { email: "ada@example.com", phone: "+15550100", age: 41, birthday: "1985-04-12", newsletter: false },
      password: "correct horse",
      method: "password",
    });
    await user.click(screen.getByRole("checkbox", { name: "Send me the newsletter" }));
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    expect(onSubmit.mock.calls[1]![0].traits.newsletter).toBe(true);
  });

  it("settings: the password form sends only the password", async () => {
    const user = userEvent.setup();
    const flow = flowOf("settings-browser");
    const onSubmit = vi.fn();
    render(<Flow flow={flow} onSubmit={onSubmit} />);
    const pw = screen.getAllByLabelText(/^Password/).find((e) => e.tagName === "INPUT")!;
    await user.type(pw, "a new long password");
    await user.click(screen.getAllByRole("button", { name: "Save" })[1]!);
    expect(onSubmit.mock.calls[0]![0]).toEqual({ csrf_token: nodeValue(flow, "csrf_token"), password: "a new long password", method: "password" });
  });

  it("verification: Submit sends the code, Resend code sends the address (without the required code)", async () => {
    const user = userEvent.setup();
    const flow = flowOf("verification-browser-sent");
    const onSubmit = vi.fn();
    render(<Flow flow={flow} onSubmit={onSubmit} />);
    await user.click(screen.getByRole("button", { name: "Resend code" }));
    expect(onSubmit.mock.calls[0]![0]).toEqual({ csrf_token: nodeValue(flow, "csrf_token"), method: "code", email: nodeValue(flow, "email") });
    await user.type(screen.getByLabelText(/^Verification code/), "123456");
    await user.click(screen.getByRole("button", { name: "Submit" }));
    expect(onSubmit.mock.calls[1]![0]).toEqual({ csrf_token: nodeValue(flow, "csrf_token"), method: "code", code: "123456" });
  });

  it("a required field left empty: the browser's check stops the submit", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn();
    render(<Flow flow={flowOf("login-browser")} onSubmit={onSubmit} />);
    await user.click(screen.getByRole("button", { name: "Sign in with password" }));
    expect(onSubmit).not.toHaveBeenCalled();
  });
});

describe("useFlow and the forms, against recorded answers", () => {
  it("LoginForm: a new browser flow, the submit, 400 with the message and the identifier kept, then success", async () => {
    const user = userEvent.setup();
    const created = fixture("login-browser");
    const invalid = fixture("login-browser-invalid");
    const ok = fixture("login-browser-success");
    const s = setup([
      { method: "GET", path: "/self-service/login/browser", answer: created },
      { method: "POST", path: "/self-service/login", answer: invalid },
      { method: "POST", path: "/self-service/login", answer: ok },
    ]);
    const onSuccess = vi.fn();
    render(
      <LanyardProvider client={s.client} navigate={s.navigate}>
        <LoginForm returnTo="http://app.test/welcome" onSuccess={onSuccess} />
      </LanyardProvider>,
    );
    const id = await screen.findByLabelText(/^ID/);
    expect(screen.getByRole("heading", { name: "Sign in" })).toBeTruthy();
    expect(s.sent[0]!.query.get("return_to")).toBe("http://app.test/welcome");
    expect(s.sent[0]!.headers.get("Accept")).toBe("application/json");
    expect(new URL(window.location.href).searchParams.get("flow")).toBe(created.body.id);

    const email = nodeValue(invalid.body, "identifier") as string;
    await user.type(id, email);
    await user.type(screen.getByLabelText(/^Password/), "not the password");
    await user.click(screen.getByRole("button", { name: "Sign in with password" }));
    await screen.findByText(/The provided credentials are invalid/);
    expect(s.sent[1]!.query.get("flow")).toBe(created.body.id);
    expect(s.sent[1]!.body).toEqual({ csrf_token: nodeValue(created.body, "csrf_token"), identifier: email, password: "not the password", method: "password" });
    expect((screen.getByLabelText(/^ID/) as HTMLInputElement).value).toBe(email);
    expect((screen.getByLabelText(/^Password/) as HTMLInputElement).value).toBe("");

    await user.type(screen.getByLabelText(/^Password/), "correct horse battery staple");
    await user.click(screen.getByRole("button", { name: "Sign in with password" }));
    await waitFor(() => expect(s.navigate).toHaveBeenCalledWith(ok.body.continue_with[0].redirect_browser_to));
    // The fresh CSRF token of the 400 answer was sent.
    expect(s.sent[2]!.body.csrf_token).toBe(nodeValue(invalid.body, "csrf_token"));
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onSuccess.mock.calls[0]![0].data.session.identity.traits.email).toBe(email);
    expect(s.left).toHaveLength(0);
  });

  it("410: an expired flow is replaced by its successor, with the expiry message, and the input kept", async () => {
    const user = userEvent.setup();
    const expiring = fixture("login-browser-expiring");
    const expired = fixture("login-browser-expired");
    const replacement = fixture("login-browser-replacement");
    window.history.replaceState(null, "", `/ui/login?flow=${expiring.body.id}`);
    const s = setup([
      { method: "GET", path: "/self-service/login/flows", id: expiring.body.id, answer: expiring },
      { method: "POST", path: "/self-service/login", id: expiring.body.id, answer: expired },
      { method: "GET", path: "/self-service/login/flows", id: expired.body.use_flow_id, answer: replacement },
    ]);
    const { container } = render(
      <LanyardProvider client={s.client} navigate={s.navigate}>
        <LoginForm />
      </LanyardProvider>,
    );
    await user.type(await screen.findByLabelText(/^ID/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Password/), "pw");
    await user.click(screen.getByRole("button", { name: "Sign in with password" }));
    const msg = await waitFor(() => {
      const m = container.querySelector('[data-message-id="4010001"]');
      expect(m).not.toBeNull();
      return m!;
    });
    expect(msg.textContent).toMatch(/The login flow expired .* minutes ago, please try again\./);
    expect(container.querySelector("[data-flow-id]")!.getAttribute("data-flow-id")).toBe(replacement.body.id);
    expect(new URL(window.location.href).searchParams.get("flow")).toBe(replacement.body.id);
    expect((screen.getByLabelText(/^ID/) as HTMLInputElement).value).toBe("ada@example.com");
    expect(s.navigate).not.toHaveBeenCalled();
    expect(s.left).toHaveLength(0);
  });

  it("a flow id that no longer loads (410 on GET) gives way to the successor", async () => {
    const expiring = fixture("login-browser-expiring");
    const replacement = fixture("login-browser-replacement");
    const gone = fixture("login-browser-expired");
    const s = setup([
      { method: "GET", path: "/self-service/login/flows", id: expiring.body.id, answer: gone },
      { method: "GET", path: "/self-service/login/flows", id: gone.body.use_flow_id, answer: replacement },
    ]);
    const { container } = render(<LoginForm client={s.client} navigate={s.navigate} flowId={expiring.body.id} />);
    await screen.findByLabelText(/^ID/);
    expect(container.querySelector("[data-flow-id]")!.getAttribute("data-flow-id")).toBe(replacement.body.id);
  });

  it("422 browser_location_change_required: the browser goes where the server says", async () => {
    const user = userEvent.setup();
    const sent = fixture("recovery-browser-sent");
    const redirect = fixture("recovery-browser-redirect");
    const s = setup([
      { method: "GET", path: "/self-service/recovery/flows", id: sent.body.id, answer: sent },
      { method: "POST", path: "/self-service/recovery", id: sent.body.id, answer: redirect },
    ]);
    render(<RecoveryForm client={s.client} navigate={s.navigate} flowId={sent.body.id} />);
    await user.type(await screen.findByLabelText(/^Recovery code/), "123456");
    await user.click(screen.getByRole("button", { name: "Submit" }));
    await waitFor(() => expect(s.navigate).toHaveBeenCalledWith(redirect.body.redirect_browser_to));
    expect(s.sent[1]!.body).toEqual({ csrf_token: nodeValue(sent.body, "csrf_token"), method: "code", code: "123456" });
  });

  it("registration: continue_with show_verification_ui leads to the verification page", async () => {
    const user = userEvent.setup();
    const created = fixture("registration-browser");
    const ok = fixture("registration-browser-success");
    const s = setup([
      { method: "GET", path: "/self-service/registration/browser", answer: created },
      { method: "POST", path: "/self-service/registration", answer: ok },
    ]);
    render(<RegistrationForm client={s.client} navigate={s.navigate} />);
    await user.type(await screen.findByLabelText(/^E-Mail/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Password/), "correct horse battery staple");
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    const verify = ok.body.continue_with.find((c: { action: string }) => c.action === "show_verification_ui");
    await waitFor(() => expect(s.navigate).toHaveBeenCalledWith(verify.flow.url));
    expect(s.navigate).toHaveBeenCalledTimes(1);
  });

  it("API registration: set_ory_session_token hands the token over; onContinue can take the next step", async () => {
    const user = userEvent.setup();
    const created = fixture("registration-api");
    const ok = fixture("registration-api-success");
    const s = setup([
      { method: "GET", path: "/self-service/registration/api", answer: created },
      { method: "POST", path: "/self-service/registration", answer: ok },
    ]);
    const onSessionToken = vi.fn();
    const onContinue = vi.fn((_next: unknown) => true);
    render(<RegistrationForm client={s.client} navigate={s.navigate} type="api" onSessionToken={onSessionToken} onContinue={onContinue} />);
    await user.type(await screen.findByLabelText(/^E-Mail/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Password/), "correct horse battery staple");
    await user.click(screen.getByRole("button", { name: "Sign up" }));
    await waitFor(() => expect(onSessionToken).toHaveBeenCalledWith(ok.body.session_token));
    expect(onContinue.mock.calls[0]![0]).toEqual({ action: "show_verification_ui", flowId: ok.body.continue_with[1].flow.id });
    expect(s.navigate).not.toHaveBeenCalled();
    // An API flow never touches the page's URL.
    expect(window.location.search).toBe("");
  });

  it("settings: saved shows the success text in place (no reload of the same flow)", async () => {
    const user = userEvent.setup();
    const created = fixture("settings-browser");
    const saved = fixture("settings-browser-success");
    const s = setup([
      { method: "GET", path: "/self-service/settings/browser", answer: created },
      { method: "POST", path: "/self-service/settings", answer: saved },
    ]);
    render(<SettingsForm client={s.client} navigate={s.navigate} />);
    await user.type(await screen.findByLabelText(/^First name/), "Ada");
    await user.click(screen.getAllByRole("button", { name: "Save" })[0]!);
    await screen.findByText("Your changes have been saved!");
    expect(s.sent[1]!.body).toEqual({
      csrf_token: nodeValue(created.body, "csrf_token"),
      traits: { email: nodeValue(created.body, "traits.email"), name: { first: "Ada" } },
      method: "profile",
    });
    expect(s.navigate).not.toHaveBeenCalled();
  });

  it("settings without a session: the error in words", async () => {
    const s = setup([
      {
        method: "GET",
        path: "/self-service/settings/browser",
        answer: { request: { method: "GET", path: "" }, status: 401, body: { error: { code: 401, status: "Unauthorized", id: "session_inactive", message: "No active session was found in this request." } } },
      },
    ]);
    render(<SettingsForm client={s.client} navigate={s.navigate} />);
    expect((await screen.findByRole("alert")).textContent).toContain("Please sign in first.");
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });

  it("verification: a wrong code keeps the flow and says so, the right one shows success", async () => {
    const user = userEvent.setup();
    const sent = fixture("verification-browser-sent");
    const invalid = fixture("verification-browser-invalid");
    const passed = fixture("verification-browser-passed");
    const s = setup([
      { method: "GET", path: "/self-service/verification/flows", id: sent.body.id, answer: sent },
      { method: "POST", path: "/self-service/verification", answer: invalid },
      { method: "POST", path: "/self-service/verification", answer: passed },
    ]);
    render(<VerificationForm client={s.client} navigate={s.navigate} flowId={sent.body.id} />);
    const code = await screen.findByLabelText(/^Verification code/);
    await user.type(code, "000000");
    await user.click(screen.getByRole("button", { name: "Submit" }));
    await screen.findByText(/The verification code is invalid/);
    expect((screen.getByLabelText(/^Verification code/) as HTMLInputElement).value).toBe("000000");
    await user.clear(screen.getByLabelText(/^Verification code/));
    await user.type(screen.getByLabelText(/^Verification code/), "123456");
    await user.click(screen.getByRole("button", { name: "Submit" }));
    await screen.findByText("You successfully verified your email address.");
    expect(screen.getByRole("link", { name: "Continue" })).toBeTruthy();
    expect(s.sent[2]!.body.code).toBe("123456");
  });

  it("a CSRF violation on submit: a new flow, and the reason in words", async () => {
    const user = userEvent.setup();
    const created = fixture("login-browser");
    const fresh = fixture("login-browser-replacement");
    const s = setup([
      { method: "GET", path: "/self-service/login/browser", answer: created },
      {
        method: "POST",
        path: "/self-service/login",
        answer: { request: { method: "POST", path: "" }, status: 403, body: { error: { code: 403, status: "Forbidden", id: "security_csrf_violation", reason: "The CSRF token is missing or invalid.", message: "the request was rejected to protect you from Cross-Site-Request-Forgery" } } },
      },
      { method: "GET", path: "/self-service/login/browser", answer: fresh },
    ]);
    const { container } = render(<LoginForm client={s.client} navigate={s.navigate} />);
    await user.type(await screen.findByLabelText(/^ID/), "ada@example.com");
    await user.type(screen.getByLabelText(/^Password/), "pw");
    await user.click(screen.getByRole("button", { name: "Sign in with password" }));
    await waitFor(() => expect(container.querySelector('[data-error-id="security_csrf_violation"]')).not.toBeNull());
    expect(container.querySelector("[data-flow-id]")!.getAttribute("data-flow-id")).toBe(fresh.body.id);
  });
});
