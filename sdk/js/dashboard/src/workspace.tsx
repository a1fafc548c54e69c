// A workspace's members, invitations, access tokens, audit log and name,
// and the page an invitation link opens.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, can, must, type AuditEvent, type Member, type Role, type Token } from "./api.js";
import { Link, navigate, useLocation, useTitle } from "./router.js";
import { pendingInvitation } from "./auth.js";
import { useShell } from "./shell.js";
import { Pager } from "./projects.js";
import { Empty, ErrorText, Loading, Notice, PageHeader, Secret, When, useAction, useLoad } from "./ui.js";

const roleWords: Record<Role, string> = { owner: "Owner", admin: "Admin", viewer: "Viewer" };

export function MembersPage({ ws }: { ws: string }) {
  useTitle("Members");
  const { role, me } = useShell();
  const admin = can.admin(role);
  const members = useLoad(() => must(api.GET("/api/v1/workspaces/{workspace}/members", { params: { path: { workspace: ws }, query: { page_size: 250 } } })), [ws]);
  const invitations = useLoad(
    () => must(api.GET("/api/v1/workspaces/{workspace}/invitations", { params: { path: { workspace: ws }, query: { page_size: 250 } } })),
    [ws],
  );
  const [email, setEmail] = useState("");
  const [inviteRole, setInviteRole] = useState<Role>("viewer");
  const [notice, setNotice] = useState("");
  const act = useAction();

  const invite = async (e: FormEvent) => {
    e.preventDefault();
    const res = await act.run(() =>
      must(api.POST("/api/v1/workspaces/{workspace}/invitations", { params: { path: { workspace: ws } }, body: { email: email.trim(), role: inviteRole } })),
    );
    if (res) {
      setNotice(`Invitation sent to ${res.email}.`);
      setEmail("");
      void invitations.reload();
    }
  };
  const changeRole = async (m: Member, r: Role) => {
    const res = await act.run(() =>
      must(api.PATCH("/api/v1/workspaces/{workspace}/members/{account}", { params: { path: { workspace: ws, account: m.account_id } }, body: { role: r } })),
    );
    if (res) {
      setNotice(`${m.email} is now ${roleWords[r].toLowerCase()}.`);
      void members.reload();
    }
  };
  const remove = async (m: Member) => {
    const ok = await act.run(async () => {
      await must(api.DELETE("/api/v1/workspaces/{workspace}/members/{account}", { params: { path: { workspace: ws, account: m.account_id } } }));
      return true;
    });
    if (!ok) return;
    if (m.account_id === me.account.id) {
      location.assign("/");
      return;
    }
    setNotice(`${m.email} was removed.`);
    void members.reload();
  };
  const revokeInvitation = async (id: string) => {
    const ok = await act.run(async () => {
      await must(api.DELETE("/api/v1/workspaces/{workspace}/invitations/{invitation}", { params: { path: { workspace: ws, invitation: id } } }));
      return true;
    });
    if (ok) void invitations.reload();
  };

  const open = (invitations.data?.items ?? []).filter((i) => !i.accepted_at && !i.revoked_at && new Date(i.expires_at) > new Date());
  return (
    <>
      <PageHeader title="Members" />
      {notice && <Notice>{notice}</Notice>}
      <ErrorText error={act.error} />
      {admin && (
        <form className="panel form inline-form" onSubmit={invite} aria-label="Invite a member">
          <label className="field grow">
            <span>Email address</span>
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} placeholder="teammate@example.com" />
          </label>
          <label className="field">
            <span>Role</span>
            <select value={inviteRole} onChange={(e) => setInviteRole(e.target.value as Role)}>
              <option value="viewer">Viewer</option>
              <option value="admin">Admin</option>
              {can.owner(role) && <option value="owner">Owner</option>}
            </select>
          </label>
          <button type="submit" className="btn btn-primary" disabled={act.busy}>
            Send invitation
          </button>
        </form>
      )}
      <ErrorText error={members.error} onRetry={members.reload} />
      {members.loading && !members.data && <Loading what="Loading members" />}
      {members.data && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((m) => {
                const mayChange = admin && m.account_id !== me.account.id && (m.role !== "owner" || can.owner(role));
                // The last owner stays (the API refuses it too).
                const lastOwner = m.role === "owner" && members.data!.items.filter((x) => x.role === "owner").length <= 1;
                return (
                  <tr key={m.account_id}>
                    <td>
                      {m.email}
                      {m.account_id === me.account.id && <span className="muted"> (you)</span>}
                    </td>
                    <td>
                      {mayChange ? (
                        <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => changeRole(m, e.target.value as Role)} disabled={act.busy}>
                          <option value="viewer">Viewer</option>
                          <option value="admin">Admin</option>
                          {can.owner(role) && <option value="owner">Owner</option>}
                        </select>
                      ) : (
                        roleWords[m.role as Role]
                      )}
                    </td>
                    <td>
                      <When at={m.created_at} />
                    </td>
                    <td className="actions-cell">
                      {(mayChange || m.account_id === me.account.id) && !lastOwner && (
                        <ConfirmButton label={m.account_id === me.account.id ? "Leave" : "Remove"} confirm={m.account_id === me.account.id ? "Leave the workspace" : `Remove ${m.email}`} onConfirm={() => remove(m)} busy={act.busy} />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <h2 className="section-title">Open invitations</h2>
      <ErrorText error={invitations.error} onRetry={invitations.reload} />
      {invitations.data && open.length === 0 && <Empty>No open invitations.</Empty>}
      {open.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {open.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{roleWords[i.role as Role]}</td>
                  <td>
                    <When at={i.expires_at} />
                  </td>
                  <td className="actions-cell">{admin && <ConfirmButton label="Revoke" confirm={`Revoke the invitation of ${i.email}`} onConfirm={() => revokeInvitation(i.id)} busy={act.busy} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** ConfirmButton asks once more, in place, before a destructive action. */
export function ConfirmButton({ label, confirm, onConfirm, busy }: { label: string; confirm: string; onConfirm: () => void; busy?: boolean }) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="row">
      <button
        ref={yes}
        type="button"
        className="btn btn-small btn-danger"
        disabled={busy}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirm}
      </button>
      <button type="button" className="btn btn-small" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function TokensPage({ ws }: { ws: string }) {
  useTitle("Access tokens");
  const { role } = useShell();
  const admin = can.admin(role);
  const [page, setPage] = useState<string | undefined>();
  const tokens = useLoad(
    () => must(api.GET("/api/v1/workspaces/{workspace}/tokens", { params: { path: { workspace: ws }, query: { page_size: 50, ...(page ? { page_token: page } : {}) } } })),
    [ws, page],
  );
  const [name, setName] = useState("");
  const [tokenRole, setTokenRole] = useState<"viewer" | "admin">("viewer");
  const [secret, setSecret] = useState<string | undefined>();
  const act = useAction();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    const res = await act.run(() =>
      must(api.POST("/api/v1/workspaces/{workspace}/tokens", { params: { path: { workspace: ws } }, body: { name: name.trim(), role: tokenRole } })),
    );
    if (res) {
      setSecret(res.secret);
      setName("");
      void tokens.reload();
    }
  };
  const revoke = async (t: Token) => {
    const ok = await act.run(async () => {
      await must(api.DELETE("/api/v1/workspaces/{workspace}/tokens/{token}", { params: { path: { workspace: ws, token: t.id } } }));
      return true;
    });
    if (ok) void tokens.reload();
  };
  return (
    <>
      <PageHeader title="Access tokens" />
      <p className="muted">
        Workspace access tokens call the platform API (<code>{location.origin}/api/v1</code>) from scripts and CI as <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      {secret && <Secret secret={secret} what="access token" onDone={() => setSecret(undefined)} />}
      <ErrorText error={act.error} />
      {admin && (
        <form className="panel form inline-form" onSubmit={create} aria-label="Create an access token">
          <label className="field grow">
            <span>Token name</span>
            <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" />
          </label>
          <label className="field">
            <span>Role</span>
            <select value={tokenRole} onChange={(e) => setTokenRole(e.target.value as "viewer" | "admin")}>
              <option value="viewer">Viewer</option>
              <option value="admin">Admin</option>
            </select>
          </label>
          <button type="submit" className="btn btn-primary" disabled={act.busy}>
            Create token
          </button>
        </form>
      )}
      <ErrorText error={tokens.error} onRetry={tokens.reload} />
      {tokens.loading && !tokens.data && <Loading what="Loading tokens" />}
      {tokens.data && tokens.data.items.length === 0 && <Empty>No access tokens.</Empty>}
      {tokens.data && tokens.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Token</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((t) => (
                <tr key={t.id} className={t.revoked_at ? "revoked" : undefined}>
                  <td>{t.name}</td>
                  <td>{roleWords[t.role]}</td>
                  <td>
                    <code>{t.hint}…</code>
                  </td>
                  <td>
                    <When at={t.last_used_at} never="Never" />
                  </td>
                  <td className="actions-cell">
                    {t.revoked_at ? (
                      <span className="muted">Revoked</span>
                    ) : (
                      admin && <ConfirmButton label="Revoke" confirm={`Revoke ${t.name}`} onConfirm={() => revoke(t)} busy={act.busy} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager next={tokens.data?.next_page_token} first={!page} onNext={setPage} onFirst={() => setPage(undefined)} />
    </>
  );
}

function describe(e: AuditEvent): string {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const type = e.target_type.replace(/_/g, " ");
  if (e.target_type === "identity") return `user ${e.target_id.slice(0, 8)}…${d.slug ? ` in ${d.slug}` : ""}`;
  const name = (d.name ?? d.email ?? d.slug ?? "") as string;
  return name ? `${type} ${name}` : `${type} ${e.target_id.slice(0, 8)}…`;
}

export function AuditPage({ ws }: { ws: string }) {
  useTitle("Audit log");
  const [page, setPage] = useState<string | undefined>();
  const audit = useLoad(
    () => must(api.GET("/api/v1/workspaces/{workspace}/audit", { params: { path: { workspace: ws }, query: { page_size: 50, ...(page ? { page_token: page } : {}) } } })),
    [ws, page],
  );
  return (
    <>
      <PageHeader title="Audit log" />
      <p className="muted">Every change made in this workspace, newest first: who, what, when and from where.</p>
      <ErrorText error={audit.error} onRetry={audit.reload} />
      {audit.loading && !audit.data && <Loading what="Loading the audit log" />}
      {audit.data && audit.data.items.length === 0 && <Empty>Nothing has happened in this workspace yet.</Empty>}
      {audit.data && audit.data.items.length > 0 && (
        <div className="table-wrap">
          <table data-testid="audit-list">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <When at={e.created_at} />
                  </td>
                  <td>{e.actor_name}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{describe(e)}</td>
                  <td className="small" title={e.user_agent}>
                    {e.ip}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager next={audit.data?.next_page_token} first={!page} onNext={setPage} onFirst={() => setPage(undefined)} />
    </>
  );
}

export function WorkspaceSettings({ ws }: { ws: string }) {
  useTitle("Workspace settings");
  const { workspace, role, reloadWorkspaces } = useShell();
  const [name, setName] = useState(workspace?.name ?? "");
  const [notice, setNotice] = useState("");
  const act = useAction();
  useEffect(() => setName(workspace?.name ?? ""), [workspace?.name]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const res = await act.run(() => must(api.PATCH("/api/v1/workspaces/{workspace}", { params: { path: { workspace: ws } }, body: { name: name.trim() } })));
    if (res) {
      setNotice("The workspace was renamed.");
      void reloadWorkspaces();
    }
  };
  if (!workspace) return <ErrorText error="This workspace could not be found." />;
  return (
    <>
      <PageHeader title="Workspace settings" />
      {notice && <Notice>{notice}</Notice>}
      <form className="panel form" onSubmit={save} aria-label="Rename the workspace">
        <ErrorText error={act.error} />
        <label className="field">
          <span>Workspace name</span>
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} readOnly={!can.admin(role)} />
        </label>
        {can.admin(role) && (
          <button type="submit" className="btn btn-primary" disabled={act.busy || name.trim() === workspace.name}>
            Rename
          </button>
        )}
        <p className="muted small">
          Your role: {roleWords[workspace.role as Role]}. {workspace.personal ? "This is your personal workspace." : ""}
        </p>
      </form>
    </>
  );
}

export function AcceptInvitation() {
  useTitle("Invitation");
  const { query } = useLocation();
  const { reloadWorkspaces } = useShell();
  const token = query.get("token") ?? "";
  const act = useAction();
  // The page is reached: the invitation no longer waits for "/".
  useEffect(() => pendingInvitation.clear(), []);
  const accept = async () => {
    const ws = await act.run(() => must(api.POST("/api/v1/invitations/accept", { body: { token } })));
    if (ws) {
      await reloadWorkspaces();
      navigate(`/w/${ws.id}/projects`);
    }
  };
  return (
    <div className="narrow">
      <section className="panel">
        <h1>Join a workspace</h1>
        {!token ? (
          <ErrorText error="This invitation link is incomplete. Open the link from the invitation email again." />
        ) : (
          <>
            <p>You were invited to a Lanyard workspace. Accept to see its projects.</p>
            <ErrorText error={act.error} />
            <div className="row">
              <button type="button" className="btn btn-primary" onClick={accept} disabled={act.busy}>
                Accept the invitation
              </button>
              <Link className="btn" to="/">
                Not now
              </Link>
            </div>
          </>
        )}
      </section>
    </div>
  );
}
