// A small app on @lanyard/react: a project's sign-up, verification, sign-in,
// settings and recovery pages, and a welcome page with the session.
//
// Pages (one bundle, chosen by pathname): /ui/registration, /ui/login,
// /ui/verification, /ui/settings, /ui/recovery, /ui/welcome, /ui/error.
// The project URL comes from ?sdk=<url> (kept in sessionStorage), else
// VITE_LANYARD_SDK_URL at build time, else this page's origin.
import { StrictMode, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { createLanyardClient, type Session } from "@lanyard/client";
import { LanyardProvider, LoginForm, RecoveryForm, RegistrationForm, SettingsForm, VerificationForm } from "@lanyard/react";
import "@lanyard/react/styles.css";

const params = new URLSearchParams(location.search);
if (params.get("sdk")) sessionStorage.setItem("lanyard_sdk", params.get("sdk")!);
const sdkURL = (sessionStorage.getItem("lanyard_sdk") || import.meta.env.VITE_LANYARD_SDK_URL || location.origin).replace(/\/$/, "");
const ui = (page: string) => `${location.origin}/ui/${page}`;

function Links({ children }: { children: React.ReactNode }) {
  return <nav style={{ display: "flex", gap: "1rem", justifyContent: "center", alignItems: "center", marginTop: "1rem" }}>{children}</nav>;
}

function Welcome() {
  const client = useMemo(() => createLanyardClient({ baseUrl: sdkURL }), []);
  const [state, setState] = useState<{ session?: Session | null; error?: string }>({});
  useEffect(() => {
    client.whoami().then(
      (session) => setState({ session }),
      (e: unknown) => setState({ error: String(e) }),
    );
  }, [client]);
  if (state.error) return <p role="alert">{state.error}</p>;
  if (state.session === undefined) return <p role="status">Loading…</p>;
  if (state.session === null) {
    return (
      <main className="lanyard-card" data-testid="app-signed-out">
        <p>You are not signed in.</p>
        <a href={ui("login")}>Sign in</a>
      </main>
    );
  }
  const s = state.session;
  const traits = (s.identity?.traits ?? {}) as { email?: string; name?: { first?: string } };
  const verified = s.identity?.verifiable_addresses?.some((a) => a.verified);
  return (
    <main className="lanyard-card" data-testid="app-welcome">
      <h1 className="lanyard-title">Welcome{traits.name?.first ? `, ${traits.name.first}` : ""}</h1>
      <p>
        Signed in as <strong data-testid="app-email">{traits.email}</strong>
      </p>
      <p>
        Email address <span data-testid="app-verified">{verified ? "verified" : "not verified"}</span>
      </p>
      <Links>
        <a href={ui("settings")} data-testid="app-settings">
          Settings
        </a>
        <button
          type="button"
          className="lanyard-button"
          style={{ width: "auto" }}
          data-testid="app-logout"
          onClick={async () => {
            await client.logout();
            location.assign(ui("login"));
          }}
        >
          Sign out
        </button>
      </Links>
    </main>
  );
}

function App() {
  const client = useMemo(() => createLanyardClient({ baseUrl: sdkURL }), []);
  const path = location.pathname.replace(/\/$/, "");
  const page = path.slice(path.lastIndexOf("/") + 1);
  const welcome = ui("welcome");
  let content: React.ReactNode;
  switch (page) {
    case "registration":
      content = (
        <RegistrationForm returnTo={welcome}>
          <Links>
            <a href={ui("login")}>Sign in instead</a>
          </Links>
        </RegistrationForm>
      );
      break;
    case "login":
      content = (
        <LoginForm returnTo={welcome}>
          <Links>
            <a href={ui("registration")}>Create an account</a>
            <a href={ui("recovery")}>Forgot your password?</a>
          </Links>
        </LoginForm>
      );
      break;
    case "verification":
      content = (
        <VerificationForm returnTo={welcome}>
          <Links>
            <a href={welcome} data-testid="app-skip-verification">
              Verify later
            </a>
          </Links>
        </VerificationForm>
      );
      break;
    case "settings":
      content = (
        <SettingsForm>
          <Links>
            <a href={welcome}>Back</a>
          </Links>
        </SettingsForm>
      );
      break;
    case "recovery":
      content = <RecoveryForm returnTo={welcome} />;
      break;
    case "error":
      content = (
        <main className="lanyard-card" role="alert">
          Something went wrong (error {params.get("id")}).
        </main>
      );
      break;
    default:
      content = <Welcome />;
  }
  return <LanyardProvider client={client}>{content}</LanyardProvider>;
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
