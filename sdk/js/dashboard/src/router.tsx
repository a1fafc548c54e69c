// A small history router: the app's pages are plain paths (/projects/<id>,
// /w/<workspace>/members, ...) that the dashboard service answers with the
// app's page on a reload.
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const listeners = new Set<() => void>();

function subscribe(fn: () => void) {
  listeners.add(fn);
  window.addEventListener("popstate", fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener("popstate", fn);
  };
}

function snapshot() {
  return location.pathname + location.search;
}

/** navigate goes to an in-app path (pushState) or, for another origin, loads the page. */
export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const u = new URL(to, location.href);
  if (u.origin !== location.origin) {
    location.assign(u.toString());
    return;
  }
  const next = u.pathname + u.search + u.hash;
  if (next !== snapshot()) {
    if (opts.replace) history.replaceState(null, "", next);
    else history.pushState(null, "", next);
  }
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

/** useLocation returns the current path and query, and re-renders on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const s = useSyncExternalStore(subscribe, snapshot);
  const [path, q] = s.split("?");
  return { path: path || "/", query: new URLSearchParams(q ?? "") };
}

/** match returns the named parts of a path pattern like /projects/:id, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split("/").filter(Boolean);
  const xs = path.split("/").filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const x = decodeURIComponent(xs[i]!);
    if (p.startsWith(":")) out[p.slice(1)] = x;
    else if (p !== x) return null;
  }
  return out;
}

/** Link is an <a> that navigates in the app (ctrl/middle click open a tab as usual). */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** Redirect replaces the current path. */
export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

/** useTitle sets the document title. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Lanyard` : "Lanyard";
  }, [title]);
}
