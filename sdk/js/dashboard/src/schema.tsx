// The identity schema of a project: a JSON editor with line numbers, the
// server's error at its line, presets, and a live preview of the sign-up
// form the schema produces (the traits rendered as @lanyard/react nodes).
import { useEffect, useMemo, useRef, useState } from "react";
import { Node } from "@lanyard/react";
import type { UiNode } from "@lanyard/client";
import { can, type Project } from "./api.js";
import { Link, useTitle } from "./router.js";
import { DetailedError, send } from "./settings.js";
import { useShell } from "./shell.js";
import { ErrorText, Loading, Notice, PageHeader, useAction, useLoad } from "./ui.js";

interface StoredSchema {
  id: string;
  schema: unknown;
}

const draft = "http://json-schema.org/draft-07/schema#";
const passwordId = { credentials: { password: { identifier: true } } };
const emailExt = { credentials: { password: { identifier: true }, code: { identifier: true, via: "email" } }, verification: { via: "email" }, recovery: { via: "email" } };

/** Presets: common identity schemas an editor starts from. */
export const presets: Record<string, { label: string; schema: object }> = {
  "email-password": {
    label: "Email and password",
    schema: {
      $schema: draft,
      title: "Person",
      type: "object",
      properties: {
        traits: {
          type: "object",
          properties: { email: { type: "string", format: "email", title: "Email", maxLength: 320, "ory.sh/kratos": emailExt } },
          required: ["email"],
          additionalProperties: false,
        },
      },
    },
  },
  "username-password": {
    label: "Username and password",
    schema: {
      $schema: draft,
      title: "Person",
      type: "object",
      properties: {
        traits: {
          type: "object",
          properties: { username: { type: "string", title: "Username", minLength: 3, maxLength: 64, "ory.sh/kratos": passwordId } },
          required: ["username"],
          additionalProperties: false,
        },
      },
    },
  },
  "email-name": {
    label: "Email, first and last name",
    schema: {
      $schema: draft,
      title: "Person",
      type: "object",
      properties: {
        traits: {
          type: "object",
          properties: {
            email: { type: "string", format: "email", title: "Email", maxLength: 320, "ory.sh/kratos": emailExt },
            name: {
              type: "object",
              properties: {
                first: { type: "string", title: "First name", maxLength: 100 },
                last: { type: "string", title: "Last name", maxLength: 100 },
              },
            },
          },
          required: ["email"],
          additionalProperties: false,
        },
      },
    },
  },
};

type Json = Record<string, unknown>;

function deref(root: Json, node: Json | undefined): Json | undefined {
  for (let i = 0; node && i < 8; i++) {
    const ref = node.$ref;
    if (typeof ref !== "string" || !ref.startsWith("#/")) return node;
    let cur: unknown = root;
    for (const part of ref.slice(2).split("/")) cur = (cur as Json | undefined)?.[part];
    if (!cur || typeof cur !== "object") return node;
    node = cur as Json;
  }
  return node;
}

function inputType(p: Json): string {
  const t = Array.isArray(p.type) ? p.type[0] : p.type;
  if (t === "number" || t === "integer") return "number";
  if (t === "boolean") return "checkbox";
  switch (p.format) {
    case "email":
      return "email";
    case "tel":
      return "tel";
    case "date":
      return "date";
    case "date-time":
      return "datetime-local";
    case "uri":
    case "url":
      return "url";
  }
  return "text";
}

function hasPasswordIdentifier(node: Json | undefined, root: Json, depth = 0): boolean {
  node = deref(root, node);
  if (!node || depth > 16) return false;
  const ext = node["ory.sh/kratos"] as { credentials?: { password?: { identifier?: boolean } } } | undefined;
  if (ext?.credentials?.password?.identifier) return true;
  const props = node.properties as Record<string, Json> | undefined;
  return !!props && Object.values(props).some((p) => hasPasswordIdentifier(p, root, depth + 1));
}

/**
 * registrationNodes renders the sign-up form of a schema as the server
 * does: one input per leaf trait (dotted names for nested objects), typed
 * from type and format, labelled with the title, required where the
 * enclosing objects require it; then the password and the button.
 */
