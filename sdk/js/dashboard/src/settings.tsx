// Project settings: the authentication settings of a project (GET/PATCH
// /api/v1/projects/{project}/config) and its CORS origins (/cors), as a
// form. A refused save names the field; the page keeps what was typed.
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { ApiError, can, onUnauthorized, type Project, type Schemas } from "./api.js";
import { Link } from "./router.js";
import { useShell } from "./shell.js";
import { ErrorText, Loading, Notice, useAction, useLoad } from "./ui.js";

export type AdminConfig = Schemas["adminConfig"];

/** An error answer with the envelope's details (field, line, column). */
export class DetailedError extends ApiError {
  readonly details: Record<string, unknown>;
  constructor(status: number, body: unknown) {
    super(status, body);
    this.details = ((body as { error?: { details?: Record<string, unknown> } } | undefined)?.error?.details ?? {}) as Record<string, unknown>;
  }
}

/** send calls the platform API with a raw JSON body and keeps the error's details. */
export async function send<T>(method: string, path: string, body?: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body,
    });
  } catch {
    throw new Error("The server could not be reached. Check the connection and try again.");
  }
  const data = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (!res.ok) {
    if (res.status === 401) onUnauthorized.forEach((f) => f());
    throw new DetailedError(res.status, data);
  }
  return data as T;
}

const limitWords: Record<string, string> = {
  "login:ip": "Sign-in attempts per IP address",
  "login:identifier": "Sign-in attempts per account",
  "registration:ip": "Sign-ups per IP address",
  "recovery:ip": "Recovery requests per IP address",
  "recovery:address": "Recovery requests per address",
  "verification:ip": "Verification requests per IP address",
  "verification:address": "Verification requests per address",
  "code:identifier": "One-time code attempts per account",
  "verification:mail": "Verification mails per recipient",
  "recovery:mail": "Recovery mails per recipient",
};

/** Form is the editable copy of the settings: numbers as typed, URL lists as text. */
interface Form {
  registration_enabled: boolean;
  flow_lifespan_minutes: string;
  privileged_session_max_age_minutes: string;
  default_browser_return_url: string;
  allowed_return_urls: string;
  min_length: string;
  common_password_check: boolean;
  identifier_similarity_check: boolean;
  lifespan_minutes: string;
  sliding: boolean;
  max_lifespan_minutes: string;
  client_refresh: boolean;
  cookie_persistent: boolean;
  require_verified_address: boolean;
  verification_use: string;
  recovery_use: string;
  revoke_active_sessions: boolean;
  limits: Record<string, { rate: string; period_seconds: string; burst: string }>;
}

function toForm(c: AdminConfig): Form {
  const limits: Form["limits"] = {};
  for (const [k, l] of Object.entries(c.limits)) limits[k] = { rate: String(l.rate), period_seconds: String(l.period_seconds), burst: String(l.burst) };
  return {
    registration_enabled: c.registration_enabled,
    flow_lifespan_minutes: String(c.flow_lifespan_minutes),
    privileged_session_max_age_minutes: String(c.privileged_session_max_age_minutes),
    default_browser_return_url: c.default_browser_return_url,
    allowed_return_urls: c.allowed_return_urls.join("\n"),
    min_length: String(c.password.min_length),
    common_password_check: c.password.common_password_check,
    identifier_similarity_check: c.password.identifier_similarity_check,
    lifespan_minutes: String(c.session.lifespan_minutes),
    sliding: c.session.sliding,
    max_lifespan_minutes: String(c.session.max_lifespan_minutes),
    client_refresh: c.session.client_refresh,
    cookie_persistent: c.session.cookie_persistent,
    require_verified_address: c.login.require_verified_address,
    verification_use: c.verification.use,
    recovery_use: c.recovery.use,
    revoke_active_sessions: c.recovery.revoke_active_sessions,
    limits,
  };
}

