// The Email page of a project: its own SMTP server (or the platform's), a
// test send through it, the mail templates (templates.tsx) and the activity
// of the courier (what was sent).
import { useState, type FormEvent } from "react";
import { can, pageTokenOf, type Project } from "./api.js";
import { request, SettingsError } from "./hooks.js";
import { useTitle } from "./router.js";
import { useShell } from "./shell.js";
import { Templates } from "./templates.js";
import { Empty, ErrorText, Loading, Notice, PageHeader, useAction, useLoad, When } from "./ui.js";

interface SMTP {
  host: string;
  port: number;
  security: "starttls" | "tls" | "none";
  username: string;
  password?: string;
  has_password?: boolean;
  from_address: string;
  updated_at?: string;
}

interface Message {
  id: string;
  status: "queued" | "processing" | "sent" | "abandoned";
  type: string;
  recipient: string;
  subject: string;
  template_type: string;
  send_count: number;
  created_at: string;
}

const blank: SMTP = { host: "", port: 587, security: "starttls", username: "", password: "", from_address: "" };

export function EmailPage({ project }: { project: Project }) {
  useTitle(`Email · ${project.name}`);
  const { role } = useShell();
  const admin = can.admin(role);
  const base = `/api/v1/projects/${project.id}/email`;
  const [form, setForm] = useState<SMTP>(blank);
  const current = useLoad(async () => {
    try {
      const r = await request<SMTP>("GET", `${base}/smtp`);
      setForm({ ...r.data, password: "" });
      return r.data as SMTP | null;
    } catch (e) {
      if (e instanceof SettingsError && e.status === 404) {
        setForm(blank);
        return null; // the platform's SMTP server
      }
      throw e;
    }
  }, [base]);
  const act = useAction();
  const [notice, setNotice] = useState<string | undefined>();
  const set = <K extends keyof SMTP>(k: K, v: SMTP[K]) => setForm((f) => ({ ...f, [k]: v }));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setNotice(undefined);
    const body: SMTP = { host: form.host.trim(), port: Number(form.port), security: form.security, username: form.username, from_address: form.from_address.trim() };
    if (form.password) body.password = form.password;
    const r = await act.run(() => request<SMTP>("PUT", `${base}/smtp`, body));
    if (r) {
      current.set(r.data);
      setForm({ ...r.data, password: "" });
      setNotice("The SMTP settings were saved. Mail of this project now goes through this server.");
    }
  };
  const usePlatform = async () => {
    setNotice(undefined);
    const r = await act.run(() => request("DELETE", `${base}/smtp`));
    if (r) {
      current.set(null);
      setForm(blank);
      setNotice("The project uses the platform's SMTP server again.");
    }
  };

  const own = current.data ?? null;
  return (
    <>
      <PageHeader title="Email" />
      <p className="muted">
        Verification, recovery and sign-in codes are sent by email. By default they go through the platform's SMTP server; you can send them through your own.
      </p>
      <ErrorText error={current.error} onRetry={current.reload} />
      {current.loading && current.data === undefined && <Loading what="Loading the email settings" />}
      {current.data !== undefined && (
        <form className="panel form" onSubmit={save} aria-label="SMTP server">
          <div className="panel-head">
            <h2>SMTP server</h2>
            <span className="tag" data-testid="smtp-mode">
              {own ? "Your own server" : "The platform's server"}
            </span>
          </div>
          {!own && <p className="muted small">This project uses the platform's SMTP server. Fill in the form to send through your own.</p>}
          <ErrorText error={act.error} />
          {notice && <Notice>{notice}</Notice>}
          <fieldset className="form" disabled={!admin} style={{ border: 0, padding: 0, margin: 0 }}>
            <div className="row" style={{ alignItems: "flex-end", flexWrap: "wrap" }}>
              <label className="field grow">
                <span>Host</span>
                <input required value={form.host} onChange={(e) => set("host", e.target.value)} placeholder="smtp.example.com" autoComplete="off" />
              </label>
              <label className="field">
                <span>Port</span>
                <input required type="number" min={1} max={65535} value={form.port} onChange={(e) => set("port", Number(e.target.value))} style={{ width: "7rem" }} />
              </label>
              <label className="field">
                <span>Security</span>
                <select value={form.security} onChange={(e) => set("security", e.target.value as SMTP["security"])}>
                  <option value="starttls">STARTTLS</option>
                  <option value="tls">TLS (SMTPS)</option>
                  <option value="none">None (plain text)</option>
                </select>
              </label>
            </div>
            <div className="row" style={{ alignItems: "flex-end", flexWrap: "wrap" }}>
              <label className="field grow">
                <span>Username</span>
                <input value={form.username} onChange={(e) => set("username", e.target.value)} autoComplete="off" />
              </label>
              <label className="field grow">
                <span>Password</span>
                <input
                  type="password"
                  value={form.password ?? ""}
                  onChange={(e) => set("password", e.target.value)}
                  autoComplete="new-password"
                  placeholder={own?.has_password ? "stored; leave empty to keep it" : ""}
                />
              </label>
            </div>
            <label className="field">
              <span>Sender</span>
              <input value={form.from_address} onChange={(e) => set("from_address", e.target.value)} placeholder="Acme <hello@acme.com> (empty: the platform's sender)" />
            </label>
          </fieldset>
          {own?.updated_at && (
            <p className="muted small">
              Last changed <When at={own.updated_at} />.
            </p>
          )}
          {admin ? (
            <div className="row">
              <button type="submit" className="btn btn-primary" disabled={act.busy}>
                Save SMTP settings
              </button>
              {own && (
                <button type="button" className="btn btn-danger-outline" onClick={usePlatform} disabled={act.busy}>
                  Use the platform's server
                </button>
              )}
            </div>
          ) : (
            <p className="muted small">You have read-only access: an owner or admin of the workspace can change the email settings.</p>
          )}
        </form>
      )}
      {admin && current.data !== undefined && <TestSend base={base} own={!!own} />}
      <Templates base={base} />
      <Activity base={base} />
    </>
  );
}