export function registrationNodes(schema: unknown): UiNode[] {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return [];
  const root = schema as Json;
  const traits = deref(root, (root.properties as Json | undefined)?.traits as Json | undefined);
  if (!traits) return [];
  const out: UiNode[] = [];
  const walk = (obj: Json, prefix: string, parentRequired: boolean, depth: number) => {
    const props = (obj.properties ?? {}) as Record<string, Json>;
    const req = new Set(Array.isArray(obj.required) ? (obj.required as string[]) : []);
    for (const [k, raw] of Object.entries(props)) {
      const p = deref(root, raw);
      if (!p || typeof p !== "object") continue;
      const name = `${prefix}.${k}`;
      const required = parentRequired && req.has(k);
      if (p.type === "object") {
        if (depth < 8) walk(p, name, required, depth + 1);
        continue;
      }
      const title = typeof p.title === "string" && p.title ? p.title : k;
      const label = { id: 1070002, text: title, type: "info" as const, context: { title, name } as unknown as Record<string, never> };
      out.push({
        type: "input",
        group: "default",
        attributes: {
          name,
          type: inputType(p) as "text",
          required,
          disabled: false,
          node_type: "input",
          ...(typeof p.pattern === "string" ? { pattern: p.pattern } : {}),
          ...(p.format === "email" ? { autocomplete: "email" } : {}),
        },
        messages: [],
        meta: { label },
      });
    }
  };
  walk(traits, "traits", true, 0);
  if (out.length === 0) return out;
  if (hasPasswordIdentifier(traits, root)) {
    out.push({
      type: "input",
      group: "password",
      attributes: { name: "password", type: "password", required: true, autocomplete: "new-password", disabled: false, node_type: "input" },
      messages: [],
      meta: { label: { id: 1070001, text: "Password", type: "info" } },
    });
  }
  out.push({
    type: "input",
    group: "password",
    attributes: { name: "method", type: "submit", value: "password", disabled: false, node_type: "input" },
    messages: [],
    meta: { label: { id: 1040001, text: "Sign up", type: "info" } },
  });
  return out;
}

/** parse reads the editor's text; the error has the line and column of the problem. */
function parse(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const mono = { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", fontSize: ".86rem", lineHeight: "1.45" } as const;

function Editor({
  value,
  onChange,
  errorLine,
  readOnly,
  focusAt,
}: {
  value: string;
  onChange: (v: string) => void;
  errorLine?: number;
  readOnly: boolean;
  focusAt?: { line: number; column: number; n: number };
}) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const lines = value.split("\n").length;
  useEffect(() => {
    // Put the caret at the server's error.
    if (!focusAt || !ta.current) return;
    const rows = value.split("\n");
    let off = 0;
    for (let i = 0; i < focusAt.line - 1 && i < rows.length; i++) off += rows[i]!.length + 1;
    off += Math.max(0, focusAt.column - 1);
    ta.current.focus();
    ta.current.setSelectionRange(off, off);
  }, [focusAt]);
  return (
    <div style={{ display: "flex", border: "1px solid #98a2b3", borderRadius: 8, overflow: "hidden", background: "#fff", height: "28rem" }}>
      <div ref={gutter} aria-hidden="true" data-testid="gutter" style={{ ...mono, overflow: "hidden", background: "#f9fafb", color: "#98a2b3", textAlign: "right", padding: ".5rem .4rem", minWidth: "3rem", userSelect: "none", borderRight: "1px solid #eaecf0" }}>
        {Array.from({ length: lines }, (_, i) => (
          <div
            key={i}
            data-line={i + 1}
            className={errorLine === i + 1 ? "error-line" : undefined}
            style={errorLine === i + 1 ? { background: "#fee4e2", color: "var(--danger)", fontWeight: 700, margin: "0 -.4rem", padding: "0 .4rem" } : undefined}
          >
            {errorLine === i + 1 ? "▶ " : ""}
            {i + 1}
          </div>
        ))}
      </div>
      <textarea
        ref={ta}
        aria-label="Identity schema (JSON)"
        value={value}
        readOnly={readOnly}
        spellCheck={false}
        wrap="off"
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          if (e.key !== "Tab" || readOnly) return;
          e.preventDefault();
          const t = e.currentTarget;
          const s = t.selectionStart;
          onChange(t.value.slice(0, s) + "  " + t.value.slice(t.selectionEnd));
          requestAnimationFrame(() => t.setSelectionRange(s + 2, s + 2));
        }}
        style={{ ...mono, border: 0, borderRadius: 0, resize: "none", flex: 1, padding: ".5rem .65rem", outline: "none", whiteSpace: "pre", overflow: "auto" }}
      />
    </div>
  );
}

function Preview({ text }: { text: string }) {
  const parsed = useMemo(() => parse(text), [text]);
  const nodes = useMemo(() => registrationNodes(parsed.value), [parsed.value]);
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  return (
    <section className="panel" aria-label="Sign-up form preview" data-testid="preview">
      <h2>Sign-up form preview</h2>
      {parsed.error ? (
        <p className="muted">The preview appears when the JSON is valid.</p>
      ) : nodes.length === 0 ? (
        <p className="muted">The schema has no traits to ask for (properties.traits.properties).</p>
      ) : (
        <form className="lanyard-form" onSubmit={(e) => e.preventDefault()}>
          {nodes.map((n) => {
            const a = n.attributes as { name: string };
            return <Node key={a.name + n.group} node={n} idPrefix="preview" value={values[a.name]} onChange={(name, v) => setValues((s) => ({ ...s, [name]: v }))} />;
          })}
        </form>
      )}
      <p className="muted small">A preview of the fields only: the sign-up form of a project also shows the methods it offers.</p>
    </section>
  );
}

