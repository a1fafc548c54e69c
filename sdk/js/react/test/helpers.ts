// Recorded answers of a real Lanyard server (flows/react_e2e_test.go,
// TestRecordReactFixtures) and a fetch that replays them.
import type { AnyFlow } from "@lanyard/client";

export interface Fixture {
  request: { method: string; path: string; body?: unknown };
  status: number;
  body: any;
}

const files = import.meta.glob<Fixture>("./fixtures/*.json", { eager: true, import: "default" });

export const fixtures: Record<string, Fixture> = Object.fromEntries(
  Object.entries(files).map(([path, f]) => [path.replace(/^.*\/(.*)\.json$/, "$1"), f]),
);

export function fixture(name: string): Fixture {
  const f = fixtures[name];
  if (!f) throw new Error(`no fixture ${name}`);
  return structuredClone(f);
}

export function flowOf(name: string): AnyFlow {
  return fixture(name).body as AnyFlow;
}

/** The value of an input node of a flow. */
export function nodeValue(flow: AnyFlow, name: string): unknown {
  for (const n of flow.ui.nodes) {
    const a = n.attributes as { name?: string; value?: unknown };
    if (a.name === name) return a.value;
  }
  throw new Error(`flow has no node ${name}`);
}

export interface Sent {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
  headers: Headers;
}

/**
 * replay returns a fetch that answers each request with the first route
 * (method + path, and the flow id where given) not used yet, and the list
 * of requests it was sent. An unexpected request fails the test.
 */
export function replay(base: string, routes: { method: string; path: string; id?: string; answer: Fixture }[]) {
  const sent: Sent[] = [];
  const left = [...routes];
  const fetch = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    const path = u.pathname.slice(new URL(base).pathname.replace(/\/$/, "").length);
    const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    sent.push({ method: req.method, path, query: u.searchParams, body: text ? JSON.parse(text) : undefined, headers: req.headers });
    const i = left.findIndex(
      (r) => r.method === req.method && r.path === path && (!r.id || u.searchParams.get("id") === r.id || u.searchParams.get("flow") === r.id),
    );
    if (i < 0) throw new Error(`unexpected request ${req.method} ${u.pathname}${u.search}`);
    const { answer } = left.splice(i, 1)[0]!;
    const body = answer.body === null || answer.body === undefined ? null : JSON.stringify(answer.body);
    return new Response(answer.status === 204 ? null : body, { status: answer.status, headers: { "Content-Type": "application/json" } });
  };
  return { fetch, sent, left };
}
