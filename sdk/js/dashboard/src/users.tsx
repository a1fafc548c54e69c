// Users: a project's identities through the platform API (the project's
// own admin API behind it): search, paging, detail, create, edit traits
// and state, delete, revoke sessions, and recovery links (shown or mailed).
import { useState, type FormEvent } from "react";
import { api, can, must, pageTokenOf, type Identity, type Project, type Session } from "./api.js";
import { Link, navigate, useLocation, useTitle } from "./router.js";
import { useShell } from "./shell.js";
import { Pager } from "./projects.js";
import { CopyButton, Empty, ErrorText, Loading, Notice, PageHeader, When, useAction, useLoad } from "./ui.js";

/** identifierOf is the word a person would recognise an identity by. */
export function identifierOf(i: Identity): string {
  const t = (i.traits ?? {}) as Record<string, unknown>;
  for (const k of ["email", "username", "phone"]) if (typeof t[k] === "string" && t[k]) return t[k] as string;
  for (const v of Object.values(t)) if (typeof v === "string" && v) return v;
  return i.id;
}

async function listUsers(project: string, search: string, token: string | undefined) {
  const query: Record<string, string | number> = { page_size: 25 };
  if (token) query.page_token = token;
  if (search) query.credentials_identifier = search;
  const { data, error, response } = await api.GET("/api/v1/projects/{project}/identities", { params: { path: { project }, query } });
  await must(Promise.resolve({ data, error, response }));
  return { items: data ?? [], next: pageTokenOf(response.headers.get("Link")) };
}

