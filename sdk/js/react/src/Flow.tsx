import { useCallback, useId, useRef, useState, type FormEvent } from "react";
import type { AnyFlow, SubmitBody, UiNode } from "@lanyard/client";
import { useLanyard } from "./context.js";
import { Messages } from "./Messages.js";
import { Node } from "./Node.js";
import { buildBody, firstSubmit, initialValues, type Values } from "./nodes.js";
import { defaultUiTexts, type Texts } from "./texts.js";

export interface FlowProps {
  /** Any self-service flow (login, registration, settings, verification, recovery). */
  flow: AnyFlow;
  /** Called with the JSON body of a submit (method, csrf_token and the form's fields, nested). */
  onSubmit: (body: SubmitBody) => unknown;
  /** Texts by message id, over the provider's and the English defaults. */
  texts?: Texts;
  /** Show only these groups (e.g. ["password"]); the default group is always there. */
  groups?: string[];
  /** One form per method group (settings). Default: on for settings flows. */
  separateGroups?: boolean;
  /** Disables the form (e.g. while the caller submits). */
  busy?: boolean;
  className?: string;
}

interface FormPart {
  group: string;
  nodes: UiNode[];
}

function parts(flow: AnyFlow, groups: string[] | undefined, separate: boolean): FormPart[] {
  const nodes = flow.ui.nodes.filter((n) => n.group === "default" || !groups || groups.includes(n.group));
  if (!separate) return [{ group: "all", nodes }];
  const defaults = nodes.filter((n) => n.group === "default");
  const order: string[] = [];
  for (const n of nodes) if (n.group !== "default" && !order.includes(n.group)) order.push(n.group);
  if (order.length === 0) return [{ group: "default", nodes: defaults }];
  return order.map((g) => ({ group: g, nodes: [...defaults, ...nodes.filter((n) => n.group === g)] }));
}

/**
 * Flow renders a flow from its UI nodes: the flow's messages, then a form
 * (one per method group for settings) whose inputs keep what the person
 * typed when the flow comes back with errors. A submit calls onSubmit with
 * the body to send; the button pressed decides the method.
 */
export function Flow({ flow, onSubmit, texts, groups, separateGroups, busy, className }: FlowProps) {
  const ctx = useLanyard();
  const allTexts = ctx.texts || texts ? { ...ctx.texts, ...texts } : undefined;
  const idPrefix = `lanyard${useId().replace(/[^A-Za-z0-9]/g, "")}`;
  const [state, setState] = useState<{ flow: AnyFlow; values: Values }>(() => ({ flow, values: initialValues(flow) }));
  let values = state.values;
  if (state.flow !== flow) {
    // A new answer: take its values, keep what was typed where it has none.
    values = initialValues(flow, state.values);
    setState({ flow, values });
  }
  const [pending, setPending] = useState(false);
  const clicked = useRef<{ name: string; value: string } | undefined>(undefined);
  const onChange = useCallback((name: string, value: string | boolean) => {
    setState((s) => ({ ...s, values: { ...s.values, [name]: value } }));
  }, []);

  const separate = separateGroups ?? "identity" in flow;
  const forms = parts(flow, groups, separate);

  const submit = (part: FormPart) => async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (pending || busy) return;
    const native = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null | undefined;
    const submitter =
      (native && native.name ? { name: native.name, value: native.value } : undefined) ?? clicked.current ?? firstSubmit(part.nodes);
    clicked.current = undefined;
    // The form has noValidate so that buttons like "resend code" can go
    // without the required fields; the method buttons check them here.
    if (submitter?.name === "method" && !e.currentTarget.reportValidity()) return;
    const body = buildBody(part.nodes, values, submitter);
    setPending(true);
    try {
      await onSubmit(body);
    } finally {
      setPending(false);
    }
  };

  return (
    <div className={className ?? "lanyard-flow"} data-flow-id={flow.id} data-flow-state={flow.state} aria-busy={pending || busy || undefined}>
      <Messages messages={flow.ui.messages} texts={allTexts} className="lanyard-messages lanyard-flow-messages" />
      {forms.map((part) => {
        const title = separate ? defaultUiTexts.groups[part.group] : "";
        const fields = part.nodes.map((n, i) => {
          const a = n.attributes as { name?: string; id?: string };
          return (
            <Node
              key={`${n.group}-${a.name ?? a.id ?? ""}-${i}`}
              node={n}
              value={a.name ? values[a.name] : undefined}
              onChange={onChange}
              idPrefix={`${idPrefix}-${part.group}`}
              texts={allTexts}
              busy={pending || busy}
              onSubmitter={(s) => (clicked.current = s)}
            />
          );
        });
        return (
          <form
            key={part.group}
            className="lanyard-form"
            data-group={part.group}
            method="post"
            action={flow.ui.action}
            noValidate
            onSubmit={submit(part)}
            aria-label={title || undefined}
          >
            {title ? (
              <fieldset className="lanyard-group">
                <legend>{title}</legend>
                {fields}
              </fieldset>
            ) : (
              fields
            )}
          </form>
        );
      })}
    </div>
  );
}