/** num sends a whole number as a number and anything else as typed (the server names the field). */
function num(s: string): number | string {
  return /^\s*-?\d+\s*$/.test(s) ? Number(s) : s;
}

function toPatch(f: Form) {
  const limits: Record<string, unknown> = {};
  for (const [k, l] of Object.entries(f.limits)) limits[k] = { rate: num(l.rate), period_seconds: num(l.period_seconds), burst: num(l.burst) };
  return {
    registration_enabled: f.registration_enabled,
    flow_lifespan_minutes: num(f.flow_lifespan_minutes),
    privileged_session_max_age_minutes: num(f.privileged_session_max_age_minutes),
    default_browser_return_url: f.default_browser_return_url.trim(),
    allowed_return_urls: f.allowed_return_urls
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean),
    password: { min_length: num(f.min_length), common_password_check: f.common_password_check, identifier_similarity_check: f.identifier_similarity_check },
    session: {
      lifespan_minutes: num(f.lifespan_minutes),
      sliding: f.sliding,
      max_lifespan_minutes: num(f.max_lifespan_minutes),
      client_refresh: f.client_refresh,
      cookie_persistent: f.cookie_persistent,
    },
    login: { require_verified_address: f.require_verified_address },
    verification: { use: f.verification_use },
    recovery: { use: f.recovery_use, revoke_active_sessions: f.revoke_active_sessions },
    limits,
  };
}

/** The field of the form a server field path belongs to. */
function fieldKey(path: string): string {
  const m: Record<string, string> = {
    "password.min_length": "min_length",
    "password.common_password_check": "common_password_check",
    "password.identifier_similarity_check": "identifier_similarity_check",
    "session.lifespan_minutes": "lifespan_minutes",
    "session.max_lifespan_minutes": "max_lifespan_minutes",
    "session.sliding": "sliding",
    "session.client_refresh": "client_refresh",
    "session.cookie_persistent": "cookie_persistent",
    "login.require_verified_address": "require_verified_address",
    "verification.use": "verification_use",
    "recovery.use": "recovery_use",
    "recovery.revoke_active_sessions": "revoke_active_sessions",
  };
  return m[path] ?? path;
}

const errStyle = { color: "var(--danger)", fontSize: ".88em", margin: 0 } as const;
const grid = { display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(16rem, 1fr))", gap: ".9rem 1.25rem" } as const;

