// @lanyard/client: a typed client for a Lanyard project's API. The types in
// schema.ts are generated from Lanyard's OpenAPI document (npm run generate);
// this file adds the self-service flow helpers most applications need.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths, operations } from "./schema.js";

type Schemas = components["schemas"];
type JSONOf<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** A UI text: a message id, its English text and the context translations fill placeholders from. */
export type UiText = Omit<Schemas["uiText"], "context"> & { context?: Record<string, unknown> };
export type UiNode = Schemas["uiNode"];
export type UiContainer = Schemas["uiContainer"];
export type UiNodeInputAttributes = Schemas["uiNodeInputAttributes"];
export type UiNodeTextAttributes = Schemas["uiNodeTextAttributes"];
export type UiNodeImageAttributes = Schemas["uiNodeImageAttributes"];
export type UiNodeAnchorAttributes = Schemas["uiNodeAnchorAttributes"];
export type UiNodeScriptAttributes = Schemas["uiNodeScriptAttributes"];
export type ContinueWith = Schemas["continueWith"];
export type Session = Schemas["session"];
export type Identity = Schemas["identity"];
export type ErrorObject = Schemas["errorObject"];
export type SelfServiceError = Schemas["errorSelfService"];
export type LogoutFlow = Schemas["logoutFlow"];
export type LoginFlow = Schemas["loginFlow"];
export type RegistrationFlow = Schemas["registrationFlow"];
export type SettingsFlow = Schemas["settingsFlow"];
export type VerificationFlow = JSONOf<paths["/self-service/verification/flows"]["get"]["responses"][200]>;
export type RecoveryFlow = JSONOf<paths["/self-service/recovery/flows"]["get"]["responses"][200]>;
export type SuccessfulLogin = Schemas["successfulLogin"];
export type SuccessfulRegistration = Schemas["successfulRegistration"];

/** The five self-service flows. */
export type FlowKind = "login" | "registration" | "settings" | "verification" | "recovery";
export const flowKinds: readonly FlowKind[] = ["login", "registration", "settings", "verification", "recovery"];

/** A browser flow (cookies + CSRF) or an API flow (session tokens). */
export type FlowType = "browser" | "api";

export interface FlowByKind {
  login: LoginFlow;
  registration: RegistrationFlow;
  settings: SettingsFlow;
  verification: VerificationFlow;
  recovery: RecoveryFlow;
}
export type AnyFlow = FlowByKind[FlowKind];

/** What a 200 answer to a submit carries, per kind. */
export interface SuccessByKind {
  login: SuccessfulLogin;
  registration: SuccessfulRegistration;
  settings: SettingsFlow;
  verification: VerificationFlow;
  recovery: RecoveryFlow;
}

/** The JSON body of a submit: `method` plus the form's fields, nested. */
export type SubmitBody = { method: string; csrf_token?: string } & Record<string, unknown>;

/** The outcome of a submit, one case per answer the API documents. */
export type SubmitResult<K extends FlowKind> =
  /** 200: done (login, registration) or the updated flow (settings, verification, recovery). */
  | { type: "success"; status: number; data: SuccessByKind[K]; continueWith: ContinueWith[] }
  /** 400 with the flow: validation messages, values kept, a fresh CSRF token. */
  | { type: "invalid"; status: number; flow: FlowByKind[K] }
  /** 410: the flow expired; `flow` is its replacement (carrying the expiry message). */
  | { type: "expired"; status: number; flow: FlowByKind[K]; error: SelfServiceError }
  /** 422 browser_location_change_required: send the browser to `to`. */
  | { type: "redirect"; status: number; to: string; error: SelfServiceError }
  /** Any other error (CSRF violation, session already available, rate limit, ...). */
  | { type: "error"; status: number; error: SelfServiceError };

