// Projects: the workspace's list, creation, a project's overview with its
// URLs and quickstarts, its API keys and its deletion.
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { api, can, must, type APIKey, type Project } from "./api.js";
import { Link, navigate, useTitle } from "./router.js";
import { useShell } from "./shell.js";
import { Code, CopyButton, Empty, ErrorText, Loading, PageHeader, Secret, When, useAction, useLoad } from "./ui.js";
import { ProjectUsage } from "./usage.js";

/** The first API key's secret of a project made a moment ago, shown once on its overview. */
let created: { project: string; secret: string } | undefined;

export function ProjectsPage({ ws }: { ws: string }) {
  useTitle("Projects");
  const { role } = useShell();
  const [token, setToken] = useState<string | undefined>();
  const list = useLoad(
    () => must(api.GET("/api/v1/workspaces/{workspace}/projects", { params: { path: { workspace: ws }, query: { page_size: 25, ...(token ? { page_token: token } : {}) } } })),
    [ws, token],
  );
  const [showForm, setShowForm] = useState(false);
  const admin = can.admin(role);
  return (
    <>
      <PageHeader title="Projects">
        {admin && !showForm && (
          <button type="button" className="btn btn-primary" onClick={() => setShowForm(true)}>
            New project
          </button>
        )}
      </PageHeader>
      {showForm && <CreateProject ws={ws} onCancel={() => setShowForm(false)} />}
      <ErrorText error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="Loading projects" />}
      {list.data && list.data.items.length === 0 && !token && (
        <Empty>{admin ? "No projects yet. Create one to get an API URL and keys." : "This workspace has no projects yet."}</Empty>
      )}
      {list.data && list.data.items.length > 0 && (
        <ul className="cards" data-testid="project-list">
          {list.data.items.map((p) => (
            <li key={p.id} className="card">
              <Link to={`/projects/${p.id}`} className="card-link">
                <strong>{p.name}</strong>
                <span className={`tag tag-${p.environment}`}>{p.environment === "prod" ? "Production" : "Development"}</span>
              </Link>
              <code className="muted small" title={p.url}>
                {p.url}
              </code>
              <span className="muted small">
                Created <When at={p.created_at} />
              </span>
            </li>
          ))}
        </ul>
      )}
      <Pager next={list.data?.next_page_token} first={!token} onNext={setToken} onFirst={() => setToken(undefined)} />
    </>
  );
}

/** Pager moves through keyset pages: the next one, or back to the first. */
export function Pager({ next, first, onNext, onFirst }: { next: string | undefined; first: boolean; onNext: (t: string) => void; onFirst: () => void }) {
  if (!next && first) return null;
  return (
    <div className="pager">
      {!first && (
        <button type="button" className="btn" onClick={onFirst}>
          First page
        </button>
      )}
      {next && (
        <button type="button" className="btn" onClick={() => onNext(next)}>
          Next page
        </button>
      )}
    </div>
  );
}

