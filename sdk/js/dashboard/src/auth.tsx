// The account pages: sign-up, sign-in, verification, recovery and account
// settings, each one the console project's self-service flow rendered by
// @lanyard/react from its UI nodes.
import { useState, type ReactNode } from "react";
import { LoginForm, RecoveryForm, RegistrationForm, SettingsForm, VerificationForm } from "@lanyard/react";
import { Link, navigate, useLocation, useTitle } from "./router.js";
import { call } from "./api.js";
import { Loading, ErrorText, useLoad } from "./ui.js";

const home = () => `${location.origin}/`;

function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <div className="auth">
      <div className="auth-brand">
        <Logo />
      </div>
      {children}
    </div>
  );
}

export function Logo() {
  return (
    <span className="logo">
      <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
        <path d="M7 2h10v4l-3 3v4h-4V9L7 6z" fill="currentColor" opacity=".55" />
        <circle cx="12" cy="17" r="5" fill="currentColor" />
      </svg>
      Lanyard
    </span>
  );
}

/** The links under a form. */
function Links({ children }: { children: ReactNode }) {
  return <nav className="auth-links">{children}</nav>;
}

/** Where an invitation link waits while its reader signs up, verifies and signs in. */
export const pendingInvitation = {
  key: "lanyard.dashboard.invitation",
  get: () => sessionStorage.getItem(pendingInvitation.key),
  set: (t: string) => sessionStorage.setItem(pendingInvitation.key, t),
  clear: () => sessionStorage.removeItem(pendingInvitation.key),
};

/** The invitation a sign-up or sign-in continues with (?invitation=); it is kept for the way back to "/". */
function afterAuth(query: URLSearchParams): string {
  const inv = query.get("invitation");
  if (inv) pendingInvitation.set(inv);
  return inv ? `${location.origin}/invitations/accept?token=${encodeURIComponent(inv)}` : home();
}

function keep(query: URLSearchParams) {
  const inv = query.get("invitation");
  return inv ? `?invitation=${encodeURIComponent(inv)}` : "";
}

export function LoginPage() {
  useTitle("Sign in");
  const { query } = useLocation();
  return (
    <AuthLayout>
      <LoginForm title="Sign in to Lanyard" returnTo={afterAuth(query)} refresh={query.get("refresh") === "true"}>
        <Links>
          <Link to={`/registration${keep(query)}`}>Create an account</Link>
          <Link to="/recovery">Forgot your password?</Link>
        </Links>
      </LoginForm>
    </AuthLayout>
  );
}

export function RegistrationPage() {
  useTitle("Create an account");
  const { query } = useLocation();
  return (
    <AuthLayout>
      <RegistrationForm
        title="Create your Lanyard account"
        returnTo={afterAuth(query)}
        onContinue={(next) => {
          // The mailed code is entered on this app's verification page.
          if (next.action === "show_verification_ui") {
            navigate(`/verification?flow=${encodeURIComponent(next.flowId)}`);
            return true;
          }
          return false;
        }}
      >
        <Links>
          <span>Have an account?</span>
          <Link to={`/login${keep(query)}`}>Sign in</Link>
        </Links>
      </RegistrationForm>
    </AuthLayout>
  );
}

export function VerificationPage() {
  useTitle("Verify your email address");
  const [done, setDone] = useState(false);
  const inv = pendingInvitation.get();
  return (
    <AuthLayout>
      <VerificationForm returnTo={home()} onSuccess={(s) => setDone((s.data as { state?: string }).state === "passed_challenge")}>
        <Links>
          {/* Plain links: the app reads the new session on a fresh load. */}
          {done ? (
            <a href={inv ? `/invitations/accept?token=${encodeURIComponent(inv)}` : "/"}>{inv ? "Go to the invitation" : "Go to the dashboard"}</a>
          ) : (
            <a href="/">Verify later</a>
          )}
        </Links>
      </VerificationForm>
    </AuthLayout>
  );
}

export function RecoveryPage() {
  useTitle("Recover your account");
  return (
    <AuthLayout>
      <RecoveryForm returnTo={home()}>
        <Links>
          <Link to="/login">Back to sign in</Link>
        </Links>
      </RecoveryForm>
    </AuthLayout>
  );
}

/** AccountSettings is the console settings flow inside the app's frame. */
export function AccountSettings() {
  useTitle("Account settings");
  return (
    <div className="narrow">
      <SettingsForm title="Account settings" className="panel" />
    </div>
  );
}

/** FlowErrorPage shows a self-service error by id (the console project's error UI). */
export function FlowErrorPage() {
  useTitle("Error");
  const { query } = useLocation();
  const id = query.get("id") ?? "";
  const err = useLoad(
    () => (id ? call<{ error?: { message?: string; reason?: string } }>("GET", `/self-service/errors?id=${encodeURIComponent(id)}`) : Promise.resolve(undefined)),
    [id],
  );
  return (
    <AuthLayout>
      <section className="lanyard-card" role="alert">
        <h2 className="lanyard-title">Something went wrong</h2>
        {err.loading ? <Loading /> : <p>{err.data?.error?.reason || err.data?.error?.message || "The request could not be completed."}</p>}
        <ErrorText error={err.error} />
        <Links>
          <Link to="/login">Sign in</Link>
          <a href="/">Dashboard</a>
        </Links>
      </section>
    </AuthLayout>
  );
}
