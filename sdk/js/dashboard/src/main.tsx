// The Lanyard dashboard. Accounts sign up and in through the console
// project's self-service flows on this origin; the pages call the platform
// API (/api/v1) with the resulting session cookie.
import { StrictMode, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { LanyardProvider } from "@lanyard/react";
import "@lanyard/react/styles.css";
import "./styles.css";
import { ApiError, getMe, lanyard, onUnauthorized, type Me } from "./api.js";
import { AccountSettings, FlowErrorPage, pendingInvitation, LoginPage, RecoveryPage, RegistrationPage, VerificationPage } from "./auth.js";
import { BillingPage } from "./billing.js";
import { EmailPage } from "./email.js";
import { HooksPage } from "./hooks.js";
import { APIKeysPage, ProjectFrame, ProjectOverview, ProjectSettings, ProjectsPage } from "./projects.js";
import { match, navigate, Redirect, useLocation, useTitle } from "./router.js";
import { SchemaPage } from "./schema.js";
import { AuthSettings } from "./settings.js";
import { homeOf, Shell, useShell } from "./shell.js";
import { ErrorText, Loading } from "./ui.js";
import { NewUserPage, UserPage, UsersPage } from "./users.js";
import { AcceptInvitation, AuditPage, MembersPage, TokensPage, WorkspaceSettings } from "./workspace.js";

const authPages: Record<string, () => React.ReactNode> = {
  "/login": LoginPage,
  "/registration": RegistrationPage,
  "/verification": VerificationPage,
  "/recovery": RecoveryPage,
  "/error": FlowErrorPage,
};

/** The flows' navigation: this app's pages in place, anything else by loading it. */
function flowNavigate(url: string) {
  const u = new URL(url, location.href);
  if (u.origin === location.origin && (authPages[u.pathname] || u.pathname === "/settings")) navigate(u.pathname + u.search);
  else location.assign(u.toString());
}

function App() {
  const { path, query } = useLocation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>();
  const load = useCallback(() => {
    setError(undefined);
    getMe().then(setMe, (e: Error) => (e instanceof ApiError && e.status === 401 ? setMe(null) : setError(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    const f = () => setMe(null);
    onUnauthorized.add(f);
    return () => void onUnauthorized.delete(f);
  }, []);

  const Auth = authPages[path];
  let content: React.ReactNode;
  if (Auth && !(me && (path === "/login" || path === "/registration") && query.get("refresh") !== "true")) {
    content = <Auth />;
  } else if (error) {
    content = (
      <div className="narrow">
        <ErrorText error={error} onRetry={load} />
      </div>
    );
  } else if (me === undefined) {
    content = (
      <div className="boot">
        <Loading />
      </div>
    );
  } else if (me === null) {
    const token = path === "/invitations/accept" ? query.get("token") : null;
    content = <Redirect to={token ? `/login?invitation=${encodeURIComponent(token)}` : "/login"} />;
  } else {
    content = (
      <Shell me={me}>
        <Routes path={path} />
      </Shell>
    );
  }
  return (
    <LanyardProvider client={lanyard} navigate={flowNavigate}>
      {content}
    </LanyardProvider>
  );
}

function Routes({ path }: { path: string }) {
  const { me, workspaces } = useShell();
  let m: Record<string, string> | null;
  if (path === "/" || Object.hasOwn(authPages, path)) {
    // An invitation link opened before signing up: back to it once signed in.
    const inv = pendingInvitation.get();
    return <Redirect to={inv ? `/invitations/accept?token=${encodeURIComponent(inv)}` : homeOf(me, workspaces)} />;
  }
  if (path === "/settings") return <AccountSettings />;
  if (path === "/invitations/accept") return <AcceptInvitation />;
  if ((m = match("/w/:ws/:page", path))) {
    const ws = m.ws!;
    if (!workspaces.some((w) => w.id === ws)) return <NotFound what="This workspace could not be found, or you are not a member of it." />;
    switch (m.page) {
      case "projects":
        return <ProjectsPage ws={ws} />;
      case "members":
        return <MembersPage ws={ws} />;
      case "tokens":
        return <TokensPage ws={ws} />;
      case "audit":
        return <AuditPage ws={ws} />;
      case "billing":
        return <BillingPage ws={ws} />;
      case "settings":
        return <WorkspaceSettings ws={ws} />;
    }
  }
  if ((m = match("/w/:ws", path))) return <Redirect to={`/w/${m.ws}/projects`} />;
  if ((m = match("/projects/:id", path))) return <ProjectFrame id={m.id!}>{(p) => <ProjectOverview project={p} />}</ProjectFrame>;
  if ((m = match("/projects/:id/:page", path))) {
    const page = m.page;
    return (
      <ProjectFrame id={m.id!}>
        {(p) =>
          page === "keys" ? (
            <APIKeysPage project={p} />
          ) : page === "users" ? (
            <UsersPage project={p} />
          ) : page === "settings" ? (
            <ProjectSettings project={p}>
              <AuthSettings project={p} />
            </ProjectSettings>
          ) : page === "schema" ? (
            <SchemaPage project={p} />
          ) : page === "hooks" ? (
            <HooksPage project={p} />
          ) : page === "email" ? (
            <EmailPage project={p} />
          ) : (
            <NotFound />
          )
        }
      </ProjectFrame>
    );
  }
  if ((m = match("/projects/:id/users/new", path))) return <ProjectFrame id={m.id!}>{(p) => <NewUserPage project={p} />}</ProjectFrame>;
  if ((m = match("/projects/:id/users/:uid", path))) {
    const uid = m.uid!;
    return <ProjectFrame id={m.id!}>{(p) => <UserPage project={p} id={uid} />}</ProjectFrame>;
  }
  return <NotFound />;
}

function NotFound({ what = "There is no page at this address." }: { what?: string }) {
  useTitle("Not found");
  return (
    <div className="panel">
      <h1>Not found</h1>
      <p>{what}</p>
      <p>
        <a href="/">Back to the dashboard</a>
      </p>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
