package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/flows/hook"
)

func hooksCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hooks",
		Short: "Work with a project's hooks (JavaScript actions and webhooks)",
	}
	cmd.AddCommand(hooksTestCmd(e))
	return cmd
}

// errActionFailed makes the command exit 1 after printing the failure.
var errActionFailed = errors.New("the action failed")

func hooksTestCmd(e *env) *cobra.Command {
	var script, event, output, slug, hookID string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "test (--script action.js | --project SLUG --hook ID) --event event.json [--output json]",
		Short: "Run a JavaScript action against a sample event and print its decision",
		Long: `Runs an action in the same sandbox as the flows (time and memory limits,
no network, file system or timers) and prints its decision (allow or deny),
the messages it set, the identity changes, the console output and the time
it took — or the error that stopped it (with its line), in which case the
command exits 1.

The action is a file (--script) or a hook configured in a project
(--project and --hook, read from the database). The event is a JSON file
('-' for stdin) shaped like the events hooks receive:
  {"type": "registration.after", "identity": {"traits": {...}}, "flow": {...}, "request": {...}}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (script == "") == (slug == "" || hookID == "") {
				return errors.New("give either --script, or --project and --hook")
			}
			if event == "" {
				return errors.New("--event is required")
			}
			if output != "" && output != "json" && output != "text" {
				return fmt.Errorf("--output must be text or json, not %q", output)
			}
			ev, err := readFileOrStdin(event)
			if err != nil {
				return fmt.Errorf("--event: %w", err)
			}
			if !json.Valid(ev) {
				return fmt.Errorf("--event %s is not valid JSON", event)
			}
			src := ""
			if script != "" {
				b, err := os.ReadFile(script)
				if err != nil {
					return fmt.Errorf("--script: %w", err)
				}
				src = string(b)
			} else {
				a, err := openForCLI(cmd.Context(), e)
				if err != nil {
					return err
				}
				defer a.Close()
				p, err := a.deps.Registry.BySlug(cmd.Context(), slug)
				if err != nil {
					return fmt.Errorf("--project %s: %w", slug, err)
				}
				cfg, err := a.deps.Hooks.Load(cmd.Context(), p)
				if err != nil {
					return err
				}
				if src, timeout, err = findAction(cfg, hookID, timeout); err != nil {
					return err
				}
			}
			res, runErr := hook.NewEngine().Run(cmd.Context(), hook.RunParams{Script: src, Event: ev, Timeout: timeout})
			printActionResult(e.stdout, output == "json", res, runErr)
			if runErr != nil {
				return errActionFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&script, "script", "", "the action's JavaScript file")
	cmd.Flags().StringVar(&event, "event", "", "the sample event, a JSON file ('-' for stdin)")
	cmd.Flags().StringVar(&output, "output", "text", "output format: text or json")
	cmd.Flags().StringVar(&slug, "project", "", "project slug (with --hook)")
	cmd.Flags().StringVar(&hookID, "hook", "", "id of an action configured in the project")
	cmd.Flags().DurationVar(&timeout, "timeout", hook.DefaultActionTimeoutMS*time.Millisecond, "time limit of the run")
	return cmd
}

func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	}
	return os.ReadFile(path)
}

// findAction returns the script and time limit of action id in cfg.
func findAction(cfg hook.Config, id string, timeout time.Duration) (string, time.Duration, error) {
	for _, f := range []string{hook.FlowRegistration, hook.FlowLogin, hook.FlowSettings, hook.FlowRecovery, hook.FlowVerification} {
		for _, pt := range []string{hook.Before, hook.After} {
			for _, h := range allHooks(cfg, f, pt) {
				if h.Action != nil && h.Action.ID == id {
					if h.Action.TimeoutMS > 0 {
						timeout = time.Duration(h.Action.TimeoutMS) * time.Millisecond
					}
					return h.Action.Script, timeout, nil
				}
			}
		}
	}
	return "", 0, fmt.Errorf("--hook %s: the project has no action with this id", id)
}

// allHooks lists a block's hooks with those of every method.
func allHooks(cfg hook.Config, flow, point string) []hook.Hook {
	out := cfg.Hooks(flow, point, "")
	if point == hook.After {
		for _, m := range []string{"password", "oidc", "code", "webauthn", "passkey", "totp", "lookup_secret", "profile", "link"} {
			all := cfg.Hooks(flow, point, m)
			out = append(out, all[len(cfg.Hooks(flow, point, "")):]...)
		}
	}
	return out
}

func printActionResult(w io.Writer, asJSON bool, res *hook.ActionResult, runErr error) {
	if asJSON {
		out := struct {
			*hook.ActionResult
			Error any `json:"error,omitempty"`
		}{ActionResult: res}
		if runErr != nil {
			var se *hook.ScriptError
			if errors.As(runErr, &se) {
				out.Error = se
			} else {
				out.Error = map[string]string{"message": runErr.Error()}
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	if runErr != nil {
		fmt.Fprintf(w, "error: %s\n", runErr.Error())
		var se *hook.ScriptError
		if errors.As(runErr, &se) && se.Stack != "" {
			fmt.Fprintf(w, "%s\n", indent(se.Stack))
		}
	} else {
		fmt.Fprintf(w, "decision: %s\n", res.Decision)
	}
	for _, m := range res.Messages {
		for _, t := range m.Messages {
			fmt.Fprintf(w, "message %s: %s\n", m.InstancePtr, t.Text)
		}
	}
	if res.Identity != nil {
		for name, v := range map[string]json.RawMessage{"traits": res.Identity.Traits, "metadata_public": res.Identity.MetadataPublic, "metadata_admin": res.Identity.MetadataAdmin} {
			if v != nil {
				fmt.Fprintf(w, "set %s: %s\n", name, v)
			}
		}
	}
	if len(res.Logs) > 0 {
		fmt.Fprintln(w, "logs:")
		for _, l := range res.Logs {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "time: %.2f ms\n", res.DurationMS)
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
