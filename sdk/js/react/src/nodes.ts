import type { AnyFlow, SubmitBody, UiNode, UiNodeInputAttributes } from "@lanyard/client";

/** The values a form holds, by node name (text inputs as strings, checkboxes as booleans). */
export type Values = Record<string, string | boolean>;

export function isInput(node: UiNode): node is UiNode & { attributes: UiNodeInputAttributes } {
  return node.attributes.node_type === "input";
}

export function isButton(a: UiNodeInputAttributes): boolean {
  return a.type === "submit" || a.type === "button";
}

/**
 * initialValues are the values a form shows for a flow: the server's
 * (hidden nodes such as csrf_token always), else what the person typed
 * before (`kept`), so input survives an answer with errors or a replaced
 * flow. Passwords are never kept across answers.
 */
export function initialValues(flow: AnyFlow, kept: Values = {}): Values {
  const v: Values = {};
  for (const n of flow.ui.nodes) {
    if (!isInput(n)) continue;
    const a = n.attributes;
    if (isButton(a)) continue;
    if (a.type === "checkbox") {
      v[a.name] = a.value !== undefined && a.value !== null ? a.value === true || a.value === "true" : kept[a.name] === true;
      continue;
    }
    const server = a.value === undefined || a.value === null ? "" : String(a.value);
    if (a.type === "hidden" || server !== "") v[a.name] = server;
    else if (a.type !== "password" && typeof kept[a.name] === "string") v[a.name] = kept[a.name] as string;
    else v[a.name] = "";
  }
  return v;
}

// setDotted sets obj.a.b.c = value for the name "a.b.c" (the way Kratos
// nests form names like traits.name.first).
function setDotted(obj: Record<string, unknown>, name: string, value: unknown) {
  const parts = name.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (!next || typeof next !== "object") cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * buildBody makes the JSON submit body of a form: every input of `nodes`
 * except buttons, plus the button that was pressed (its name and value,
 * e.g. method=password, or email=<address> for "resend code"). Empty text
 * fields are left out; numbers are sent as numbers, checkboxes as booleans.
 */
export function buildBody(nodes: UiNode[], values: Values, submitter?: { name: string; value: string }): SubmitBody {
  const body: Record<string, unknown> = {};
  for (const n of nodes) {
    if (!isInput(n)) continue;
    const a = n.attributes;
    if (isButton(a)) continue;
    const raw = a.type === "hidden" ? (a.value ?? "") : values[a.name];
    if (a.type === "checkbox") {
      setDotted(body, a.name, raw === true);
      continue;
    }
    if (raw === undefined || raw === "" || raw === false) continue;
    if (a.type === "number" && typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw))) {
      setDotted(body, a.name, Number(raw));
      continue;
    }
    setDotted(body, a.name, typeof raw === "string" ? raw : String(raw));
  }
  if (submitter) setDotted(body, submitter.name, submitter.value);
  if (typeof body.method !== "string") {
    // A form without a method button (a single hidden method node is the usual case) still needs one.
    const m = nodes.find((n) => isInput(n) && n.attributes.name === "method");
    body.method = m && isInput(m) ? String(m.attributes.value ?? "") : "";
  }
  return body as SubmitBody;
}

/** The first submit button of nodes, used when a form is submitted without one (Enter in a field). */
export function firstSubmit(nodes: UiNode[]): { name: string; value: string } | undefined {
  for (const n of nodes) {
    if (isInput(n) && n.attributes.type === "submit") return { name: n.attributes.name, value: String(n.attributes.value ?? "") };
  }
  return undefined;
}
