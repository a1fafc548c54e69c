import type { UiText } from "@lanyard/client";
import { formatText, type Texts } from "./texts.js";

export interface MessagesProps {
  messages: UiText[] | undefined;
  texts?: Texts;
  id?: string;
  className?: string;
}

/**
 * Messages lists UI texts, each with its id (data-message-id) and type.
 * Errors are announced to screen readers at once (role="alert"), other
 * texts politely (role="status").
 */
export function Messages({ messages, texts, id, className }: MessagesProps) {
  if (!messages || messages.length === 0) return null;
  const hasError = messages.some((m) => m.type === "error");
  return (
    <div id={id} className={className ?? "lanyard-messages"} role={hasError ? "alert" : "status"}>
      {messages.map((m, i) => (
        <p key={`${m.id}-${i}`} className={`lanyard-message lanyard-message-${m.type}`} data-message-id={m.id} data-message-type={m.type}>
          {formatText(m, texts)}
        </p>
      ))}
    </div>
  );
}
