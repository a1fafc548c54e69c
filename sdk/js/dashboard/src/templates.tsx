// The mail templates of a project, on its Email page: pick a template type
// (and a language), edit the subject and the text and HTML bodies starting
// from the project's override or the built-in default, preview them with
// sample data, save them or go back to the default.
import { useEffect, useState, type FormEvent } from "react";
import { useShell } from "./shell.js";
import { can } from "./api.js";
import { request, SettingsError } from "./hooks.js";
import { ErrorText, Loading, Notice, useAction, useLoad, When } from "./ui.js";

interface Source {
  subject: string;
  body_text: string;
  body_html: string;
}

interface Stored extends Source {
  template_type: string;
  locale: string;
  updated_at: string;
}

interface TypeInfo {
  template_type: string;
  overridden: boolean;
  locales: string[];
  default: Source;
}

interface List {
  templates: Stored[];
  types: TypeInfo[];
}

/** What each template type is for, in words. */
const typeNames: Record<string, string> = {
  verification_code_valid: "Verification code",
  verification_code_invalid: "Verification attempt for an unknown address",
  verification_valid: "Verification link",
  verification_invalid: "Verification link for an unknown address",
  recovery_code_valid: "Recovery code",
  recovery_code_invalid: "Recovery attempt for an unknown address",
  recovery_valid: "Recovery link",
  recovery_invalid: "Recovery link for an unknown address",
  login_code_valid: "Sign-in code",
  registration_code_valid: "Sign-up code",
  generic: "Generic message",
};

const partNames: Record<string, string> = { subject: "subject", body_text: "text body", body_html: "HTML body" };

/** templateError says in words what is wrong with a template and where. */
function templateError(e: Error | undefined): string | undefined {
  if (!e) return undefined;
  if (e instanceof SettingsError && e.id === "invalid_template") {
    const part = partNames[String(e.details?.part ?? "")] ?? "template";
    const line = e.details?.line ? ` (line ${String(e.details.line)})` : "";
    return `There is a problem in the ${part}${line}: ${e.message} Nothing was saved.`;
  }
  return e.message;
}

