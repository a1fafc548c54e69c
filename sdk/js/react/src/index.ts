// @lanyard/react: components and hooks that render any Lanyard (Kratos-style)
// self-service flow from its UI nodes.
export { LanyardProvider, useLanyard, type LanyardContextValue } from "./context.js";
export { Flow, type FlowProps } from "./Flow.js";
export { FlowError } from "./FlowError.js";
export { Messages, type MessagesProps } from "./Messages.js";
export { Node, type NodeProps } from "./Node.js";
export { buildBody, initialValues, type Values } from "./nodes.js";
export { defaultTexts, defaultUiTexts, formatText, type TextTemplate, type Texts } from "./texts.js";
export { useFlow, type FlowState, type FlowSuccess, type UseFlowOptions } from "./useFlow.js";
export { LoginForm, RegistrationForm, SettingsForm, VerificationForm, RecoveryForm, type FlowFormProps } from "./forms.js";
