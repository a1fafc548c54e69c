// The Hooks page of a project: its hook configuration edited as JSON (the
// server validates it and says where a problem is), the signing secrets
// shown once after a save, and the delivery log with attempts and replay.
import { useState, type FormEvent } from "react";
import { ApiError, can, onUnauthorized, pageTokenOf, type Project } from "./api.js";
import { useTitle } from "./router.js";
import { useShell } from "./shell.js";
import { Empty, ErrorText, Loading, Notice, PageHeader, Secret, useAction, useLoad, When } from "./ui.js";

/** An error answer with the envelope's id and details kept. */
export class SettingsError extends ApiError {
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, body: unknown) {
    super(status, body);
    this.details = (body as { error?: { details?: Record<string, unknown> } } | undefined)?.error?.details;
  }
}

/** request calls the platform API; the answer's body and Link header, or a SettingsError. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<{ data: T; link: string | null }> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new Error("The server could not be reached. Check the connection and try again.");
  }
  const data = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (!res.ok) {
    if (res.status === 401) onUnauthorized.forEach((f) => f());
    throw new SettingsError(res.status, data);
  }
  return { data: data as T, link: res.headers.get("Link") };
}

/** planText says in words what a plan-gating refusal means. */
export function planText(e: Error): string {
  if (!(e instanceof ApiError)) return e.message;
  switch (e.id) {
    case "billing_feature_js_actions":
    case "billing_hook_limit":
      return `Nothing was saved: the workspace's plan does not allow this configuration. ${e.message} The plans are on the workspace's Billing page.`;
  }
  return e.message;
}

interface Attempt {
  id: string;
  attempt: number;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string;
  error?: string;
  logs: string[] | null;
  created_at: string;
}

interface Delivery {
  id: string;
  hook_id: string;
  hook_type: "web_hook" | "action";
  flow: string;
  point: string;
  mode: "sync" | "async";
  status: "pending" | "delivering" | "succeeded" | "failed";
  url?: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  next_attempt_at?: string;
  last_error?: string;
  replay_of?: string;
  created_at: string;
  attempt_log?: Attempt[];
}

type Json = Record<string, unknown>;

const sampleAction = `export default function (event, api) {
  // event.identity, event.flow and event.request describe the sign-in.
  if (event.identity.traits.email.endsWith("@example.com")) {
    api.setMetadataPublic({ team: "example" });
  }
  console.log("signed in", event.identity.id);
}
`;

/** withoutSecrets drops the one-time secrets of a saved configuration, for the editor. */
function withoutSecrets(cfg: unknown): unknown {
  return JSON.parse(JSON.stringify(cfg, (k, v) => (k === "secret" ? undefined : v)));
}

