// A tiny app that renders a Lanyard project's self-service flows with the
// official Ory Elements (React) default theme, as a Kratos customer would.
//
// Pages (one bundle, chosen by pathname):
//   /ui/registration[?flow=id]  the registration flow
//   /ui/login[?flow=id]         the login flow
//   /ui/verification?flow=id    the verification flow (registration's
//                               continue_with show_verification_ui leads here)
//   /ui/welcome                 toSession(): who is signed in, and sign out
//   /ui/error?id=...            the flow error
//
// The project URL (SDK basePath) comes from ?sdk=<url> (kept in
// sessionStorage for later pages), else VITE_LANYARD_SDK_URL at build time,
// else this page's origin.
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Configuration, FrontendApi } from "@ory/client-fetch";
import { Login, Registration, Verification } from "@ory/elements-react/theme";
import "@ory/elements-react/theme/styles.css";

const params = new URLSearchParams(location.search);
if (params.get("sdk")) sessionStorage.setItem("lanyard_sdk", params.get("sdk"));
const sdkURL = (sessionStorage.getItem("lanyard_sdk") || import.meta.env.VITE_LANYARD_SDK_URL || location.origin).replace(/\/$/, "");

const api = new FrontendApi(new Configuration({ basePath: sdkURL, credentials: "include", headers: { Accept: "application/json" } }));
const ui = (kind) => `${location.origin}/ui/${kind}`;

const config = {
  sdk: { url: sdkURL },
  project: {
    name: "Lanyard e2e",
    registration_enabled: true,
    verification_enabled: false,
    recovery_enabled: false,
    registration_ui_url: ui("registration"),
    verification_ui_url: ui("verification"),
    recovery_ui_url: ui("recovery"),
    login_ui_url: ui("login"),
    settings_ui_url: ui("settings"),
    error_ui_url: ui("error"),
    default_redirect_url: ui("welcome"),
  },
};

function useFlow(kind) {
  const [flow, setFlow] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const id = params.get("flow");
    const get = {
      registration: (o) => api.getRegistrationFlow(o),
      login: (o) => api.getLoginFlow(o),
      verification: (o) => api.getVerificationFlow(o),
    }[kind];
    const create = {
      registration: (o) => api.createBrowserRegistrationFlow(o),
      login: (o) => api.createBrowserLoginFlow(o),
      verification: (o) => api.createBrowserVerificationFlow(o),
    }[kind];
    (id ? get({ id }) : create({ returnTo: ui("welcome") })).then(setFlow, async (err) => {
      const body = err.response ? await err.response.text().catch(() => "") : "";
      setError(`${err}: ${body}`);
    });
  }, [kind]);
  return [flow, error];
}

function FlowPage({ kind }) {
  const [flow, error] = useFlow(kind);
  if (error) return <pre data-testid="app-error">{error}</pre>;
  if (!flow) return <p data-testid="app-loading">Loading…</p>;
  const Page = { login: Login, registration: Registration, verification: Verification }[kind];
  return (
    <main data-testid={`app-${kind}`}>
      <Page flow={flow} config={config} />
      {kind === "verification" && (
        <p style={{ textAlign: "center" }}>
          <a data-testid="app-skip-verification" href={ui("welcome")}>
            Verify later
          </a>
        </p>
      )}
    </main>
  );
}

function Welcome() {
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    api.toSession().then(
      (session) => setState({ session }),
      (err) => setState({ error: String(err) }),
    );
  }, []);
  const signOut = async () => {
    const { logout_url } = await api.createBrowserLogoutFlow({ returnTo: ui("login") });
    location.href = logout_url;
  };
  if (state.loading) return <p data-testid="app-loading">Loading…</p>;
  if (state.error) {
    return (
      <main data-testid="app-signed-out">
        <p>Not signed in ({state.error}).</p>
        <a href={ui("login")}>Sign in</a>
      </main>
    );
  }
  const { session } = state;
  return (
    <main data-testid="app-welcome" style={{ fontFamily: "sans-serif", padding: 24 }}>
      <h1>Welcome</h1>
      <p>
        Signed in as <strong data-testid="app-email">{session.identity.traits.email}</strong>
      </p>
      <p>
        Session <code data-testid="app-session-id">{session.id}</code>, identity{" "}
        <code data-testid="app-identity-id">{session.identity.id}</code>, aal {session.authenticator_assurance_level}
      </p>
      <button data-testid="app-logout" onClick={signOut}>
        Sign out
      </button>
    </main>
  );
}

function ErrorPage() {
  const [err, setErr] = useState(null);
  useEffect(() => {
    api.getFlowError({ id: params.get("id") || "" }).then(setErr, (e) => setErr({ error: String(e) }));
  }, []);
  return <pre data-testid="app-flow-error">{JSON.stringify(err, null, 2)}</pre>;
}

function App() {
  const path = location.pathname.replace(/\/$/, "");
  if (path.endsWith("/ui/registration")) return <FlowPage kind="registration" />;
  if (path.endsWith("/ui/login")) return <FlowPage kind="login" />;
  if (path.endsWith("/ui/verification")) return <FlowPage kind="verification" />;
  if (path.endsWith("/ui/error")) return <ErrorPage />;
  return <Welcome />;
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
