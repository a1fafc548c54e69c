// The signed-in frame: the top bar with the workspace switcher and the
// account menu, the navigation of the current workspace or project, and
// the context the pages read (account, workspaces, current role).
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, lanyard, must, type Me, type Role, type Workspace, type Project } from "./api.js";
import { Logo } from "./auth.js";
import { Link, navigate, useLocation } from "./router.js";
import { ErrorText, Loading, useLoad } from "./ui.js";

export interface ShellValue {
  me: Me;
  workspaces: Workspace[];
  /** The workspace the page is in (from the path, or the project shown). */
  workspace: Workspace | undefined;
  role: Role | undefined;
  /** Project pages name their project, so that the frame shows its workspace and navigation. */
  setProject: (p: Project | undefined) => void;
  reloadWorkspaces: () => Promise<unknown>;
}

const ShellContext = createContext<ShellValue | undefined>(undefined);

export function useShell(): ShellValue {
  const v = useContext(ShellContext);
  if (!v) throw new Error("useShell outside the shell");
  return v;
}

const lastWs = "lanyard.dashboard.workspace";

async function listWorkspaces(): Promise<Workspace[]> {
  const out: Workspace[] = [];
  let token: string | undefined;
  do {
    const page = await must(api.GET("/api/v1/workspaces", { params: { query: { page_size: 250, ...(token ? { page_token: token } : {}) } } }));
    out.push(...page.items);
    token = page.next_page_token || undefined;
  } while (token && out.length < 1000);
  return out;
}

/** homeOf is where "/" goes: the last workspace used, else the personal one. */
export function homeOf(me: Me, workspaces: Workspace[]): string {
  const last = localStorage.getItem(lastWs);
  const ws = workspaces.find((w) => w.id === last) ?? workspaces.find((w) => w.id === me.account.personal_workspace_id) ?? workspaces[0];
  return ws ? `/w/${ws.id}/projects` : "/settings";
}

export function Shell({ me, children }: { me: Me; children: ReactNode }) {
  const { path } = useLocation();
  const wsList = useLoad(listWorkspaces, [me.account.id]);
  const [project, setProject] = useState<Project | undefined>();
  const [menu, setMenu] = useState(false);
  const wsFromPath = /^\/w\/([^/]+)/.exec(path)?.[1];
  const inProject = /^\/projects\/([^/]+)/.exec(path)?.[1];
  // Pages outside a workspace (account settings, an invitation) keep the last one in the frame.
  const wsId =
    wsFromPath ?? (inProject && project?.id === inProject ? project.workspace_id : (localStorage.getItem(lastWs) ?? me.account.personal_workspace_id ?? undefined));
  const workspaces = wsList.data ?? [];
  const workspace = workspaces.find((w) => w.id === wsId);

  useEffect(() => {
    if (workspace) localStorage.setItem(lastWs, workspace.id);
  }, [workspace]);
  useEffect(() => setMenu(false), [path]);
  // The account menu closes with Escape or a click elsewhere.
  useEffect(() => {
    if (!menu) return;
    const key = (e: KeyboardEvent) => e.key === "Escape" && setMenu(false);
    const click = (e: MouseEvent) => !(e.target as Element).closest?.(".account") && setMenu(false);
    document.addEventListener("keydown", key);
    document.addEventListener("click", click);
    return () => {
      document.removeEventListener("keydown", key);
      document.removeEventListener("click", click);
    };
  }, [menu]);

  const value = useMemo<ShellValue>(
    () => ({ me, workspaces, workspace, role: workspace?.role as Role | undefined, setProject, reloadWorkspaces: wsList.reload }),
    [me, workspaces, workspace, wsList.reload],
  );

  const signOut = async () => {
    try {
      await lanyard.logout();
    } finally {
      location.assign("/login");
    }
  };

  return (
    <ShellContext.Provider value={value}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="Lanyard home">
          <Logo />
        </Link>
        {workspaces.length > 0 && (
          <label className="ws-switch">
            <span className="sr-only">Workspace</span>
            <select
              value={workspace?.id ?? ""}
              onChange={(e) => e.target.value && navigate(`/w/${e.target.value}/projects`)}
              data-testid="workspace-switcher"
            >
              {!workspace && <option value="">Choose a workspace</option>}
              {workspaces.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                  {w.personal && !/personal/i.test(w.name) ? " (personal)" : ""}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="account">
          <button type="button" className="btn btn-ghost" aria-expanded={menu} aria-haspopup="true" onClick={() => setMenu(!menu)} data-testid="account-menu">
            <span className="avatar" aria-hidden="true">
              {me.account.email.slice(0, 1).toUpperCase()}
            </span>
            <span className="account-email">{me.account.email}</span>
          </button>
          {menu && (
            <div className="menu" role="menu">
              <Link role="menuitem" to="/settings">
                Account settings
              </Link>
              <button role="menuitem" type="button" onClick={signOut} data-testid="sign-out">
                Sign out
              </button>
            </div>
          )}
        </div>
      </header>
      {!me.account.verified && (
        <div className="banner" role="status">
          Your email address is not verified yet. <Link to="/verification">Verify it</Link> to accept invitations.
        </div>
      )}
      <div className="frame">
        <Nav workspace={workspace} project={inProject && project?.id === inProject ? project : undefined} />
        <main id="main" tabIndex={-1}>
          {wsList.error ? <ErrorText error={wsList.error} onRetry={wsList.reload} /> : wsList.loading && !wsList.data ? <Loading /> : children}
        </main>
      </div>
    </ShellContext.Provider>
  );
}

function NavLink({ to, children, exact }: { to: string; children: ReactNode; exact?: boolean }) {
  const { path } = useLocation();
  const active = exact ? path === to : path === to || path.startsWith(to + "/");
  return (
    <Link to={to} aria-current={active ? "page" : undefined} className={active ? "active" : undefined}>
      {children}
    </Link>
  );
}

function Nav({ workspace, project }: { workspace: Workspace | undefined; project: Project | undefined }) {
  if (!workspace) return null;
  const w = `/w/${workspace.id}`;
  return (
    <nav className="sidenav" aria-label="Workspace">
      <p className="nav-title">{workspace.name}</p>
      <NavLink to={`${w}/projects`}>Projects</NavLink>
      {project && (
        <div className="subnav" aria-label={`Project ${project.name}`}>
          <p className="nav-title nav-project">{project.name}</p>
          <NavLink to={`/projects/${project.id}`} exact>
            Overview
          </NavLink>
          <NavLink to={`/projects/${project.id}/keys`}>API keys</NavLink>
          <NavLink to={`/projects/${project.id}/users`}>Users</NavLink>
          <NavLink to={`/projects/${project.id}/hooks`}>Hooks</NavLink>
          <NavLink to={`/projects/${project.id}/email`}>Email</NavLink>
          <NavLink to={`/projects/${project.id}/schema`}>Identity schema</NavLink>
          <NavLink to={`/projects/${project.id}/settings`}>Project settings</NavLink>
        </div>
      )}
      <NavLink to={`${w}/members`}>Members</NavLink>
      <NavLink to={`${w}/tokens`}>Access tokens</NavLink>
      <NavLink to={`${w}/audit`}>Audit log</NavLink>
      <NavLink to={`${w}/billing`}>Billing</NavLink>
      <NavLink to={`${w}/settings`}>Workspace settings</NavLink>
    </nav>
  );
}