function CreateProject({ ws, onCancel }: { ws: string; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [env, setEnv] = useState<"dev" | "prod">("dev");
  const act = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const res = await act.run(() =>
      must(api.POST("/api/v1/workspaces/{workspace}/projects", { params: { path: { workspace: ws } }, body: { name: name.trim(), environment: env } })),
    );
    if (res) {
      created = { project: res.project.id, secret: res.api_key };
      navigate(`/projects/${res.project.id}`);
    }
  };
  return (
    <form className="panel form" onSubmit={submit} aria-label="New project">
      <h2>New project</h2>
      <ErrorText error={act.error} />
      <label className="field">
        <span>Name</span>
        <input name="name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} autoFocus placeholder="My app" />
      </label>
      <fieldset className="field">
        <legend>Environment</legend>
        <label className="radio">
          <input type="radio" name="environment" value="dev" checked={env === "dev"} onChange={() => setEnv("dev")} /> Development
        </label>
        <label className="radio">
          <input type="radio" name="environment" value="prod" checked={env === "prod"} onChange={() => setEnv("prod")} /> Production
        </label>
      </fieldset>
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={act.busy}>
          {act.busy ? "Creating…" : "Create project"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** ProjectFrame loads a project for its pages and names it to the shell. */
export function ProjectFrame({ id, children }: { id: string; children: (p: Project) => ReactNode }) {
  const { setProject } = useShell();
  const p = useLoad(() => must(api.GET("/api/v1/projects/{project}", { params: { path: { project: id } } })), [id]);
  useEffect(() => {
    setProject(p.data);
  }, [p.data, setProject]);
  if (p.error) {
    return (
      <>
        <PageHeader title="Project" />
        <ErrorText error={p.error} onRetry={p.error.message.includes("could not be found") ? undefined : p.reload} />
        <p>
          <Link to="/">Back to your projects</Link>
        </p>
      </>
    );
  }
  if (!p.data) return <Loading what="Loading the project" />;
  return <>{children(p.data)}</>;
}

export function ProjectOverview({ project }: { project: Project }) {
  useTitle(project.name);
  const [secret, setSecret] = useState(() => (created?.project === project.id ? created.secret : undefined));
  useEffect(() => {
    if (created?.project === project.id) created = undefined;
  }, [project.id]);
  const url = project.url;
  return (
    <>
      <PageHeader title={project.name}>
        <span className={`tag tag-${project.environment}`}>{project.environment === "prod" ? "Production" : "Development"}</span>
      </PageHeader>
      {secret && <Secret secret={secret} what="project's first API key" onDone={() => setSecret(undefined)} />}
      <section className="panel">
        <h2>Endpoints</h2>
        <dl className="kv">
          <dt>Project URL</dt>
          <dd className="copyable">
            <code data-testid="project-url">{url}</code> <CopyButton text={url} name="Copy the project URL" />
          </dd>
          <dt>Public API base</dt>
          <dd>
            <code>{url}</code> <span className="muted small">self-service flows and /sessions/whoami: what browsers and apps call</span>
          </dd>
          <dt>Admin API base</dt>
          <dd className="copyable">
            <code>{url}/admin</code> <CopyButton text={`${url}/admin`} name="Copy the admin API base" />{" "}
            <span className="muted small">with an API key: Authorization: Bearer &lt;key&gt;</span>
          </dd>
          <dt>Slug</dt>
          <dd>
            <code>{project.slug}</code>
          </dd>
          <dt>Created</dt>
          <dd>
            <When at={project.created_at} />
          </dd>
        </dl>
      </section>
      <ProjectUsage project={project} />
      <section className="panel">
        <h2>Quickstarts</h2>
        <p className="muted">
          Lanyard projects speak the Ory Kratos API, so Ory's SDKs work with the project URL as their base path. Keep API keys on servers only. An{" "}
          <Link to={`/projects/${project.id}/keys`}>API key</Link> is needed for the admin API.
        </p>
        <Quickstarts url={url} />
      </section>
    </>
  );
}

function Quickstarts({ url }: { url: string }) {
  const tabs: { id: string; label: string; code: string }[] = [
    {
      id: "curl",
      label: "curl",
      code: `export LANYARD_URL=${url}
export LANYARD_API_KEY=...   # an API key of this project

# Create a user
curl -sS -X POST "$LANYARD_URL/admin/identities" \\
  -H "Authorization: Bearer $LANYARD_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"schema_id":"default","traits":{"email":"ada@example.com"}}'

# List users
curl -sS "$LANYARD_URL/admin/identities" -H "Authorization: Bearer $LANYARD_API_KEY"

# Who is signed in? (a session token from an API flow)
curl -sS "$LANYARD_URL/sessions/whoami" -H "X-Session-Token: $SESSION_TOKEN"`,
    },
    {
      id: "ory",
      label: "@ory/client-fetch",
      code: `// npm install @ory/client-fetch
import { Configuration, FrontendApi, IdentityApi } from "@ory/client-fetch";

// In the browser: the signed-in user's session (cookies on the project URL).
const frontend = new FrontendApi(new Configuration({ basePath: "${url}", credentials: "include" }));
const session = await frontend.toSession().catch(() => null);

// On your server: the admin API with an API key.
const identities = new IdentityApi(
  new Configuration({ basePath: "${url}", headers: { Authorization: \`Bearer \${process.env.LANYARD_API_KEY}\` } }),
);
const users = await identities.listIdentities({ pageSize: 50 });`,
    },
    {
      id: "react",
      label: "React",
      code: `// npm install @lanyard/client @lanyard/react
import { createLanyardClient } from "@lanyard/client";
import { LanyardProvider, LoginForm, RegistrationForm } from "@lanyard/react";
import "@lanyard/react/styles.css";

const client = createLanyardClient({ baseUrl: "${url}" });

export function SignIn() {
  return (
    <LanyardProvider client={client}>
      <LoginForm returnTo="https://app.example.com/" />
    </LanyardProvider>
  );
}

export function SignUp() {
  return (
    <LanyardProvider client={client}>
      <RegistrationForm returnTo="https://app.example.com/welcome" />
    </LanyardProvider>
  );
}`,
    },
    {
      id: "go",
      label: "Go",
      code: `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

// whoami checks the session of an incoming request against Lanyard.
func whoami(r *http.Request) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(r.Context(), "GET", "${url}/sessions/whoami", nil)
	req.Header.Set("Cookie", r.Header.Get("Cookie"))                 // browser sessions
	req.Header.Set("X-Session-Token", r.Header.Get("X-Session-Token")) // app sessions
	return http.DefaultClient.Do(req)
}

func main() {
	// The admin API with an API key: list users.
	req, _ := http.NewRequest("GET", "${url}/admin/identities", nil)
	req.Header.Set("Authorization", "Bearer "+os.Getenv("LANYARD_API_KEY"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.Status, string(body))
}`,
    },
  ];
  const [tab, setTab] = useState("curl");
  const current = tabs.find((t) => t.id === tab) ?? tabs[0]!;
  return (
    <div className="tabs">
      <div role="tablist" aria-label="Quickstart language">
        {tabs.map((t) => (
          <button
            key={t.id}
            role="tab"
            type="button"
            id={`tab-${t.id}`}
            aria-selected={t.id === tab}
            aria-controls={`panel-${t.id}`}
            tabIndex={t.id === tab ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={(e) => {
              const i = tabs.findIndex((x) => x.id === tab);
              const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (!d) return;
              const next = tabs[(i + d + tabs.length) % tabs.length]!;
              setTab(next.id);
              document.getElementById(`tab-${next.id}`)?.focus();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current.id}`} aria-labelledby={`tab-${current.id}`}>
        <Code code={current.code} label={current.label} />
      </div>
    </div>
  );
}

export function APIKeysPage({ project }: { project: Project }) {
  useTitle(`API keys · ${project.name}`);
  const { role } = useShell();
  const admin = can.admin(role);
  const [token, setToken] = useState<string | undefined>();
  const keys = useLoad(
    () => must(api.GET("/api/v1/projects/{project}/api-keys", { params: { path: { project: project.id }, query: { page_size: 50, ...(token ? { page_token: token } : {}) } } })),
    [project.id, token],
  );
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<string | undefined>();
  const [confirm, setConfirm] = useState<string | undefined>();
  const act = useAction();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    const res = await act.run(() => must(api.POST("/api/v1/projects/{project}/api-keys", { params: { path: { project: project.id } }, body: { name: name.trim() } })));
    if (res) {
      setSecret(res.secret);
      setName("");
      void keys.reload();
    }
  };
  const revoke = async (k: APIKey) => {
    const ok = await act.run(() => must(api.DELETE("/api/v1/projects/{project}/api-keys/{key}", { params: { path: { project: project.id, key: k.id } } })));
    setConfirm(undefined);
    if (ok !== undefined) void keys.reload();
  };
  return (
    <>
      <PageHeader title="API keys" />
      <p className="muted">
        API keys call the project's admin API (<code>{project.url}/admin</code>) as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      {secret && <Secret secret={secret} what="API key" onDone={() => setSecret(undefined)} />}
      <ErrorText error={act.error} />
      {admin && (
        <form className="panel form inline-form" onSubmit={create} aria-label="Create an API key">
          <label className="field">
            <span>Key name</span>
            <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="backend" />
          </label>
          <button type="submit" className="btn btn-primary" disabled={act.busy}>
            Create key
          </button>
        </form>
      )}
      <ErrorText error={keys.error} onRetry={keys.reload} />
      {keys.loading && !keys.data && <Loading what="Loading API keys" />}
      {keys.data && keys.data.items.length === 0 && <Empty>No API keys.</Empty>}
      {keys.data && keys.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.items.map((k) => (
                <tr key={k.id} className={k.revoked_at ? "revoked" : undefined}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.hint}…</code>
                  </td>
                  <td>
                    <When at={k.created_at} />
                  </td>
                  <td>
                    <When at={k.last_used_at} never="Never" />
                  </td>
                  <td className="actions-cell">
                    {k.revoked_at ? (
                      <span className="muted">
                        Revoked <When at={k.revoked_at} />
                      </span>
                    ) : (
                      admin &&
                      (confirm === k.id ? (
                        <>
                          <button type="button" className="btn btn-small btn-danger" onClick={() => revoke(k)} disabled={act.busy}>
                            Revoke {k.name}
                          </button>
                          <button type="button" className="btn btn-small" onClick={() => setConfirm(undefined)}>
                            Cancel
                          </button>
                        </>
                      ) : (
                        <button type="button" className="btn btn-small" onClick={() => setConfirm(k.id)} aria-label={`Revoke ${k.name}`}>
                          Revoke
                        </button>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager next={keys.data?.next_page_token} first={!token} onNext={setToken} onFirst={() => setToken(undefined)} />
    </>
  );
}

export function ProjectSettings({ project, children }: { project: Project; children?: ReactNode }) {
  useTitle(`Settings · ${project.name}`);
  const { role } = useShell();
  const [typed, setTyped] = useState("");
  const act = useAction();
  const del = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await act.run(async () => {
      await must(api.DELETE("/api/v1/projects/{project}", { params: { path: { project: project.id } }, body: { confirm: typed } }));
      return true;
    });
    if (ok) navigate(`/w/${project.workspace_id}/projects`);
  };
  return (
    <>
      <PageHeader title="Project settings" />
      <section className="panel">
        <h2>Details</h2>
        <dl className="kv">
          <dt>Name</dt>
          <dd>{project.name}</dd>
          <dt>Environment</dt>
          <dd>{project.environment === "prod" ? "Production" : "Development"}</dd>
          <dt>ID</dt>
          <dd>
            <code>{project.id}</code>
          </dd>
        </dl>
      </section>
      {children}
      {can.admin(role) && (
        <form className="panel danger form" onSubmit={del} aria-label="Delete the project">
          <h2>Delete the project</h2>
          <p>
            Deleting <strong>{project.name}</strong> removes its users, sessions and keys. It stops answering at once and cannot be undone.
          </p>
          <ErrorText error={act.error} />
          <label className="field">
            <span>
              Type <code>{project.slug}</code> to confirm
            </span>
            <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
          </label>
          <button type="submit" className="btn btn-danger" disabled={typed !== project.slug || act.busy}>
            Delete this project
          </button>
        </form>
      )}
    </>
  );
}