const mono = { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", fontSize: ".88em", width: "100%" };

export function Templates({ base }: { base: string }) {
  const { role } = useShell();
  const admin = can.admin(role);
  const list = useLoad(() => request<List>("GET", `${base}/templates`).then((r) => r.data), [base]);
  const [type, setType] = useState("verification_code_valid");
  const [locale, setLocale] = useState("");
  const [form, setForm] = useState<Source>({ subject: "", body_text: "", body_html: "" });
  const [preview, setPreview] = useState<Source | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const act = useAction();
  const pv = useAction();

  const loc = locale.trim().toLowerCase();
  const info = list.data?.types.find((t) => t.template_type === type);
  const stored = list.data?.templates.find((t) => t.template_type === type && t.locale === loc);
  const path = `${base}/templates/${encodeURIComponent(type)}`;

  const render = async (src: Source) => {
    const r = await pv.run(() => request<Source>("POST", `${path}/preview`, { locale: loc, ...src }));
    setPreview(r?.data);
  };

  // Another type or language: earlier messages no longer apply.
  useEffect(() => {
    setNotice(undefined);
    act.setError(undefined);
  }, [type, loc]);
  // The editors start from the override or the default (again after a save or reset).
  useEffect(() => {
    if (!info) return;
    const src = stored ? { subject: stored.subject, body_text: stored.body_text, body_html: stored.body_html } : info.default;
    setForm(src);
    void render(src);
  }, [info, stored?.updated_at, type, loc]);

  const set = (k: keyof Source, v: string) => setForm((f) => ({ ...f, [k]: v }));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setNotice(undefined);
    const r = await act.run(() => request<Stored>("PUT", `${path}/${encodeURIComponent(loc || "default")}`, form));
    if (r) {
      await list.reload();
      setNotice(`The ${typeNames[type] ?? type} template${loc ? ` (${loc})` : ""} was saved. Mail of this type now uses it.`);
    }
  };
  const reset = async () => {
    setNotice(undefined);
    const r = await act.run(() => request("DELETE", `${path}/${encodeURIComponent(loc || "default")}`));
    if (r) {
      await list.reload();
      setNotice("The template is back to the built-in default.");
    }
  };

  return (
    <section className="section-title" aria-label="Email templates">
      <h2>Templates</h2>
      <p className="muted small">
        Templates use Go template syntax with the Kratos variables, such as {"{{.To}}"}, {"{{.VerificationCode}}"}, {"{{.RecoveryURL}}"} or{" "}
        {"{{.Identity.traits.email}}"}. An empty HTML body sends a text-only email.
      </p>
      <ErrorText error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading what="Loading the email templates" />}
      {list.data && (
        <form className="panel form" onSubmit={save} aria-label="Email template">
          <div className="row" style={{ alignItems: "flex-end", flexWrap: "wrap" }}>
            <label className="field grow">
              <span>Template</span>
              <select value={type} onChange={(e) => setType(e.target.value)} data-testid="template-type">
                {list.data.types.map((t) => (
                  <option key={t.template_type} value={t.template_type}>
                    {typeNames[t.template_type] ?? t.template_type}
                    {t.overridden ? " (customized)" : ""}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Language</span>
              <input
                value={locale}
                onChange={(e) => setLocale(e.target.value)}
                placeholder="default"
                list="template-locales"
                style={{ width: "9rem" }}
                data-testid="template-locale"
              />
              <datalist id="template-locales">
                {info?.locales.filter((l) => l !== "").map((l) => <option key={l} value={l} />)}
              </datalist>
            </label>
            <span className="tag" data-testid="template-mode">
              {stored ? "Customized" : "Built-in default"}
            </span>
          </div>
          <p className="muted small">
            {loc ? `Sent to users whose traits.locale is ${loc} (or a variant of it).` : "Sent when no template matches the user's language."}
            {stored && (
              <>
                {" "}
                Last changed <When at={stored.updated_at} />.
              </>
            )}
          </p>
          {act.error && <ErrorText error={templateError(act.error)} />}
          {notice && <Notice>{notice}</Notice>}
          <label className="field">
            <span>Subject</span>
            <input value={form.subject} onChange={(e) => set("subject", e.target.value)} readOnly={!admin} spellCheck={false} data-testid="template-subject" />
          </label>
          <label className="field">
            <span>Text body</span>
            <textarea value={form.body_text} onChange={(e) => set("body_text", e.target.value)} readOnly={!admin} rows={8} spellCheck={false} style={mono} data-testid="template-text" />
          </label>
          <label className="field">
            <span>HTML body</span>
            <textarea value={form.body_html} onChange={(e) => set("body_html", e.target.value)} readOnly={!admin} rows={10} spellCheck={false} style={mono} data-testid="template-html" />
          </label>
          <div className="row">
            <button type="button" className="btn" onClick={() => void render(form)} disabled={pv.busy}>
              {pv.busy ? "Rendering…" : "Preview"}
            </button>
            {admin && (
              <button type="submit" className="btn btn-primary" disabled={act.busy}>
                {act.busy ? "Saving…" : "Save template"}
              </button>
            )}
            {admin && stored && (
              <button type="button" className="btn btn-danger-outline" onClick={reset} disabled={act.busy}>
                Reset to default
              </button>
            )}
          </div>
          {!admin && <p className="muted small">You have read-only access: an owner or admin of the workspace can change the templates.</p>}
          {pv.error && <ErrorText error={templateError(pv.error)?.replace(" Nothing was saved.", "")} />}
          {preview && !pv.error && (
            <div data-testid="template-preview" aria-label="Preview">
              <h3>Preview (sample data)</h3>
              <p>
                <strong>Subject:</strong> <span data-testid="template-preview-subject">{preview.subject}</span>
              </p>
              {preview.body_html ? (
                <iframe
                  title="HTML preview"
                  sandbox=""
                  srcDoc={preview.body_html}
                  data-testid="template-preview-html"
                  style={{ width: "100%", height: "20rem", border: "1px solid #d0d5dd", borderRadius: 8, background: "#fff" }}
                />
              ) : (
                <p className="muted small">No HTML body: the email is sent as text only.</p>
              )}
              <details>
                <summary>Text version</summary>
                <pre style={{ whiteSpace: "pre-wrap" }}>{preview.body_text}</pre>
              </details>
            </div>
          )}
        </form>
      )}
    </section>
  );
}
