import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { LanyardClient } from "@lanyard/client";
import type { Texts } from "./texts.js";

export interface LanyardContextValue {
  /** The project's client (createLanyardClient). */
  client?: LanyardClient;
  /** Texts by message id, over the English defaults. */
  texts?: Texts;
  /** How to send the browser elsewhere (default: location.assign). */
  navigate?: (url: string) => void;
}

const LanyardContext = createContext<LanyardContextValue>({});

/** LanyardProvider gives the components below it a client, texts and a navigate function. */
export function LanyardProvider({ children, client, texts, navigate }: LanyardContextValue & { children?: ReactNode }) {
  const value = useMemo(() => ({ client, texts, navigate }), [client, texts, navigate]);
  return <LanyardContext.Provider value={value}>{children}</LanyardContext.Provider>;
}

export function useLanyard(): LanyardContextValue {
  return useContext(LanyardContext);
}
