import type { UiText } from "@lanyard/client";

/**
 * A text for a message id: a template whose {placeholders} are filled from
 * the message's context (the context keys are Kratos's), or a function of
 * the message.
 */
export type TextTemplate = string | ((text: UiText) => string);
export type Texts = Record<number, TextTemplate>;

/**
 * defaultTexts are the English texts of the message ids Lanyard sends
 * (Kratos's text/id.go catalogue). Pass `texts` to a component or to
 * LanyardProvider to translate or reword any of them. Ids whose text
 * needs a computed value (the expiry messages: "expired 2.00 minutes ago")
 * are not here: the server's text is shown for them, as for any id this
 * table does not know.
 */
export const defaultTexts: Texts = {
  // 101xxxx login
  1010001: "Sign in",
  1010002: "Sign in with {provider}",
  1010003: "Please confirm this action by verifying that it is you.",
  1010004: "Please complete the second authentication challenge.",
  1010014:
    "An email containing a code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
  1010022: "Sign in with password",
  // 104xxxx registration
  1040001: "Sign up",
  1040002: "Sign up with {provider}",
  1040005:
    "An email containing a code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
  // 105xxxx settings
  1050001: "Your changes have been saved!",
  // 106xxxx recovery
  1060001: "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next {privileged_session_expires_at_minutes} minutes.",
  1060002:
    "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
  1060003:
    "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
  // 107xxxx node labels
  1070001: "Password",
  1070002: "{title}",
  1070003: "Save",
  1070004: "ID",
  1070005: "Submit",
  1070006: "Verify code",
  1070007: "Email",
  1070008: "Resend code",
  1070009: "Continue",
  1070010: "Recovery code",
  1070011: "Verification code",
  1070012: "Registration code",
  1070013: "Login code",
  // 108xxxx verification
  1080001:
    "An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
  1080002: "You successfully verified your email address.",
  1080003:
    "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
  // 400xxxx validation
  4000001: "{reason}",
  4000002: "Property {property} is missing.",
  4000003: "length must be >= {min_length}, but got {actual_length}",
  4000005: "The password can not be used because {reason}.",
  4000006:
    "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
  4000007: "An account with the same identifier (email, phone, username, ...) exists already.",
  4000008: "The provided authentication code is invalid, please try again.",
  4000010: "Account not active yet. Did you forget to verify your email address?",
  4000012: "This backup recovery code has already been used.",
  4000016: "The backup recovery code is not valid.",
  4000017: "length must be <= {max_length}, but got {actual_length}",
  4000031: "The password can not be used because it is too similar to the identifier.",
  4000032: "The password must be at least {min_length} characters long, but got {actual_length}.",
  4000033: "The password must be at most {max_length} characters long, but got {actual_length}.",
  4000034: "The password has been found in data breaches and must no longer be used.",
  // 401xxxx-407xxxx flow errors
  4010002: "Could not find a strategy to log you in with. Did you fill out the form correctly?",
  4010003: "Could not find a strategy to sign you up with. Did you fill out the form correctly?",
  4010004: "Could not find a strategy to update your settings. Did you fill out the form correctly?",
  4010005: "Could not find a strategy to recover your account with. Did you fill out the form correctly?",
  4010006: "Could not find a strategy to verify your account with. Did you fill out the form correctly?",
  4010007: "The request was already completed successfully and can not be retried.",
  4010008: "The login code is invalid or has already been used. Please try again.",
  4040002: "The request was already completed successfully and can not be retried.",
  4040003: "The registration code is invalid or has already been used. Please try again.",
  4060001: "The request was already completed successfully and can not be retried.",
  4060004: "The recovery token is invalid or has already been used. Please retry the flow.",
  4060006: "The recovery code is invalid or has already been used. Please try again.",
  4070001: "The verification token is invalid or has already been used. Please retry the flow.",
  4070002: "The request was already completed successfully and can not be retried.",
  4070006: "The verification code is invalid or has already been used. Please try again.",
  // 500xxxx system
  5000001: "{reason}",
};

/** Texts of the UI itself (not message ids). */
export const defaultUiTexts = {
  loading: "Loading…",
  required: "required",
  retry: "Try again",
  groups: {
    default: "",
    password: "Password",
    profile: "Profile",
    code: "Code",
    oidc: "Sign in with a provider",
    link: "Link",
    totp: "Authenticator app",
    lookup_secret: "Backup recovery codes",
    webauthn: "Security key",
    passkey: "Passkey",
    identifier_first: "",
  } as Record<string, string>,
  titles: {
    login: "Sign in",
    registration: "Create an account",
    settings: "Account settings",
    verification: "Verify your email address",
    recovery: "Recover your account",
  },
};

function fill(template: string, text: UiText): string | undefined {
  const ctx = (text.context ?? {}) as Record<string, unknown>;
  let missing = false;
  const out = template.replace(/\{(\w+)\}/g, (_, key: string) => {
    let v = ctx[key];
    if (key === "privileged_session_expires_at_minutes" && typeof ctx.privileged_session_expires_at === "string") {
      const ms = Date.parse(ctx.privileged_session_expires_at) - Date.now();
      v = Number.isFinite(ms) ? Math.max(0, Math.round(ms / 60000)) : undefined;
    }
    if (v === undefined || v === null || v === "") {
      missing = true;
      return "";
    }
    return Array.isArray(v) ? v.join(", ") : String(v);
  });
  return missing ? undefined : out;
}

/**
 * formatText renders a UI text: the template of its id (from texts, then
 * defaultTexts) with the context filled in; the server's English text when
 * the id is unknown or the context lacks a placeholder's value.
 */
export function formatText(text: UiText, texts?: Texts): string {
  const t = texts?.[text.id] ?? defaultTexts[text.id];
  if (typeof t === "function") return t(text);
  if (typeof t === "string") return fill(t, text) ?? text.text;
  return text.text;
}