/** SchemaPage edits the project's identity schemas. */
export function SchemaPage({ project }: { project: Project }) {
  useTitle(`Identity schema · ${project.name}`);
  const { role } = useShell();
  const admin = can.admin(role);
  const base = `/api/v1/projects/${project.id}/schemas`;
  const list = useLoad(() => send<StoredSchema[]>("GET", base), [project.id]);
  const [selected, setSelected] = useState<string | undefined>();
  const [text, setText] = useState("");
  const [errorAt, setErrorAt] = useState<{ line: number; column: number; n: number } | undefined>();
  const [notice, setNotice] = useState("");
  const [preset, setPreset] = useState("");
  const act = useAction();

  const current = list.data?.find((s) => s.id === selected) ?? list.data?.[0];
  useEffect(() => {
    if (current) setText(JSON.stringify(current.schema, null, 2));
    setErrorAt(undefined);
  }, [current?.id, list.data]);

  const local = useMemo(() => parse(text), [text]);
  const edit = (v: string) => {
    setText(v);
    setNotice("");
  };
  const save = async () => {
    if (!current) return;
    setNotice("");
    setErrorAt(undefined);
    // The first schema of the list is the project's default.
    const isDefault = list.data?.[0]?.id === current.id;
    const saved = await act.run(async () => {
      try {
        return await send<StoredSchema>("PUT", `${base}/${encodeURIComponent(current.id)}${isDefault ? "?default=true" : ""}`, text);
      } catch (e) {
        const d = e instanceof DetailedError ? e.details : {};
        if (typeof d.line === "number") setErrorAt({ line: d.line, column: Number(d.column ?? 1), n: Date.now() });
        throw e;
      }
    });
    if (saved) {
      setNotice(`The schema ${saved.id} was saved. New sign-ups use it at once; existing users are checked against it on their next change.`);
      void list.reload();
    }
  };

  return (
    <>
      <PageHeader title="Identity schema">
        <Link className="btn" to={`/projects/${project.id}/settings`}>
          Project settings
        </Link>
      </PageHeader>
      {list.error && <ErrorText error={list.error} onRetry={() => void list.reload()} />}
      {!list.data ? (
        !list.error && <Loading what="Loading the schema" />
      ) : !current ? (
        <p className="empty">This project has no identity schema.</p>
      ) : (
        <div style={{ display: "grid", gridTemplateColumns: "minmax(0, 3fr) minmax(16rem, 2fr)", gap: "1.25rem", alignItems: "start" }}>
          <section className="panel form" aria-label="Schema editor">
            <div className="row wrap" style={{ justifyContent: "space-between" }}>
              {list.data.length > 1 ? (
                <label className="field inline">
                  <span>Schema</span>
                  <select value={current.id} onChange={(e) => setSelected(e.target.value)}>
                    {list.data.map((s, i) => (
                      <option key={s.id} value={s.id}>
                        {s.id}
                        {i === 0 ? " (default)" : ""}
                      </option>
                    ))}
                  </select>
                </label>
              ) : (
                <p style={{ margin: 0 }}>
                  Schema <code>{current.id}</code> (default)
                </p>
              )}
              {admin && (
                <label className="field inline">
                  <span>Start from a preset</span>
                  <select
                    aria-label="Preset"
                    value={preset}
                    onChange={(e) => {
                      const p = presets[e.target.value];
                      setPreset("");
                      if (p) {
                        edit(JSON.stringify(p.schema, null, 2));
                        setErrorAt(undefined);
                      }
                    }}
                  >
                    <option value="">Choose…</option>
                    {Object.entries(presets).map(([k, p]) => (
                      <option key={k} value={k}>
                        {p.label}
                      </option>
                    ))}
                  </select>
                </label>
              )}
            </div>
            {notice && <Notice>{notice}</Notice>}
            <ErrorText error={act.error} />
            {errorAt && (
              <p style={{ margin: 0, color: "var(--danger)" }} data-testid="error-position">
                Line {errorAt.line}, column {errorAt.column}
              </p>
            )}
            <Editor value={text} onChange={edit} errorLine={errorAt?.line} readOnly={!admin} focusAt={errorAt} />
            {local.error && !errorAt && <p className="muted small">Not valid JSON yet: {local.error}</p>}
            {admin ? (
              <div className="row">
                <button type="button" className="btn btn-primary" onClick={save} disabled={act.busy}>
                  Save the schema
                </button>
                <button type="button" className="btn" onClick={() => edit(JSON.stringify(current.schema, null, 2))} disabled={act.busy}>
                  Revert
                </button>
              </div>
            ) : (
              <p className="muted small">You can read the schema; an admin or owner of the workspace can change it.</p>
            )}
            <p className="muted small">
              Traits marked <code>"ory.sh/kratos": {"{"}"credentials": {"{"}"password": {"{"}"identifier": true{"}}}"}</code> are what users sign in with; at least one is
              needed.
            </p>
          </section>
          <Preview text={text} />
        </div>
      )}
    </>
  );
}