/** AuthSettings is the Authentication and CORS panels of a project's settings page. */
export function AuthSettings({ project }: { project: Project }) {
  const { role } = useShell();
  const admin = can.admin(role);
  const base = `/api/v1/projects/${project.id}`;
  const cfg = useLoad(() => send<AdminConfig>("GET", `${base}/config`), [project.id]);
  const [form, setForm] = useState<Form | undefined>();
  const [fieldErr, setFieldErr] = useState<{ key: string; message: string } | undefined>();
  const [notice, setNotice] = useState("");
  const act = useAction();
  useEffect(() => {
    if (cfg.data) setForm(toForm(cfg.data));
  }, [cfg.data]);

  if (cfg.error) return <ErrorText error={cfg.error} onRetry={() => void cfg.reload()} />;
  if (!form) return <Loading what="Loading the settings" />;

  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setForm({ ...form, [k]: v });
    setNotice("");
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setFieldErr(undefined);
    setNotice("");
    try {
      act.setError(undefined);
      const saved = await send<AdminConfig>("PATCH", `${base}/config`, JSON.stringify(toPatch(form)));
      cfg.set(saved);
      setNotice("The authentication settings were saved.");
    } catch (err) {
      const d = err instanceof DetailedError ? err.details : {};
      if (typeof d.field === "string") setFieldErr({ key: fieldKey(d.field), message: String(d.message ?? (err as Error).message) });
      act.setError(err as Error);
    }
  };
  const errFor = (key: string) =>
    fieldErr && (fieldErr.key === key || fieldErr.key.startsWith(key + ".")) ? (
      <p style={errStyle} id={`err-${key}`} role="alert" data-testid="field-error">
        {fieldErr.message}
      </p>
    ) : null;
  const invalid = (key: string) => (fieldErr && (fieldErr.key === key || fieldErr.key.startsWith(key + ".")) ? { "aria-invalid": true, "aria-describedby": `err-${key}` } : {});
  const numberField = (key: keyof Form, label: string, hint?: ReactNode) => (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        name={key}
        value={form[key] as string}
        onChange={(e) => set(key, e.target.value as never)}
        disabled={!admin}
        {...invalid(key)}
      />
      {hint && <small className="muted">{hint}</small>}
      {errFor(key)}
    </label>
  );
  const check = (key: keyof Form, label: string) => (
    <label className="field inline">
      <input type="checkbox" name={key} checked={form[key] as boolean} onChange={(e) => set(key, e.target.checked as never)} disabled={!admin} />
      <span style={{ fontWeight: 400 }}>{label}</span>
      {errFor(key)}
    </label>
  );
  const method = (key: "verification_use" | "recovery_use", label: string) => (
    <label className="field">
      <span>{label}</span>
      <select name={key} value={form[key]} onChange={(e) => set(key, e.target.value)} disabled={!admin} {...invalid(key)}>
        <option value="code">One-time code</option>
        <option value="link">Link</option>
      </select>
      {errFor(key)}
    </label>
  );

  return (
    <>
      <form className="panel form" onSubmit={save} aria-label="Authentication settings" noValidate>
        <div className="panel-head">
          <h2>Authentication</h2>
          <Link to={`/projects/${project.id}/schema`}>Edit the identity schema</Link>
        </div>
        {notice && <Notice>{notice}</Notice>}
        <ErrorText error={act.error} />

        <h3 style={{ margin: 0 }}>Sign-up and flows</h3>
        {check("registration_enabled", "Allow sign-up (registration)")}
        <div style={grid}>
          {numberField("flow_lifespan_minutes", "Flow lifetime (minutes)", "How long a sign-in or sign-up form may be used.")}
          {numberField("privileged_session_max_age_minutes", "Privileged session (minutes)", "How recent a sign-in must be to change a password or an email.")}
        </div>

        <h3 style={{ margin: 0 }}>Password policy</h3>
        <div style={grid}>{numberField("min_length", "Minimum password length")}</div>
        {check("common_password_check", "Refuse common and breached passwords")}
        {check("identifier_similarity_check", "Refuse passwords similar to the email or username")}

        <h3 style={{ margin: 0 }}>Sessions</h3>
        <div style={grid}>
          {numberField("lifespan_minutes", "Session lifetime (minutes)", "From sign-in, or from the last extension.")}
          {numberField("max_lifespan_minutes", "Absolute maximum (minutes)", "No session lives longer than this after sign-in.")}
        </div>
        {check("sliding", "Sliding expiry: extend a session that is used when less than half of its lifetime remains")}
        {check("client_refresh", "Let apps refresh sessions (POST /sessions/refresh)")}
        {check("cookie_persistent", "Keep the session cookie after the browser closes")}

        <h3 style={{ margin: 0 }}>Verification and recovery</h3>
        <div style={grid}>
          {method("verification_use", "Verification method")}
          {method("recovery_use", "Recovery method")}
        </div>
        {check("require_verified_address", "Refuse sign-in until an address is verified")}
        {check("revoke_active_sessions", "End the other sessions after an account recovery")}

        <h3 style={{ margin: 0 }}>Redirects</h3>
        <label className="field">
          <span>Default return URL</span>
          <input
            name="default_browser_return_url"
            value={form.default_browser_return_url}
            placeholder={`${project.slug}: the project URL`}
            onChange={(e) => set("default_browser_return_url", e.target.value)}
            disabled={!admin}
            {...invalid("default_browser_return_url")}
          />
          {errFor("default_browser_return_url")}
        </label>
        <label className="field">
          <span>Allowed return URLs (one per line)</span>
          <textarea
            name="allowed_return_urls"
            rows={4}
            value={form.allowed_return_urls}
            placeholder="https://app.example.com/"
            onChange={(e) => set("allowed_return_urls", e.target.value)}
            disabled={!admin}
            spellCheck={false}
            {...invalid("allowed_return_urls")}
          />
          <small className="muted">return_to may point at these besides the project URL; https://*.example.com allows every subdomain.</small>
          {errFor("allowed_return_urls")}
        </label>

        <h3 style={{ margin: 0 }}>Brute-force limits</h3>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Limit</th>
                <th className="num">Events</th>
                <th className="num">Per seconds</th>
                <th className="num">Burst</th>
              </tr>
            </thead>
            <tbody>
              {Object.keys(form.limits)
                .sort()
                .map((scope) => (
                  <tr key={scope}>
                    <td>
                      {limitWords[scope] ?? scope}
                      <br />
                      <code className="small muted">{scope}</code>
                      {errFor(`limits.${scope}`)}
                    </td>
                    {(["rate", "period_seconds", "burst"] as const).map((k) => (
                      <td key={k} className="num">
                        <input
                          type="number"
                          aria-label={`${scope} ${k.replace("_", " ")}`}
                          style={{ maxWidth: "8rem" }}
                          value={form.limits[scope]![k]}
                          disabled={!admin}
                          {...(fieldErr?.key === `limits.${scope}.${k}` ? { "aria-invalid": true } : {})}
                          onChange={(e) => set("limits", { ...form.limits, [scope]: { ...form.limits[scope]!, [k]: e.target.value } })}
                        />
                      </td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        {admin ? (
          <button type="submit" className="btn btn-primary" disabled={act.busy}>
            Save the authentication settings
          </button>
        ) : (
          <p className="muted small">You can read these settings; an admin or owner of the workspace can change them.</p>
        )}
        <p className="muted small">Sign-in and sign-up use a change at once; sessions within a few seconds.</p>
      </form>
      <CORSPanel project={project} admin={admin} />
    </>
  );
}

function CORSPanel({ project, admin }: { project: Project; admin: boolean }) {
  const path = `/api/v1/projects/${project.id}/cors`;
  const cors = useLoad(() => send<Schemas["corsPolicy"]>("GET", path), [project.id]);
  const [text, setText] = useState<string | undefined>();
  const [notice, setNotice] = useState("");
  const act = useAction();
  useEffect(() => {
    if (cors.data) setText(cors.data.allowed_origins.join("\n"));
  }, [cors.data]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setNotice("");
    const origins = (text ?? "")
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
    const saved = await act.run(() => send<Schemas["corsPolicy"]>("PUT", path, JSON.stringify({ allowed_origins: origins })));
    if (saved) {
      cors.set(saved);
      setNotice("The allowed origins were saved.");
    }
  };
  return (
    <form className="panel form" onSubmit={save} aria-label="Allowed origins (CORS)">
      <h2>Allowed origins (CORS)</h2>
      <p className="muted small">Web apps on these origins may call the project's public API from the browser with cookies. The project's own origin always may.</p>
      {cors.error && <ErrorText error={cors.error} onRetry={() => void cors.reload()} />}
      {notice && <Notice>{notice}</Notice>}
      <ErrorText error={act.error} />
      {text === undefined ? (
        !cors.error && <Loading />
      ) : (
        <label className="field">
          <span>Origins (one per line)</span>
          <textarea name="allowed_origins" rows={3} value={text} placeholder="https://app.example.com" spellCheck={false} disabled={!admin} onChange={(e) => setText(e.target.value)} />
        </label>
      )}
      {admin && (
        <button type="submit" className="btn btn-primary" disabled={act.busy || text === undefined}>
          Save the origins
        </button>
      )}
    </form>
  );
}