/** secretsOf lists the webhook signing secrets a save answered with. */
function secretsOf(cfg: unknown): { id: string; secret: string }[] {
  const out: { id: string; secret: string }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Json;
      if (o.hook === "web_hook" && o.config && typeof (o.config as Json).secret === "string") {
        const c = o.config as Json;
        out.push({ id: String(c.id ?? ""), secret: String(c.secret) });
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(cfg);
  return out;
}

/** where says where a validation error points (a script's line and column). */
function whereOf(e: Error): string | undefined {
  if (!(e instanceof SettingsError) || !e.details) return undefined;
  const d = e.details;
  const parts: string[] = [];
  if (typeof d.place === "string") parts.push(d.place);
  if (typeof d.hook_id === "string") parts.push(`hook ${d.hook_id}`);
  if (d.line !== undefined) parts.push(`script line ${String(d.line)}${d.column !== undefined ? `, column ${String(d.column)}` : ""}`);
  return parts.length ? parts.join(" · ") : undefined;
}

export function HooksPage({ project }: { project: Project }) {
  useTitle(`Hooks · ${project.name}`);
  const { role } = useShell();
  const admin = can.admin(role);
  const base = `/api/v1/projects/${project.id}/hooks`;
  const [text, setText] = useState<string | undefined>();
  const cfg = useLoad(async () => {
    const r = await request<Json>("GET", base);
    setText(JSON.stringify(r.data, null, 2));
    return r.data;
  }, [base]);
  const [secrets, setSecrets] = useState<{ id: string; secret: string }[]>([]);
  const [saved, setSaved] = useState(false);
  const act = useAction();
  const [localError, setLocalError] = useState<string | undefined>();

  const parse = (): Json | undefined => {
    try {
      const v: unknown = JSON.parse(text ?? "");
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("the configuration must be a JSON object");
      setLocalError(undefined);
      return v as Json;
    } catch (e) {
      setLocalError(`The configuration is not valid JSON: ${(e as Error).message}. Nothing was saved.`);
      return undefined;
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    act.setError(undefined);
    const body = parse();
    if (!body) return;
    const r = await act.run(() => request<Json>("PUT", base, body));
    if (r) {
      setSecrets(secretsOf(r.data));
      setText(JSON.stringify(withoutSecrets(r.data), null, 2));
      cfg.set(r.data);
      setSaved(true);
    }
  };

  const insertAction = () => {
    const v = parse();
    if (!v) return;
    const login = ((v.login as Json | undefined) ??= {});
    const after = ((login.after as Json | undefined) ??= {});
    const hooks = ((after.hooks as unknown[] | undefined) ??= []);
    let n = 1;
    while (JSON.stringify(v).includes(`"action-${n}"`)) n++;
    hooks.push({ hook: "action", config: { id: `action-${n}`, script: sampleAction, timeout_ms: 100, on_error: "fail_open" } });
    setText(JSON.stringify(v, null, 2));
    setSaved(false);
  };

  const error = localError ?? (act.error ? planText(act.error) : undefined);
  const where = act.error && !localError ? whereOf(act.error) : undefined;
  return (
    <>
      <PageHeader title="Hooks" />
      <p className="muted">
        Hooks run before and after the self-service flows: built-ins such as <code>session</code>, webhooks (<code>web_hook</code>) and JavaScript actions (
        <code>action</code>). The configuration has the shape of Kratos' <code>selfservice.flows</code>; the admin API serves it at <code>{project.url}/admin/hooks</code>.
      </p>
      {secrets.map((s) => (
        <Secret key={s.id} secret={s.secret} what={`signing secret of webhook ${s.id}`} onDone={() => setSecrets((l) => l.filter((x) => x.id !== s.id))} />
      ))}
      <ErrorText error={cfg.error} onRetry={cfg.reload} />
      {cfg.loading && text === undefined && <Loading what="Loading the hooks" />}
      {text !== undefined && (
        <form className="panel form" onSubmit={save} aria-label="Hook configuration">
          <div className="panel-head">
            <h2>Configuration</h2>
            {admin && (
              <button type="button" className="btn btn-small" onClick={insertAction} data-testid="insert-action">
                Insert a JavaScript action
              </button>
            )}
          </div>
          {error && (
            <div className="alert alert-error" role="alert" data-testid="hooks-error">
              <span>
                {error}
                {where && (
                  <>
                    <br />
                    <strong>Where:</strong> {where}
                  </>
                )}
              </span>
            </div>
          )}
          {saved && <Notice>The hooks were saved.</Notice>}
          <label className="field">
            <span>Hooks (JSON)</span>
            <textarea
              value={text}
              onChange={(e) => {
                setText(e.target.value);
                setSaved(false);
              }}
              readOnly={!admin}
              rows={Math.min(30, Math.max(10, text.split("\n").length + 1))}
              spellCheck={false}
              data-testid="hooks-json"
              style={{ fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", fontSize: ".88em", width: "100%" }}
            />
          </label>
          {admin ? (
            <div className="row">
              <button type="submit" className="btn btn-primary" disabled={act.busy}>
                {act.busy ? "Saving…" : "Save hooks"}
              </button>
              <button
                type="button"
                className="btn"
                onClick={() => {
                  setText(JSON.stringify(withoutSecrets(cfg.data), null, 2));
                  setLocalError(undefined);
                  act.setError(undefined);
                }}
              >
                Discard changes
              </button>
            </div>
          ) : (
            <p className="muted small">You have read-only access: an owner or admin of the workspace can change the hooks.</p>
          )}
        </form>
      )}
      <Deliveries project={project} admin={admin} />
    </>
  );
}

function Deliveries({ project, admin }: { project: Project; admin: boolean }) {
  const base = `/api/v1/projects/${project.id}/hooks/deliveries`;
  const [status, setStatus] = useState("");
  const [hookID, setHookID] = useState("");
  const [filter, setFilter] = useState({ status: "", hook: "" });
  const [token, setToken] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const list = useLoad(async () => {
    const q = new URLSearchParams({ page_size: "20" });
    if (filter.status) q.set("status", filter.status);
    if (filter.hook) q.set("hook_id", filter.hook);
    if (token) q.set("page_token", token);
    const r = await request<Delivery[]>("GET", `${base}?${q}`);
    return { items: r.data, next: pageTokenOf(r.link) };
  }, [base, filter, token]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setToken(undefined);
    setFilter({ status, hook: hookID.trim() });
  };
  return (
    <section className="section-title" aria-label="Delivery log">
      <div className="panel-head">
        <h2>Delivery log</h2>
        <button type="button" className="btn btn-small" onClick={() => void list.reload()}>
          Refresh
        </button>
      </div>
      <form className="search" onSubmit={apply} aria-label="Filter deliveries">
        <label className="field">
          <span>Status</span>
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option>
            <option value="pending">Pending</option>
            <option value="delivering">Delivering</option>
            <option value="succeeded">Succeeded</option>
            <option value="failed">Failed</option>
          </select>
        </label>
        <label className="field">
          <span>Hook id</span>
          <input value={hookID} onChange={(e) => setHookID(e.target.value)} placeholder="notify" />
        </label>
        <button type="submit" className="btn">
          Filter
        </button>
      </form>
      <ErrorText error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="Loading deliveries" />}
      {list.data && list.data.items.length === 0 && <Empty>No deliveries{filter.status || filter.hook ? " match the filter" : " yet: hooks are logged when a flow runs them"}.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap">
          <table data-testid="deliveries">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Hook</th>
                <th scope="col">Where</th>
                <th scope="col">Mode</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((d) => (
                <tr key={d.id}>
                  <td>
                    <When at={d.created_at} />
                  </td>
                  <td>
                    <code>{d.hook_id}</code> <span className="muted small">{d.hook_type === "action" ? "action" : "webhook"}</span>
                  </td>
                  <td>
                    {d.flow}.{d.point}
                  </td>
                  <td>{d.mode}</td>
                  <td>
                    <span className={`tag ${d.status === "succeeded" ? "tag-active" : d.status === "failed" ? "tag-inactive" : ""}`}>{d.status}</span>
                  </td>
                  <td className="num">
                    {d.attempts}/{d.max_attempts}
                  </td>
                  <td className="actions-cell">
                    <button type="button" className="btn btn-small" onClick={() => setOpen(open === d.id ? undefined : d.id)} aria-expanded={open === d.id}>
                      {open === d.id ? "Hide" : "Details"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && <DeliveryDetail key={open} base={base} id={open} admin={admin} onReplayed={() => void list.reload()} />}
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

function DeliveryDetail({ base, id, admin, onReplayed }: { base: string; id: string; admin: boolean; onReplayed: () => void }) {
  const d = useLoad(async () => (await request<Delivery>("GET", `${base}/${id}`)).data, [base, id]);
  const act = useAction();
  const [replayed, setReplayed] = useState<string | undefined>();
  const replay = async () => {
    const r = await act.run(() => request<Delivery>("POST", `${base}/${id}/replay`));
    if (r) {
      setReplayed(r.data.id);
      onReplayed();
    }
  };
  if (d.error) return <ErrorText error={d.error} onRetry={d.reload} />;
  if (!d.data) return <Loading what="Loading the delivery" />;
  const v = d.data;
  const finished = v.status === "succeeded" || v.status === "failed";
  return (
    <section className="panel" aria-label={`Delivery ${v.id}`} data-testid="delivery-detail">
      <div className="panel-head">
        <h2>
          Delivery of <code>{v.hook_id}</code>
        </h2>
        {admin && v.hook_type === "web_hook" && (
          <button type="button" className="btn btn-small" onClick={replay} disabled={act.busy || !finished} title={finished ? undefined : "A delivery in progress cannot be replayed"}>
            Replay
          </button>
        )}
      </div>
      <ErrorText error={act.error} />
      {replayed && <Notice>Replayed: a new delivery ({replayed}) is queued.</Notice>}
      <dl className="kv">
        <dt>Status</dt>
        <dd>{v.status}</dd>
        <dt>Where</dt>
        <dd>
          {v.flow}.{v.point} ({v.mode === "sync" ? "inline, during the flow" : "in the background"})
        </dd>
        {v.url && (
          <>
            <dt>URL</dt>
            <dd>
              <code>{v.url}</code>
            </dd>
          </>
        )}
        {v.last_error && (
          <>
            <dt>Last error</dt>
            <dd className="warn">{v.last_error}</dd>
          </>
        )}
        {v.next_attempt_at && (
          <>
            <dt>Next attempt</dt>
            <dd>
              <When at={v.next_attempt_at} />
            </dd>
          </>
        )}
        {v.replay_of && (
          <>
            <dt>Replay of</dt>
            <dd>
              <code>{v.replay_of}</code>
            </dd>
          </>
        )}
      </dl>
      <h3>Attempts</h3>
      {!v.attempt_log?.length && <Empty>No attempt yet.</Empty>}
      {v.attempt_log?.map((a) => (
        <div key={a.id} className="card" style={{ marginBottom: ".75rem" }}>
          <p>
            <strong>Attempt {a.attempt}</strong> · <When at={a.created_at} /> · {a.status_code !== null ? `HTTP ${a.status_code}` : "no answer"} · {a.latency_ms} ms
          </p>
          {a.error && <p className="warn">{a.error}</p>}
          {a.response_excerpt && (
            <>
              <span className="muted small">Response</span>
              <pre style={{ whiteSpace: "pre-wrap", margin: 0 }}>{a.response_excerpt}</pre>
            </>
          )}
          {a.logs && a.logs.length > 0 && (
            <>
              <span className="muted small">Console</span>
              <pre style={{ whiteSpace: "pre-wrap", margin: 0 }} data-testid="console-logs">
                {a.logs.join("\n")}
              </pre>
            </>
          )}
        </div>
      ))}
      <details>
        <summary>Payload</summary>
        <pre style={{ whiteSpace: "pre-wrap" }}>{JSON.stringify(v.payload, null, 2)}</pre>
      </details>
    </section>
  );
}
