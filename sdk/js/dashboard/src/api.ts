// The platform API (/api/v1) of the dashboard's own origin: the typed
// openapi-fetch client of @lanyard/client for what the OpenAPI document
// describes, plain fetch for the rest (billing). The browser's session
// cookie of the console project authenticates every call.
import { createLanyardClient, type components } from "@lanyard/client";

export type Schemas = components["schemas"];
export type Workspace = Schemas["platformWorkspace"];
export type Project = Schemas["platformProject"];
export type APIKey = Schemas["platformAPIKey"];
export type Member = Schemas["platformMember"];
export type Invitation = Schemas["platformInvitation"];
export type Token = Schemas["platformToken"];
export type AuditEvent = Schemas["platformAuditEvent"];
export type Identity = Schemas["identity"];
export type Session = Schemas["session"];
export type Role = "owner" | "admin" | "viewer";

/** The console project's client: flows, whoami and logout on this origin. */
export const lanyard = createLanyardClient({ baseUrl: location.origin });

/** The platform API, typed from the OpenAPI document. */
export const api = lanyard.api;

/** An error answer of the platform API, in words. */
export class ApiError extends Error {
  readonly status: number;
  readonly id: string | undefined;
  constructor(status: number, body: unknown) {
    const e = (body as { error?: { message?: string; reason?: string; id?: string } } | undefined)?.error;
    super(errorText(status, e?.reason || e?.message));
    this.name = "ApiError";
    this.status = status;
    this.id = e?.id;
  }
}

function errorText(status: number, text: string | undefined): string {
  if (text) return text;
  switch (status) {
    case 401:
      return "Your session has ended. Please sign in again.";
    case 403:
      return "You do not have permission to do this.";
    case 404:
      return "This could not be found. It may have been deleted.";
    case 429:
      return "Too many requests. Please wait a moment and try again.";
    default:
      return status >= 500 ? "The server had a problem. Please try again in a moment." : `The request failed (${status}).`;
  }
}

/** Listeners told when any call answers 401 (the session ended). */
export const onUnauthorized = new Set<() => void>();

/** must unwraps an openapi-fetch result: its data, or an ApiError. */
export async function must<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch (e) {
    throw e instanceof TypeError ? new Error("The server could not be reached. Check the connection and try again.") : e;
  }
  if (!r.response.ok) {
    if (r.response.status === 401) onUnauthorized.forEach((f) => f());
    throw new ApiError(r.response.status, r.error);
  }
  return r.data as T;
}

/** call is fetch for the routes the OpenAPI document does not list yet. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
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
    throw new ApiError(res.status, data);
  }
  return data as T;
}

/** pageTokenOf reads the page_token of a Link header's rel="next". */
export function pageTokenOf(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    if (!/rel="?next"?/.test(part)) continue;
    const m = /<([^>]+)>/.exec(part);
    if (!m) continue;
    const t = new URL(m[1]!, location.origin).searchParams.get("page_token");
    if (t) return t;
  }
  return undefined;
}

export interface Me {
  kind: "account";
  account: { id: string; email: string; verified: boolean; personal_workspace_id: string | null };
}

export async function getMe(): Promise<Me> {
  return must(api.GET("/api/v1/me", {})) as unknown as Promise<Me>;
}

/** Billing, as GET /api/v1/workspaces/{ws}/billing answers. */
export interface Plan {
  name: string;
  title: string;
  included_mau: number;
  project_limit: number;
  monthly_price_cents: number;
  overage_cents_per_1000: number;
  hard_mau_cap?: boolean;
  /** What the plan includes: named switches and limits (or, from older servers, a list of words). */
  features: Record<string, boolean | number | string> | string[] | null;
}
export interface Billing {
  enabled: boolean;
  plan: Plan;
  subscription_status: string;
  current_period_end?: string | null;
  grace_until?: string | null;
  period: { start: string; end: string };
  mau: { total: number; projects: { project_id: string; slug: string; name: string; mau: number }[] };
  projected_overage_cents: number;
  currency: string;
  plans: Plan[];
  customer_portal: boolean;
}
export interface Usage {
  month: string;
  days: { date: string; active: number; mau: number }[];
}

export const can = {
  admin: (r: Role | undefined) => r === "owner" || r === "admin",
  owner: (r: Role | undefined) => r === "owner",
};
