import type { FlowKind } from "@lanyard/client";
import type { ReactNode } from "react";
import { useLanyard } from "./context.js";
import { Flow } from "./Flow.js";
import { FlowError } from "./FlowError.js";
import { defaultUiTexts, type Texts } from "./texts.js";
import { useFlow, type UseFlowOptions } from "./useFlow.js";

export interface FlowFormProps<K extends FlowKind> extends UseFlowOptions<K> {
  /** The heading (default: "Sign in", "Create an account", ...); null for none. */
  title?: ReactNode | null;
  /** Texts by message id, over the English defaults. */
  texts?: Texts;
  /** Show only these method groups. */
  groups?: string[];
  className?: string;
  /** Rendered below the form (links to the other flows, ...). */
  children?: ReactNode;
}

function FlowForm<K extends FlowKind>({ kind, title, texts, groups, className, children, ...options }: FlowFormProps<K> & { kind: K }) {
  const ctx = useLanyard();
  const state = useFlow(kind, options);
  const heading = title === undefined ? defaultUiTexts.titles[kind] : title;
  return (
    <section className={className ?? `lanyard-card lanyard-${kind}`} data-kind={kind} aria-busy={state.loading || state.submitting || undefined}>
      {heading !== null && <h2 className="lanyard-title">{heading}</h2>}
      {state.error && <FlowError error={state.error} onRetry={state.flow ? undefined : state.restart} />}
      {state.flow ? (
        <Flow flow={state.flow} onSubmit={state.submit} texts={{ ...ctx.texts, ...texts }} groups={groups} busy={state.submitting} />
      ) : (
        state.loading && (
          <p className="lanyard-loading" role="status">
            {defaultUiTexts.loading}
          </p>
        )
      )}
      {children}
    </section>
  );
}

/** LoginForm signs a person in (login flow). */
export function LoginForm(props: FlowFormProps<"login">) {
  return <FlowForm kind="login" {...props} />;
}

/** RegistrationForm signs a person up (registration flow). */
export function RegistrationForm(props: FlowFormProps<"registration">) {
  return <FlowForm kind="registration" {...props} />;
}

/** SettingsForm changes the signed-in person's profile and password (settings flow, one form per method). */
export function SettingsForm(props: FlowFormProps<"settings">) {
  return <FlowForm kind="settings" {...props} />;
}

/** VerificationForm verifies an email address with a mailed code (verification flow). */
export function VerificationForm(props: FlowFormProps<"verification">) {
  return <FlowForm kind="verification" {...props} />;
}

/** RecoveryForm recovers an account with a mailed code (recovery flow). */
export function RecoveryForm(props: FlowFormProps<"recovery">) {
  return <FlowForm kind="recovery" {...props} />;
}
