import { LanyardError } from "@lanyard/client";
import { defaultUiTexts } from "./texts.js";

/** Words for the error ids a flow page meets. */
const errorTexts: Record<string, string> = {
  security_csrf_violation: "This form was opened in another browser or the page is out of date. A new form was loaded: please try again.",
  session_already_available: "You are already signed in.",
  session_inactive: "Please sign in first.",
  session_refresh_required: "Please sign in again to change this.",
  self_service_flow_expired: "The form expired. Please try again.",
  self_service_flow_disabled: "This is not available for this project.",
  self_service_flow_return_to_forbidden: "The return address is not allowed.",
  browser_location_change_required: "Continue in the page that opens.",
};

/** FlowError says in words what went wrong, with a retry button when given one. */
export function FlowError({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  let text = error.message;
  let id: string | undefined;
  if (error instanceof LanyardError) {
    id = error.id;
    const e = error.body?.error;
    text =
      (id && errorTexts[id]) ||
      (error.status === 401 ? errorTexts.session_inactive! : "") ||
      (error.status === 429 ? "Too many attempts. Please wait a moment and try again." : "") ||
      e?.reason ||
      e?.message ||
      `The request failed (${error.status}).`;
  } else if (error instanceof TypeError) {
    text = "The server could not be reached. Check the connection and try again.";
  }
  return (
    <div className="lanyard-messages lanyard-error" role="alert" data-error-id={id}>
      <p className="lanyard-message lanyard-message-error">{text}</p>
      {onRetry && (
        <button type="button" className="lanyard-button" onClick={onRetry}>
          {defaultUiTexts.retry}
        </button>
      )}
    </div>
  );
}