function TestSend({ base, own }: { base: string; own: boolean }) {
  const [to, setTo] = useState("");
  const [sent, setSent] = useState<string | undefined>();
  const act = useAction();
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setSent(undefined);
    const r = await act.run(() => request<{ to: string }>("POST", `${base}/smtp/test`, { to: to.trim() }));
    if (r) setSent(r.data.to);
  };
  return (
    <form className="panel form inline-form" onSubmit={send} aria-label="Send a test email">
      <div style={{ flexBasis: "100%" }}>
        <h2>Send a test email</h2>
        <p className="muted small">Sends one email now through {own ? "your saved SMTP server" : "the platform's SMTP server"} and shows the server's answer.</p>
        <ErrorText error={act.error} />
        {sent && <Notice>The test email to {sent} was accepted by the server.</Notice>}
      </div>
      <label className="field grow">
        <span>Recipient</span>
        <input type="email" required value={to} onChange={(e) => setTo(e.target.value)} placeholder="you@example.com" />
      </label>
      <button type="submit" className="btn" disabled={act.busy}>
        {act.busy ? "Sending…" : "Send test email"}
      </button>
    </form>
  );
}

function Activity({ base }: { base: string }) {
  const [token, setToken] = useState<string | undefined>();
  const list = useLoad(async () => {
    const q = new URLSearchParams({ page_size: "20" });
    if (token) q.set("page_token", token);
    const r = await request<Message[]>("GET", `${base}/messages?${q}`);
    return { items: r.data, next: pageTokenOf(r.link) };
  }, [base, token]);
  return (
    <section className="section-title" aria-label="Email activity">
      <div className="panel-head">
        <h2>Activity</h2>
        <button type="button" className="btn btn-small" onClick={() => void list.reload()}>
          Refresh
        </button>
      </div>
      <ErrorText error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="Loading the email activity" />}
      {list.data && list.data.items.length === 0 && <Empty>No email has been sent for this project yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table data-testid="email-activity">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Recipient</th>
                <th scope="col">Subject</th>
                <th scope="col">Template</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Tries
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((m) => (
                <tr key={m.id}>
                  <td>
                    <When at={m.created_at} />
                  </td>
                  <td>{m.recipient}</td>
                  <td>{m.subject}</td>
                  <td>{m.template_type || <span className="muted">—</span>}</td>
                  <td>
                    <span className={`tag ${m.status === "sent" ? "tag-active" : m.status === "abandoned" ? "tag-inactive" : ""}`}>{m.status}</span>
                  </td>
                  <td className="num">{m.send_count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        {token && (
          <button type="button" className="btn" onClick={() => setToken(undefined)}>
            First page
          </button>
        )}
        {list.data?.next && (
          <button type="button" className="btn" onClick={() => setToken(list.data!.next)}>
            Next page
          </button>
        )}
      </div>
    </section>
  );
}
