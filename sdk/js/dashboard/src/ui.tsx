// Small building blocks shared by the pages: loading/empty/error states in
// words, a data loader, copy buttons and code blocks.
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";

/** useLoad runs load on mount and when deps change; reload runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    return load().then(
      (data) => n === seq.current && setState({ data, loading: false }),
      (error: Error) => n === seq.current && setState({ error, loading: false }),
    );
    // The caller names what load depends on.
  }, deps);
  useEffect(() => {
    void run();
  }, [run]);
  return { ...state, reload: run, set: (data: T) => setState({ data, loading: false }) };
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}

export function ErrorText({ error, onRetry }: { error: Error | string | undefined; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="alert alert-error" role="alert">
      <span>{typeof error === "string" ? error : error.message}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div className="alert alert-ok" role="status">
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** CopyButton copies text to the clipboard and says so. */
export function CopyButton({ text, label = "Copy", name }: { text: string; label?: string; name?: string }) {
  const [done, setDone] = useState<"" | "ok" | "fail">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("ok");
    } catch {
      // No clipboard permission (an http page, an old browser): select the text instead.
      setDone("fail");
    }
    setTimeout(() => setDone(""), 2000);
  };
  return (
    <button type="button" className="btn btn-small" onClick={copy} aria-live="polite" aria-label={done ? undefined : name}>
      {done === "ok" ? "Copied" : done === "fail" ? "Select and copy" : label}
    </button>
  );
}

/** Code is a copyable code block. */
export function Code({ code, label }: { code: string; label: string }) {
  return (
    <figure className="code">
      <figcaption>
        <span>{label}</span>
        <CopyButton text={code} label={`Copy ${label}`} />
      </figcaption>
      <pre tabIndex={0} aria-label={label}>
        <code>{code}</code>
      </pre>
    </figure>
  );
}

/** Secret shows a secret once, with a copy button. */
export function Secret({ secret, what, onDone }: { secret: string; what: string; onDone: () => void }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>Copy the {what} now.</strong> It is shown this once; only a hash of it is stored.
      </p>
      <div className="secret-row">
        <input readOnly value={secret} aria-label={`New ${what}`} data-testid="secret" onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={secret} />
      </div>
      <button type="button" className="btn btn-small" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** When shows a time, or a dash. */
export function When({ at, never = "—" }: { at: string | null | undefined; never?: string }) {
  if (!at) return <span className="muted">{never}</span>;
  const d = new Date(at);
  return <time dateTime={at}>{dateFmt.format(d)}</time>;
}

/** Busy wraps an action: its running state and error in words. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const run = useCallback(async <T,>(f: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await f();
    } catch (e) {
      setError(e as Error);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children && <div className="actions">{children}</div>}
    </div>
  );
}