/** An error answer of the API, in the Kratos envelope. */
export class LanyardError extends Error {
  readonly status: number;
  readonly body: SelfServiceError | undefined;
  constructor(status: number, body: SelfServiceError | undefined, what: string) {
    const e = body?.error;
    super(`${what}: ${status}${e?.id ? ` ${e.id}` : ""}${e?.reason ? `: ${e.reason}` : e?.message ? `: ${e.message}` : ""}`);
    this.name = "LanyardError";
    this.status = status;
    this.body = body;
  }
  /** The Kratos error id (security_csrf_violation, self_service_flow_expired, ...). */
  get id(): string | undefined {
    return this.body?.error?.id;
  }
}

export interface LanyardClientOptions {
  /** The project's public URL, e.g. https://my-project.example.com or https://host/p/<slug>. */
  baseUrl: string;
  /** fetch to use (default: globalThis.fetch). */
  fetch?: (input: Request) => Promise<Response>;
  /** A session token (string or getter) for API flows and native apps; sent as X-Session-Token. */
  sessionToken?: string | (() => string | undefined | null);
  /** Extra headers for every request. */
  headers?: Record<string, string>;
}

const flowPaths = {
  login: { browser: "/self-service/login/browser", api: "/self-service/login/api", get: "/self-service/login/flows", submit: "/self-service/login" },
  registration: {
    browser: "/self-service/registration/browser",
    api: "/self-service/registration/api",
    get: "/self-service/registration/flows",
    submit: "/self-service/registration",
  },
  settings: {
    browser: "/self-service/settings/browser",
    api: "/self-service/settings/api",
    get: "/self-service/settings/flows",
    submit: "/self-service/settings",
  },
  verification: {
    browser: "/self-service/verification/browser",
    api: "/self-service/verification/api",
    get: "/self-service/verification/flows",
    submit: "/self-service/verification",
  },
  recovery: {
    browser: "/self-service/recovery/browser",
    api: "/self-service/recovery/api",
    get: "/self-service/recovery/flows",
    submit: "/self-service/recovery",
  },
} as const satisfies Record<FlowKind, Record<"browser" | "api" | "get" | "submit", keyof paths>>;

// The helpers below pick a path by kind at run time; the typed results come
// from FlowByKind / SuccessByKind, and `satisfies` above keeps every path a
// documented one.
type Loose = {
  GET(path: string, init: object): Promise<{ data?: unknown; error?: unknown; response: Response }>;
  POST(path: string, init: object): Promise<{ data?: unknown; error?: unknown; response: Response }>;
  DELETE(path: string, init: object): Promise<{ data?: unknown; error?: unknown; response: Response }>;
};

/** Reads the value of the csrf_token node of a flow ("" when there is none). */
export function csrfToken(flow: { ui: UiContainer }): string {
  for (const n of flow.ui.nodes) {
    const a = n.attributes as Partial<UiNodeInputAttributes>;
    if (a.node_type === "input" && a.name === "csrf_token" && typeof a.value === "string") return a.value;
  }
  return "";
}

/** Whether a JSON answer is a flow (has ui nodes) rather than an error envelope. */
export function isFlow(x: unknown): x is AnyFlow {
  return !!x && typeof x === "object" && "ui" in x && "id" in x;
}

/** The flow id in a URL's ?flow= (default: the current page's). */
export function flowIdFromUrl(url?: string | URL): string | undefined {
  const u = url ? new URL(url) : typeof location !== "undefined" ? new URL(location.href) : undefined;
  return u?.searchParams.get("flow") || undefined;
}

export interface CreateFlowOptions {
  /** Browser flows (default) keep the CSRF cookie; API flows are for native apps. */
  type?: FlowType;
  /** Where the browser goes when the flow is done (must be on the project's allow-list). */
  returnTo?: string;
  /** Login only: re-authenticate although a session exists. */
  refresh?: boolean;
  /** Login only: the assurance level to reach. */
  aal?: "aal1" | "aal2";
}

export type LanyardClient = ReturnType<typeof createLanyardClient>;

/**
 * createLanyardClient returns the typed openapi-fetch client (`api`) for a
 * project and the flow helpers. Browser calls send cookies
 * (credentials: "include") and ask for JSON.
 */
