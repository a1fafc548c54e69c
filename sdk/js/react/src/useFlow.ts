import { useCallback, useEffect, useRef, useState } from "react";
import {
  LanyardError,
  flowIdFromUrl,
  isFlow,
  nextStep,
  type ContinueWith,
  type CreateFlowOptions,
  type FlowByKind,
  type FlowKind,
  type LanyardClient,
  type NextStep,
  type SubmitBody,
  type SuccessByKind,
} from "@lanyard/client";
import { useLanyard } from "./context.js";

export interface FlowSuccess<K extends FlowKind> {
  kind: K;
  data: SuccessByKind[K];
  continueWith: ContinueWith[];
  /** What continue_with asks for next (see nextStep). */
  next: NextStep;
}

export interface UseFlowOptions<K extends FlowKind> extends CreateFlowOptions {
  /** The client (default: the LanyardProvider's). */
  client?: LanyardClient;
  /** The flow to show (default: ?flow= of the page); a new one is made when absent, expired or foreign. */
  flowId?: string;
  /** Keep ?flow=<id> of the page's URL in step with the flow shown, so a reload shows it again (browser flows; default true). */
  syncUrl?: boolean;
  /** How to send the browser elsewhere (default: the provider's, else location.assign). */
  navigate?: (url: string) => void;
  /** Called after a successful submit, before any navigation. */
  onSuccess?: (success: FlowSuccess<K>) => void;
  /**
   * Called with the next step of a successful submit. Return true when
   * handled; otherwise show_*_ui with a URL and redirect_browser_to
   * navigate there.
   */
  onContinue?: (next: NextStep, success: FlowSuccess<K>) => boolean | void;
  /** Called with the session token an API flow hands out (set_ory_session_token). */
  onSessionToken?: (token: string) => void;
}

export interface FlowState<K extends FlowKind> {
  kind: K;
  /** The flow to render, once loaded. */
  flow: FlowByKind[K] | undefined;
  /** An error that is not a flow (the flow could not be made, a CSRF violation, no session, ...). */
  error: LanyardError | Error | undefined;
  loading: boolean;
  submitting: boolean;
  /** Submits the flow with a body (Flow's onSubmit). */
  submit: (body: SubmitBody) => Promise<void>;
  /** Starts over with a new flow. */
  restart: () => Promise<void>;
}

function sameFlow(url: string, id: string): boolean {
  try {
    return new URL(url).searchParams.get("flow") === id;
  } catch {
    return false;
  }
}

function defaultNavigate(url: string) {
  window.location.assign(url);
}

/**
 * useFlow loads a flow of `kind` (the one in ?flow=, else a new one) and
 * submits it: an answer with errors (400) replaces the flow shown; an
 * expired flow (410) is replaced by its successor; a 422
 * browser_location_change_required navigates; a success runs onSuccess
 * and the continue_with actions (show_verification_ui,
 * set_ory_session_token, redirect_browser_to, ...).
 */
export function useFlow<K extends FlowKind>(kind: K, options: UseFlowOptions<K> = {}): FlowState<K> {
  const ctx = useLanyard();
  const client = options.client ?? ctx.client;
  if (!client) throw new Error("useFlow needs a client: pass options.client or wrap the app in <LanyardProvider client={...}>.");
  const opts = useRef(options);
  opts.current = options;
  const navigate = options.navigate ?? ctx.navigate ?? defaultNavigate;
  const nav = useRef(navigate);
  nav.current = navigate;

  const [flow, setFlowState] = useState<FlowByKind[K] | undefined>(undefined);
  const [error, setError] = useState<LanyardError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [submitting, setSubmitting] = useState(false);

  const setFlow = useCallback((f: FlowByKind[K]) => {
    setFlowState(f);
    const o = opts.current;
    if (f.type === "browser" && o.syncUrl !== false && typeof window !== "undefined" && window.history?.replaceState) {
      const u = new URL(window.location.href);
      if (u.searchParams.get("flow") !== f.id) {
        u.searchParams.set("flow", f.id);
        window.history.replaceState(window.history.state, "", u.toString());
      }
    }
  }, []);

  const load = useCallback(
    async (id: string | undefined) => {
      const o = opts.current;
      setLoading(true);
      setError(undefined);
      try {
        setFlow(await client.loadFlow(kind, id, { type: o.type, returnTo: o.returnTo, refresh: o.refresh, aal: o.aal }));
      } catch (e) {
        setError(e as Error);
      } finally {
        setLoading(false);
      }
    },
    [client, kind, setFlow],
  );

  // The page's ?flow= when it was opened (later changes are this hook's own).
  const [urlFlowId] = useState(() => (typeof window !== "undefined" ? flowIdFromUrl() : undefined));
  const initial = options.flowId ?? urlFlowId;
  useEffect(() => {
    void load(initial);
    // Load once per kind, client and requested flow.
  }, [load, initial]);

  const restart = useCallback(() => load(undefined), [load]);

  const submit = useCallback(
    async (body: SubmitBody) => {
      if (!flow) return;
      setSubmitting(true);
      setError(undefined);
      try {
        const res = await client.submitFlow(kind, flow, body);
        switch (res.type) {
          case "invalid":
          case "expired":
            setFlow(res.flow);
            return;
          case "redirect":
            nav.current(res.to);
            return;
          case "error": {
            const err = new LanyardError(res.status, res.error, `submit ${kind} flow`);
            // A flow this browser can no longer use: start a new one, and say why.
            if (err.id === "security_csrf_violation" || err.status === 404) {
              await load(undefined);
            }
            setError(err);
            return;
          }
          case "success": {
            if (isFlow(res.data)) setFlow(res.data as unknown as FlowByKind[K]);
            const success: FlowSuccess<K> = { kind, data: res.data, continueWith: res.continueWith, next: nextStep(res.continueWith) };
            const o = opts.current;
            const token = res.continueWith.find((c) => c.action === "set_ory_session_token")?.ory_session_token;
            if (token) o.onSessionToken?.(token);
            o.onSuccess?.(success);
            if (o.onContinue?.(success.next, success) === true) return;
            const next = success.next;
            // Settings answer with a redirect to the page that shows this very
            // flow: it is on screen already.
            if (next.action === "redirect_browser_to" && isFlow(res.data) && sameFlow(next.url, res.data.id)) return;
            if (next.action === "redirect_browser_to") nav.current(next.url);
            else if ((next.action === "show_verification_ui" || next.action === "show_settings_ui" || next.action === "show_recovery_ui") && next.url)
              nav.current(next.url);
            return;
          }
        }
      } catch (e) {
        setError(e as Error);
      } finally {
        setSubmitting(false);
      }
    },
    [client, kind, flow, load, setFlow],
  );

  return { kind, flow, error, loading, submitting, submit, restart };
}