export function UsersPage({ project }: { project: Project }) {
  useTitle(`Users · ${project.name}`);
  const { role } = useShell();
  const { query } = useLocation();
  const search = query.get("q") ?? "";
  const [input, setInput] = useState(search);
  const [token, setToken] = useState<string | undefined>();
  const list = useLoad(() => listUsers(project.id, search, token), [project.id, search, token]);
  const base = `/projects/${project.id}/users`;
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    setToken(undefined);
    navigate(input.trim() ? `${base}?q=${encodeURIComponent(input.trim())}` : base);
  };
  return (
    <>
      <PageHeader title="Users">
        {can.admin(role) && (
          <Link className="btn btn-primary" to={`${base}/new`}>
            New user
          </Link>
        )}
      </PageHeader>
      <form className="search" role="search" onSubmit={onSearch}>
        <label className="field">
          <span>Search by identifier</span>
          <input type="search" value={input} onChange={(e) => setInput(e.target.value)} placeholder="ada@example.com" />
        </label>
        <button type="submit" className="btn">
          Search
        </button>
        {search && (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => {
              setInput("");
              setToken(undefined);
              navigate(base);
            }}
          >
            Clear
          </button>
        )}
      </form>
      <ErrorText error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="Loading users" />}
      {list.data && list.data.items.length === 0 && <Empty>{search ? `No user has the identifier “${search}”.` : "No users yet."}</Empty>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table data-testid="user-list">
            <thead>
              <tr>
                <th scope="col">Identifier</th>
                <th scope="col">State</th>
                <th scope="col">Verified</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((i) => (
                <tr key={i.id}>
                  <td>
                    <Link to={`${base}/${i.id}`}>{identifierOf(i)}</Link>
                  </td>
                  <td>
                    <span className={`tag tag-${i.state ?? "active"}`}>{i.state ?? "active"}</span>
                  </td>
                  <td>{i.verifiable_addresses?.some((a) => a.verified) ? "Yes" : "No"}</td>
                  <td>
                    <When at={i.created_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager next={list.data?.next} first={!token} onNext={setToken} onFirst={() => setToken(undefined)} />
    </>
  );
}

function parseJSON(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`${what} must be a JSON object.`);
  return v as Record<string, unknown>;
}

export function NewUserPage({ project }: { project: Project }) {
  useTitle(`New user · ${project.name}`);
  const [email, setEmail] = useState("");
  const [extra, setExtra] = useState("{}");
  const act = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const made = await act.run(async () => {
      const traits = { ...parseJSON(extra || "{}", "Other traits"), ...(email.trim() ? { email: email.trim() } : {}) };
      return must(api.POST("/api/v1/projects/{project}/identities", { params: { path: { project: project.id } }, body: { traits: traits as Record<string, never> } }));
    });
    if (made) navigate(`/projects/${project.id}/users/${made.id}`);
  };
  return (
    <>
      <PageHeader title="New user" />
      <form className="panel form" onSubmit={submit} aria-label="New user">
        <ErrorText error={act.error} />
        <label className="field">
          <span>Email</span>
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
        </label>
        <label className="field">
          <span>Other traits (JSON, as the project's identity schema defines them)</span>
          <textarea rows={4} value={extra} onChange={(e) => setExtra(e.target.value)} spellCheck={false} className="mono" />
        </label>
        <div className="row">
          <button type="submit" className="btn btn-primary" disabled={act.busy}>
            Create user
          </button>
          <Link className="btn" to={`/projects/${project.id}/users`}>
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

export function UserPage({ project, id }: { project: Project; id: string }) {
  const { role } = useShell();
  const admin = can.admin(role);
  const ident = useLoad(() => must(api.GET("/api/v1/projects/{project}/identities/{id}", { params: { path: { project: project.id, id } } })), [project.id, id]);
  const sessions = useLoad(
    () => must(api.GET("/api/v1/projects/{project}/identities/{id}/sessions", { params: { path: { project: project.id, id }, query: { active: true } } })) as Promise<Session[]>,
    [project.id, id],
  );
  useTitle(ident.data ? `${identifierOf(ident.data)} · Users` : "User");
  const [editing, setEditing] = useState<string | undefined>();
  const [confirm, setConfirm] = useState<"" | "delete" | "sessions">("");
  const [recovery, setRecovery] = useState<{ recovery_link: string; recovery_code: string; expires_at: string } | undefined>();
  const [notice, setNotice] = useState("");
  const act = useAction();
  const path = { project: project.id, id };

  const patch = async (ops: { op: "replace" | "add"; path: string; value: unknown }[], done: string) => {
    const res = await act.run(() => must(api.PATCH("/api/v1/projects/{project}/identities/{id}", { params: { path }, body: ops })));
    if (res) {
      ident.set(res);
      setEditing(undefined);
      setNotice(done);
    }
  };
  const saveTraits = async (e: FormEvent) => {
    e.preventDefault();
    let traits: Record<string, unknown>;
    try {
      traits = parseJSON(editing ?? "", "Traits");
    } catch (err) {
      act.setError(err as Error);
      return;
    }
    await patch([{ op: "replace", path: "/traits", value: traits }], "Traits saved.");
  };
  const revokeSessions = async () => {
    const ok = await act.run(async () => {
      await must(api.DELETE("/api/v1/projects/{project}/identities/{id}/sessions", { params: { path } }));
      return true;
    });
    setConfirm("");
    if (ok) {
      setNotice("All sessions of this user were revoked.");
      void sessions.reload();
    }
  };
  const del = async () => {
    const ok = await act.run(async () => {
      await must(api.DELETE("/api/v1/projects/{project}/identities/{id}", { params: { path } }));
      return true;
    });
    if (ok) navigate(`/projects/${project.id}/users`);
  };
  const recover = async () => {
    const res = await act.run(() => must(api.POST("/api/v1/projects/{project}/identities/{id}/recovery-code", { params: { path }, body: { expires_in: "1h" } })));
    if (res) setRecovery(res);
  };
  const mailRecovery = async () => {
    const res = await act.run(() => must(api.POST("/api/v1/projects/{project}/identities/{id}/recovery-link", { params: { path }, body: { send: true } })));
    if (res) setNotice(`A recovery link is on its way to ${res.sent_to}.`);
  };

  if (ident.error) {
    return (
      <>
        <PageHeader title="User" />
        <ErrorText error={ident.error} />
        <Link to={`/projects/${project.id}/users`}>Back to users</Link>
      </>
    );
  }
  if (!ident.data) return <Loading what="Loading the user" />;
  const i = ident.data;
  const state = i.state ?? "active";
  const creds = Object.keys((i.credentials ?? {}) as object);
  return (
    <>
      <p className="crumbs">
        <Link to={`/projects/${project.id}/users`}>Users</Link> /
      </p>
      <PageHeader title={identifierOf(i)}>
        <span className={`tag tag-${state}`}>{state}</span>
      </PageHeader>
      {notice && <Notice>{notice}</Notice>}
      <ErrorText error={act.error} />
      {recovery && (
        <section className="secret" role="status" aria-label="Recovery link">
          <p>
            <strong>Send this link (or the code) to the user.</strong> It works once and expires <When at={recovery.expires_at} />.
          </p>
          <div className="secret-row">
            <input readOnly value={recovery.recovery_link} aria-label="Recovery link" onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={recovery.recovery_link} label="Copy link" />
          </div>
          <p>
            Code: <code>{recovery.recovery_code}</code>
          </p>
          <button type="button" className="btn btn-small" onClick={() => setRecovery(undefined)}>
            Done
          </button>
        </section>
      )}
      <section className="panel">
        <div className="panel-head">
          <h2>Traits</h2>
          {admin && editing === undefined && (
            <button type="button" className="btn btn-small" onClick={() => setEditing(JSON.stringify(i.traits ?? {}, null, 2))}>
              Edit traits
            </button>
          )}
        </div>
        {editing === undefined ? (
          <pre className="json" data-testid="traits">
            {JSON.stringify(i.traits ?? {}, null, 2)}
          </pre>
        ) : (
          <form onSubmit={saveTraits} className="form" aria-label="Edit traits">
            <label className="field">
              <span>Traits (JSON)</span>
              <textarea className="mono" rows={Math.min(16, editing.split("\n").length + 2)} value={editing} onChange={(e) => setEditing(e.target.value)} spellCheck={false} />
            </label>
            <div className="row">
              <button type="submit" className="btn btn-primary" disabled={act.busy}>
                Save traits
              </button>
              <button type="button" className="btn" onClick={() => setEditing(undefined)}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </section>
      <section className="panel">
        <h2>Details</h2>
        <dl className="kv">
          <dt>ID</dt>
          <dd>
            <code>{i.id}</code>
          </dd>
          <dt>Schema</dt>
          <dd>{i.schema_id}</dd>
          <dt>Addresses</dt>
          <dd>
            {(i.verifiable_addresses ?? []).length === 0
              ? "None"
              : (i.verifiable_addresses ?? []).map((a) => (
                  <div key={a.value}>
                    {a.value} <span className="muted small">({a.verified ? "verified" : "not verified"})</span>
                  </div>
                ))}
          </dd>
          <dt>Sign-in methods</dt>
          <dd>{creds.length ? creds.join(", ") : "None"}</dd>
          <dt>Created</dt>
          <dd>
            <When at={i.created_at} />
          </dd>
          <dt>Public metadata</dt>
          <dd>
            <pre className="json">{JSON.stringify(i.metadata_public ?? null, null, 2)}</pre>
          </dd>
          <dt>Admin metadata</dt>
          <dd>
            <pre className="json">{JSON.stringify(i.metadata_admin ?? null, null, 2)}</pre>
          </dd>
        </dl>
      </section>
      <section className="panel">
        <div className="panel-head">
          <h2>Sessions</h2>
          {admin &&
            (sessions.data ?? []).length > 0 &&
            (confirm === "sessions" ? (
              <span className="row">
                <button type="button" className="btn btn-small btn-danger" onClick={revokeSessions} disabled={act.busy}>
                  Revoke all sessions
                </button>
                <button type="button" className="btn btn-small" onClick={() => setConfirm("")}>
                  Cancel
                </button>
              </span>
            ) : (
              <button type="button" className="btn btn-small" onClick={() => setConfirm("sessions")}>
                Revoke sessions
              </button>
            ))}
        </div>
        <ErrorText error={sessions.error} onRetry={sessions.reload} />
        {sessions.loading && !sessions.data && <Loading what="Loading sessions" />}
        {sessions.data && sessions.data.length === 0 && <Empty>No active sessions.</Empty>}
        {sessions.data && sessions.data.length > 0 && (
          <div className="table-wrap">
            <table data-testid="session-list">
              <thead>
                <tr>
                  <th scope="col">Signed in</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Methods</th>
                  <th scope="col">Device</th>
                </tr>
              </thead>
              <tbody>
                {sessions.data.map((s) => (
                  <tr key={s.id}>
                    <td>
                      <When at={s.authenticated_at} />
                    </td>
                    <td>
                      <When at={s.expires_at} />
                    </td>
                    <td>{(s.authentication_methods ?? []).map((m) => m.method).join(", ") || "—"}</td>
                    <td className="small">{(s.devices ?? []).map((d) => [d.ip_address, d.user_agent].filter(Boolean).join(" · ")).join("; ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {admin && (
        <section className="panel">
          <h2>Actions</h2>
          <div className="row wrap">
            <button type="button" className="btn" onClick={recover} disabled={act.busy}>
              Create recovery link
            </button>
            <button type="button" className="btn" onClick={mailRecovery} disabled={act.busy}>
              Send recovery link
            </button>
            <button
              type="button"
              className="btn"
              disabled={act.busy}
              onClick={() => patch([{ op: "replace", path: "/state", value: state === "active" ? "inactive" : "active" }], state === "active" ? "The user is deactivated." : "The user is active again.")}
            >
              {state === "active" ? "Deactivate" : "Activate"}
            </button>
            {confirm === "delete" ? (
              <>
                <button type="button" className="btn btn-danger" onClick={del} disabled={act.busy}>
                  Delete {identifierOf(i)} for good
                </button>
                <button type="button" className="btn" onClick={() => setConfirm("")}>
                  Cancel
                </button>
              </>
            ) : (
              <button type="button" className="btn btn-danger-outline" onClick={() => setConfirm("delete")}>
                Delete user
              </button>
            )}
          </div>
        </section>
      )}
    </>
  );
}