export function createLanyardClient(options: LanyardClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const api: Client<paths> = createClient<paths>({
    baseUrl,
    credentials: "include",
    headers: { Accept: "application/json", ...options.headers },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const token = () => (typeof options.sessionToken === "function" ? options.sessionToken() : options.sessionToken) || undefined;
  const auth: Middleware = {
    onRequest({ request }) {
      const t = token();
      if (t && !request.headers.has("X-Session-Token")) request.headers.set("X-Session-Token", t);
      return request;
    },
  };
  api.use(auth);
  const loose = api as unknown as Loose;

  /** Creates a flow: GET /self-service/<kind>/{browser|api}. Throws LanyardError on an error answer. */
  async function createFlow<K extends FlowKind>(kind: K, opts: CreateFlowOptions = {}): Promise<FlowByKind[K]> {
    const query: Record<string, string | boolean> = {};
    if (opts.returnTo) query.return_to = opts.returnTo;
    if (kind === "login" && opts.refresh) query.refresh = true;
    if (kind === "login" && opts.aal) query.aal = opts.aal;
    const { data, error, response } = await loose.GET(flowPaths[kind][opts.type ?? "browser"], { params: { query } });
    if (!response.ok || !isFlow(data)) throw new LanyardError(response.status, error as SelfServiceError, `create ${kind} flow`);
    return data as FlowByKind[K];
  }

  /** Fetches a flow by id: GET /self-service/<kind>/flows?id=. Throws LanyardError (410 when expired, 403 on a CSRF mismatch, 404 unknown). */
  async function getFlow<K extends FlowKind>(kind: K, id: string): Promise<FlowByKind[K]> {
    const { data, error, response } = await loose.GET(flowPaths[kind].get, { params: { query: { id } } });
    if (!response.ok || !isFlow(data)) throw new LanyardError(response.status, error as SelfServiceError, `get ${kind} flow`);
    return data as FlowByKind[K];
  }

  /**
   * Loads the flow a page should show: the flow `id` when given and still
   * usable, else a new one. An expired flow (410) is replaced by the one
   * the API names (use_flow_id) or a new one; a flow of another browser
   * (403 CSRF) or an unknown one (404, 400) is replaced by a new one.
   */
  async function loadFlow<K extends FlowKind>(kind: K, id: string | undefined, opts: CreateFlowOptions = {}): Promise<FlowByKind[K]> {
    if (id) {
      try {
        return await getFlow(kind, id);
      } catch (e) {
        if (!(e instanceof LanyardError) || ![400, 403, 404, 410].includes(e.status)) throw e;
        if (e.status === 410 && e.body?.use_flow_id) return getFlow(kind, e.body.use_flow_id);
      }
    }
    return createFlow(kind, opts);
  }

  /**
   * Submits a flow: POST flow.ui.action with a JSON body. The CSRF token of
   * the flow is added when the body has none. Never throws for an answer
   * the API documents: see SubmitResult. A 410 comes back with the
   * replacement flow already fetched (use_flow_id, or a new flow).
   */
  async function submitFlow<K extends FlowKind>(kind: K, flow: FlowByKind[K], body: SubmitBody): Promise<SubmitResult<K>> {
    const full: SubmitBody = { ...body };
    if (full.csrf_token === undefined) {
      const t = csrfToken(flow);
      if (t) full.csrf_token = t;
    }
    const { data, error, response } = await loose.POST(flowPaths[kind].submit, {
      params: { query: { flow: flow.id } },
      body: full,
    });
    const status = response.status;
    if (response.ok) {
      const d = data as SuccessByKind[K];
      const cw = (d as { continue_with?: ContinueWith[] | null }).continue_with ?? [];
      return { type: "success", status, data: d, continueWith: cw };
    }
    if (status === 400 && isFlow(error)) return { type: "invalid", status, flow: error as FlowByKind[K] };
    const err = (error ?? { error: { code: status, status: response.statusText, message: response.statusText } }) as SelfServiceError;
    if (status === 410) {
      const next = err.use_flow_id
        ? await getFlow(kind, err.use_flow_id)
        : await createFlow(kind, { type: flow.type, returnTo: flow.return_to });
      return { type: "expired", status, flow: next, error: err };
    }
    if (status === 422 && err.redirect_browser_to) return { type: "redirect", status, to: err.redirect_browser_to, error: err };
    return { type: "error", status, error: err };
  }

  /** The current session (cookie or session token), or null when signed out (401). Throws LanyardError otherwise. */
  async function whoami(): Promise<Session | null> {
    const { data, error, response } = await api.GET("/sessions/whoami", {});
    if (response.status === 401) return null;
    if (!data) throw new LanyardError(response.status, error as SelfServiceError, "whoami");
    return data;
  }

  /**
   * Signs out. With a session token (API), DELETE /self-service/logout/api;
   * otherwise the browser logout flow is created and its logout URL called
   * (JSON: 204), which ends the session and clears the cookie. Signed out
   * already → resolves all the same.
   */
  async function logout(opts: { returnTo?: string } = {}): Promise<void> {
    const t = token();
    if (t) {
      const { error, response } = await api.DELETE("/self-service/logout/api", { body: { session_token: t } });
      if (!response.ok && response.status !== 403) throw new LanyardError(response.status, error as SelfServiceError, "logout");
      return;
    }
    const flow = await createLogoutFlow(opts);
    if (!flow) return;
    const f = options.fetch ?? ((r: Request) => globalThis.fetch(r));
    const res = await f(new Request(flow.logout_url, { credentials: "include", headers: { Accept: "application/json" } }));
    if (!res.ok && res.status !== 401) {
      throw new LanyardError(res.status, (await res.json().catch(() => undefined)) as SelfServiceError | undefined, "logout");
    }
  }

  /** The browser logout flow (logout_url, logout_token), or null when there is no session. */
  async function createLogoutFlow(opts: { returnTo?: string } = {}): Promise<LogoutFlow | null> {
    const { data, error, response } = await api.GET("/self-service/logout/browser", {
      params: { query: opts.returnTo ? { return_to: opts.returnTo } : {} },
    });
    if (response.status === 401) return null;
    if (!data) throw new LanyardError(response.status, error as SelfServiceError, "create logout flow");
    return data;
  }

  return { api, baseUrl, createFlow, getFlow, loadFlow, submitFlow, whoami, logout, createLogoutFlow };
}

/**
 * The next step after a successful submit, from its continue_with items,
 * in the order Ory's SDK ranks them: settings UI > recovery UI >
 * verification UI > redirect > session token.
 */
export type NextStep =
  | { action: "show_settings_ui" | "show_recovery_ui" | "show_verification_ui"; flowId: string; url?: string }
  | { action: "redirect_browser_to"; url: string }
  | { action: "set_ory_session_token"; token: string }
  | { action: "none" };

export function nextStep(items: ContinueWith[] | null | undefined): NextStep {
  const list = items ?? [];
  for (const action of ["show_settings_ui", "show_recovery_ui", "show_verification_ui"] as const) {
    const c = list.find((x) => x.action === action);
    if (c?.flow) return { action, flowId: c.flow.id, ...(c.flow.url ? { url: c.flow.url } : {}) };
  }
  const r = list.find((x) => x.action === "redirect_browser_to");
  if (r?.redirect_browser_to) return { action: "redirect_browser_to", url: r.redirect_browser_to };
  const t = list.find((x) => x.action === "set_ory_session_token");
  if (t?.ory_session_token) return { action: "set_ory_session_token", token: t.ory_session_token };
  return { action: "none" };
}

/** The session token of a continue_with list (API flows), if any. */
export function sessionTokenOf(items: ContinueWith[] | null | undefined): string | undefined {
  return (items ?? []).find((x) => x.action === "set_ory_session_token")?.ory_session_token;
}
