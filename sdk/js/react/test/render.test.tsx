// <Flow> renders every recorded flow: inputs by type with their labels,
// buttons, the CSRF node, messages by id with the English default texts.
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { UiNodeInputAttributes } from "@lanyard/client";
import { Flow, defaultTexts, formatText } from "../src/index.js";
import { fixtures, flowOf } from "./helpers.js";

afterEach(cleanup);

const flowFixtures = Object.entries(fixtures).filter(([, f]) => f.body && typeof f.body === "object" && "ui" in f.body);

describe("every recorded flow", () => {
  it("covers every kind, browser and API, with errors", () => {
    const names = flowFixtures.map(([n]) => n);
    for (const kind of ["login", "registration", "settings", "verification", "recovery"]) {
      expect(names).toContain(`${kind}-browser`);
      expect(names).toContain(`${kind}-api`);
    }
    for (const n of ["login-browser-invalid", "registration-browser-invalid", "registration-api-duplicate", "settings-browser-invalid", "verification-browser-invalid", "recovery-browser-invalid",
      "login-api-invalid", "settings-api-invalid", "verification-api-invalid", "recovery-api-invalid"]) {
      expect(names).toContain(n);
    }
  });

  for (const [name, f] of flowFixtures) {
    it(`renders ${name}`, () => {
      const flow = f.body;
      const { container } = render(<Flow flow={flow} onSubmit={() => {}} />);
      expect(container.querySelector(`[data-flow-id="${flow.id}"]`)).not.toBeNull();
      for (const n of flow.ui.nodes) {
        const a = n.attributes;
        if (a.node_type === "input") {
          const ia = a as UiNodeInputAttributes;
          if (ia.type === "hidden") {
            const hidden = container.querySelectorAll(`input[type="hidden"][name="${ia.name}"]`);
            expect(hidden.length, ia.name).toBeGreaterThan(0);
            expect([...hidden].some((h) => (h as HTMLInputElement).value === String(ia.value ?? ""))).toBe(true);
          } else if (ia.type === "submit" || ia.type === "button") {
            const label = formatText(n.meta.label, undefined);
            const buttons = screen.getAllByRole("button", { name: label });
            expect(buttons.some((b) => (b as HTMLButtonElement).name === ia.name && (b as HTMLButtonElement).value === String(ia.value ?? ""))).toBe(true);
          } else {
            // An accessible label, the right type and attributes, the server's value.
            const label = formatText(n.meta.label, undefined);
            const labelled = screen.getAllByLabelText(new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
            const input = labelled.find((el) => el.tagName === "INPUT" && (el as HTMLInputElement).name === ia.name) as HTMLInputElement;
            expect(input, `an input labelled ${label} named ${ia.name}`).toBeTruthy();
            expect(input.type).toBe(ia.type);
            expect(input.required).toBe(!!ia.required);
            if (ia.autocomplete) expect(input.getAttribute("autocomplete")).toBe(ia.autocomplete);
            if (ia.type === "checkbox") expect(input.checked).toBe(ia.value === true);
            else expect(input.value).toBe(ia.value === undefined ? "" : String(ia.value));
            for (const m of n.messages) {
              const el = container.querySelector(`#${input.getAttribute("aria-describedby")} [data-message-id="${m.id}"]`);
              expect(el, `message ${m.id} of ${ia.name}`).not.toBeNull();
              expect(el!.textContent).toBe(formatText(m));
              if (m.type === "error") expect(input.getAttribute("aria-invalid")).toBe("true");
            }
          }
        } else if (a.node_type === "a") {
          const link = screen.getByRole("link", { name: formatText(a.title) });
          expect(link.getAttribute("href")).toBe(a.href);
        }
      }
      for (const m of flow.ui.messages ?? []) {
        const el = container.querySelector(`.lanyard-flow-messages [data-message-id="${m.id}"]`);
        expect(el, `flow message ${m.id}`).not.toBeNull();
        expect(el!.getAttribute("data-message-type")).toBe(m.type);
        expect(el!.textContent).toBe(formatText(m));
      }
    });
  }
});

describe("what a person sees", () => {
  it("login: the identifier and password fields, one sign-in button", () => {
    render(<Flow flow={flowOf("login-browser")} onSubmit={() => {}} />);
    expect((screen.getByLabelText(/^ID/) as HTMLInputElement).type).toBe("text");
    expect((screen.getByLabelText(/^Password/) as HTMLInputElement).autocomplete).toBe("current-password");
    expect(screen.getByRole("button", { name: "Sign in with password" })).toBeTruthy();
  });

  it("registration: the schema's titles label the traits", () => {
    render(<Flow flow={flowOf("registration-browser")} onSubmit={() => {}} />);
    expect((screen.getByLabelText(/^E-Mail/) as HTMLInputElement).type).toBe("email");
    expect((screen.getByLabelText(/^First name/) as HTMLInputElement).name).toBe("traits.name.first");
    expect((screen.getByLabelText(/^Password/) as HTMLInputElement).autocomplete).toBe("new-password");
    expect(screen.getByRole("button", { name: "Sign up" })).toBeTruthy();
  });

  it("every input type of a schema: tel, number, date, url, checkbox, with the values echoed", () => {
    render(<Flow flow={flowOf("registration-browser-types-invalid")} onSubmit={() => {}} />);
    expect((screen.getByLabelText(/^Phone/) as HTMLInputElement).type).toBe("tel");
    expect((screen.getByLabelText(/^Age/) as HTMLInputElement).value).toBe("41");
    expect((screen.getByLabelText(/^Age/) as HTMLInputElement).type).toBe("number");
    expect((screen.getByLabelText(/^Birthday/) as HTMLInputElement).value).toBe("1985-04-12");
    expect((screen.getByLabelText(/^Website/) as HTMLInputElement).type).toBe("url");
    const box = screen.getByRole("checkbox", { name: "Send me the newsletter" }) as HTMLInputElement;
    expect(box.checked).toBe(true);
  });

  it("login with wrong credentials: the message in words, the identifier kept", () => {
    const flow = flowOf("login-browser-invalid");
    render(<Flow flow={flow} onSubmit={() => {}} />);
    const alert = screen.getByRole("alert");
    expect(alert.querySelector('[data-message-id="4000006"]')!.textContent).toBe(defaultTexts[4000006]);
    expect((screen.getByLabelText(/^ID/) as HTMLInputElement).value).toMatch(/@codes\.test$/);
  });

  it("registration with a short password: the message under the field, with its numbers", () => {
    render(<Flow flow={flowOf("registration-browser-invalid")} onSubmit={() => {}} />);
    const pw = screen.getByLabelText(/^Password/) as HTMLInputElement;
    expect(pw.getAttribute("aria-invalid")).toBe("true");
    const msg = document.getElementById(pw.getAttribute("aria-describedby")!)!;
    expect(msg.textContent).toBe("The password must be at least 8 characters long, but got 5.");
    expect((screen.getByLabelText(/^E-Mail/) as HTMLInputElement).value).toMatch(/@codes\.test$/);
  });

  it("duplicate registration: 4000007 as a flow message", () => {
    render(<Flow flow={flowOf("registration-api-duplicate")} onSubmit={() => {}} />);
    expect(screen.getByRole("alert").querySelector('[data-message-id="4000007"]')!.textContent).toBe(
      "An account with the same identifier (email, phone, username, ...) exists already.",
    );
  });

  it("settings: one form per method, each with the CSRF token", () => {
    const flow = flowOf("settings-browser");
    const { container } = render(<Flow flow={flow} onSubmit={() => {}} />);
    const forms = container.querySelectorAll("form");
    expect([...forms].map((f) => f.getAttribute("data-group"))).toEqual(["profile", "password"]);
    for (const f of forms) expect(f.querySelector('input[type="hidden"][name="csrf_token"]')).not.toBeNull();
    expect(within(screen.getByRole("form", { name: "Profile" })).getByLabelText(/^E-Mail/)).toBeTruthy();
    expect(within(screen.getByRole("form", { name: "Password" })).getByLabelText(/^Password/)).toBeTruthy();
  });

  it("settings saved: the success text", () => {
    render(<Flow flow={flowOf("settings-browser-success")} onSubmit={() => {}} />);
    const status = screen.getByRole("status");
    expect(status.querySelector('[data-message-id="1050001"]')!.textContent).toBe("Your changes have been saved!");
  });

  it("verification: code sent, a wrong code, then passed with a Continue link", () => {
    const { unmount } = render(<Flow flow={flowOf("verification-browser-sent")} onSubmit={() => {}} />);
    expect(screen.getByRole("status").querySelector('[data-message-id="1080003"]')).not.toBeNull();
    expect((screen.getByLabelText(/^Verification code/) as HTMLInputElement).autocomplete).toBe("one-time-code");
    expect(screen.getByRole("button", { name: "Resend code" })).toBeTruthy();
    unmount();
    const r2 = render(<Flow flow={flowOf("verification-browser-invalid")} onSubmit={() => {}} />);
    expect(screen.getByRole("alert").querySelector('[data-message-id="4070006"]')!.textContent).toBe(defaultTexts[4070006]);
    r2.unmount();
    const passed = flowOf("verification-browser-passed");
    render(<Flow flow={passed} onSubmit={() => {}} />);
    expect(screen.getByRole("status").textContent).toBe("You successfully verified your email address.");
    expect(screen.getByRole("link", { name: "Continue" }).getAttribute("href")).toBe(
      (passed.ui.nodes[0]!.attributes as { href: string }).href,
    );
  });

  it("recovery: an email field, then the code and resend", () => {
    const { unmount } = render(<Flow flow={flowOf("recovery-browser")} onSubmit={() => {}} />);
    expect((screen.getByLabelText(/^Email/) as HTMLInputElement).type).toBe("email");
    unmount();
    render(<Flow flow={flowOf("recovery-browser-invalid")} onSubmit={() => {}} />);
    expect(screen.getByLabelText(/^Recovery code/)).toBeTruthy();
    expect(screen.getByRole("alert").querySelector('[data-message-id="4060006"]')).not.toBeNull();
  });

  it("texts: a translation by id replaces the default, filled from the context", () => {
    render(
      <Flow
        flow={flowOf("registration-browser-invalid")}
        onSubmit={() => {}}
        texts={{ 4000032: "Mindestens {min_length} Zeichen, nicht {actual_length}.", 1040001: "Registrieren" }}
      />,
    );
    expect(screen.getByText("Mindestens 8 Zeichen, nicht 5.")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Registrieren" })).toBeTruthy();
  });

  it("formatText: unknown ids and missing context fall back to the server's text", () => {
    expect(formatText({ id: 1234567, text: "server text", type: "info" })).toBe("server text");
    expect(formatText({ id: 4000002, text: "Property email is missing.", type: "error" })).toBe("Property email is missing.");
    expect(formatText({ id: 4000002, text: "x", type: "error", context: { property: "email" } })).toBe("Property email is missing.");
  });
});
