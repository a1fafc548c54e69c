package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHooksTestCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	action := write("action.js", `export default function (event, api) {
  console.log("checking", event.identity.traits.email);
  if (event.identity.traits.email.endsWith("@blocked.example")) {
    api.deny("Sign-ups from this domain are not allowed.", "traits.email");
  }
}`)
	event := write("event.json", `{"type":"registration.after","identity":{"traits":{"email":"eve@blocked.example"}}}`)
	env := map[string]string{"LANYARD_MODE": "dev", "LANYARD_DATA_DIR": dir}

	out, err := runCLI(t, env, "hooks", "test", "--script", action, "--event", event)
	if err != nil || !strings.Contains(out, "decision: deny") || !strings.Contains(out, "message #/traits/email: Sign-ups from this domain are not allowed.") ||
		!strings.Contains(out, "checking eve@blocked.example") {
		t.Fatalf("text output = %q, %v", out, err)
	}
	out, err = runCLI(t, env, "hooks", "test", "--script", action, "--event", event, "--output", "json")
	var res struct {
		Decision string   `json:"decision"`
		Logs     []string `json:"logs"`
	}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Decision != "deny" || len(res.Logs) != 1 {
		t.Fatalf("json output = %q, %v", out, err)
	}

	loop := write("loop.js", "export default function () {\n  for (;;) {}\n}")
	out, err = runCLI(t, env, "hooks", "test", "--script", loop, "--event", event, "--timeout", "50ms")
	if !errors.Is(err, errActionFailed) || !strings.Contains(out, "time limit") {
		t.Fatalf("infinite loop: %q, %v", out, err)
	}
	broken := write("broken.js", "export default function (event) {\n  return event.a.b.c;\n}")
	out, err = runCLI(t, env, "hooks", "test", "--script", broken, "--event", event, "--output", "json")
	if !errors.Is(err, errActionFailed) || !strings.Contains(out, `"line": 2`) {
		t.Fatalf("script error: %q, %v", out, err)
	}
	if _, err := runCLI(t, env, "hooks", "test", "--event", event); err == nil {
		t.Fatal("no --script nor --project: want an error")
	}
}
