import type {
  UiNode,
  UiNodeAnchorAttributes,
  UiNodeImageAttributes,
  UiNodeInputAttributes,
  UiNodeTextAttributes,
} from "@lanyard/client";
import { Messages } from "./Messages.js";
import { isButton } from "./nodes.js";
import { formatText, type Texts } from "./texts.js";

export interface NodeProps {
  node: UiNode;
  /** The current value of an input node. */
  value?: string | boolean;
  onChange?: (name: string, value: string | boolean) => void;
  /** Prefix of element ids, unique per form. */
  idPrefix: string;
  texts?: Texts;
  /** Disables inputs and buttons (while a submit is in flight). */
  busy?: boolean;
  /** Called when a submit button is pressed (by click, Enter or Space). */
  onSubmitter?: (s: { name: string; value: string }) => void;
}

const autoFocusable = new Set(["text", "email", "password", "tel", "number", "url", "date", "datetime-local"]);

function safeId(s: string) {
  return s.replace(/[^A-Za-z0-9_-]/g, "_");
}

/**
 * Node renders one UI node of a flow: inputs by type (with a label, the
 * node's messages tied to the field by aria-describedby), buttons, texts,
 * images and links. Script nodes (WebAuthn) are not run.
 */
export function Node({ node, value, onChange, idPrefix, texts, busy, onSubmitter }: NodeProps) {
  const a = node.attributes;
  const label = node.meta.label ? formatText(node.meta.label, texts) : undefined;
  switch (a.node_type) {
    case "input":
      return <InputNode node={node} a={a as UiNodeInputAttributes} label={label} {...{ value, onChange, idPrefix, texts, busy, onSubmitter }} />;
    case "text": {
      const t = a as UiNodeTextAttributes;
      const secrets = (t.text.context as { secrets?: { text?: string }[] } | undefined)?.secrets;
      return (
        <div className="lanyard-node lanyard-text" data-group={node.group} data-node-id={t.id}>
          {label && <p className="lanyard-label">{label}</p>}
          <p data-text-id={t.text.id}>{formatText(t.text, texts)}</p>
          {Array.isArray(secrets) && (
            <ul className="lanyard-secrets">
              {secrets.map((s, i) => (
                <li key={i}>
                  <code>{s.text}</code>
                </li>
              ))}
            </ul>
          )}
          <Messages messages={node.messages} texts={texts} />
        </div>
      );
    }
    case "img": {
      const img = a as UiNodeImageAttributes;
      return (
        <div className="lanyard-node lanyard-img" data-group={node.group} data-node-id={img.id}>
          <img src={img.src} width={img.width} height={img.height} alt={label ?? (img.id === "totp_qr" ? "QR code for the authenticator app" : img.id)} />
          <Messages messages={node.messages} texts={texts} />
        </div>
      );
    }
    case "a": {
      const link = a as UiNodeAnchorAttributes;
      return (
        <div className="lanyard-node lanyard-link" data-group={node.group} data-node-id={link.id}>
          <a href={link.href} id={`${idPrefix}-${safeId(link.id)}`} className="lanyard-button">
            {formatText(link.title, texts)}
          </a>
        </div>
      );
    }
    default:
      return null;
  }
}

function InputNode({
  node,
  a,
  label,
  value,
  onChange,
  idPrefix,
  texts,
  busy,
  onSubmitter,
}: NodeProps & { a: UiNodeInputAttributes; label: string | undefined }) {
  const id = `${idPrefix}-${safeId(a.name)}`;
  const hasMessages = node.messages.length > 0;
  const msgId = `${id}-messages`;
  const invalid = node.messages.some((m) => m.type === "error");
  if (a.type === "hidden") {
    return <input type="hidden" name={a.name} value={a.value === undefined || a.value === null ? "" : String(a.value)} />;
  }
  if (isButton(a)) {
    const v = a.value === undefined || a.value === null ? "" : String(a.value);
    return (
      <div className="lanyard-node lanyard-button-row" data-group={node.group}>
        <button
          type={a.type === "submit" ? "submit" : "button"}
          name={a.name}
          value={v}
          className={a.name === "method" ? "lanyard-button lanyard-button-primary" : "lanyard-button"}
          disabled={a.disabled || busy}
          aria-describedby={hasMessages ? msgId : undefined}
          onClick={() => onSubmitter?.({ name: a.name, value: v })}
          data-group={node.group}
        >
          {label ?? v}
        </button>
        <Messages id={msgId} messages={node.messages} texts={texts} />
      </div>
    );
  }
  if (a.type === "checkbox") {
    return (
      <div className="lanyard-node lanyard-field lanyard-checkbox" data-group={node.group}>
        <input
          id={id}
          type="checkbox"
          name={a.name}
          checked={value === true}
          required={a.required}
          disabled={a.disabled || busy}
          aria-invalid={invalid || undefined}
          aria-describedby={hasMessages ? msgId : undefined}
          onChange={(e) => onChange?.(a.name, e.currentTarget.checked)}
        />
        <label htmlFor={id}>{label ?? a.name}</label>
        <Messages id={msgId} messages={node.messages} texts={texts} />
      </div>
    );
  }
  return (
    <div className="lanyard-node lanyard-field" data-group={node.group}>
      <label htmlFor={id}>
        {label ?? a.name}
        {a.required && (
          <span className="lanyard-required" aria-hidden="true">
            {" *"}
          </span>
        )}
      </label>
      <input
        id={id}
        type={autoFocusable.has(a.type) ? a.type : "text"}
        name={a.name}
        value={typeof value === "string" ? value : ""}
        required={a.required}
        autoComplete={a.autocomplete}
        pattern={a.pattern}
        maxLength={a.maxlength}
        disabled={a.disabled || busy}
        aria-invalid={invalid || undefined}
        aria-describedby={hasMessages ? msgId : undefined}
        onChange={(e) => onChange?.(a.name, e.currentTarget.value)}
      />
      <Messages id={msgId} messages={node.messages} texts={texts} />
    </div>
  );
}
