package hook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// actionConfig puts script as a JavaScript action after registration.
func actionConfig(t *testing.T, id, script string, extra string) string {
	t.Helper()
	b, _ := json.Marshal(script)
	return `{"registration":{"after":{"hooks":[{"hook":"action","config":{"id":"` + id + `","script":` + string(b) + extra + `}},{"hook":"session"}]}}}`
}

func TestActionDeniesDomainAndSetsMetadata(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.setHooks(actionConfig(t, "gate", `export default function (event, api) {
  const email = event.identity.traits.email;
  console.log("sign-up from", email.split("@")[1]);
  if (email.endsWith("@blocked.example")) {
    api.deny("Sign-ups from this domain are not allowed.", "traits.email");
    return;
  }
  api.setMetadataPublic({ plan: "free", domain: email.split("@")[1] });
}`, ""))
	r := s.register("mallory@blocked.example")
	want(t, r, 400)
	if got := nodeMessages(t, r.json(t), "traits.email"); len(got) != 1 || got[0] != "Sign-ups from this domain are not allowed." {
		t.Fatalf("traits.email messages = %q", got)
	}
	r = s.register("alice@example.com")
	want(t, r, 200)
	if mp := r.json(t)["identity"].(map[string]any)["metadata_public"].(map[string]any); mp["plan"] != "free" || mp["domain"] != "example.com" {
		t.Fatalf("metadata_public = %v", mp)
	}
	// Both runs are logged with their console output.
	list := s.deliveries("?hook_id=gate", func(l []map[string]any) bool { return len(l) == 2 })
	for _, d := range list {
		r := s.admin("GET", "/admin/hooks/deliveries/"+d["id"].(string), nil)
		want(t, r, 200)
		logs := r.json(t)["attempt_log"].([]any)[0].(map[string]any)["logs"].([]any)
		if len(logs) != 1 || !strings.HasPrefix(logs[0].(string), "sign-up from ") {
			t.Fatalf("logs = %v", logs)
		}
	}
}

func TestActionLimitsAndErrors(t *testing.T) {
	t.Parallel()
	s := newSite(t)

	// An infinite loop is stopped at the time limit; the flow fails closed.
	s.setHooks(actionConfig(t, "loop", "export default function () { for (;;) {} }", `,"timeout_ms":50`))
	r := s.register("loop@example.com")
	want(t, r, 502)
	if strings.Contains(string(r.body), "for (;;)") {
		t.Fatalf("the end user sees the script: %s", r.body)
	}
	s.deliveries("?hook_id=loop&status=failed", func(l []map[string]any) bool {
		return len(l) == 1 && strings.Contains(l[0]["last_error"].(string), "time limit")
	})

	// A memory bomb is stopped while the server keeps answering.
	s.setHooks(actionConfig(t, "bomb", `export default function () { const a = []; for (;;) a.push({i: a.length}); }`, `,"timeout_ms":1000`))
	var wg sync.WaitGroup
	var bombStatus int
	wg.Add(1)
	go func() {
		defer wg.Done()
		bombStatus = s.register("bomb@example.com").status
	}()
	for range 5 {
		res, err := http.Get(s.base + "/health/alive")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("the server stopped answering during the memory bomb: %v", err)
		}
		res.Body.Close()
	}
	wg.Wait()
	if bombStatus != 502 {
		t.Fatalf("memory bomb registration = %d, want 502", bombStatus)
	}
	// Stopped at the VM's memory limit (or, on a machine too busy for the
	// bomb to grow fast, at the time limit).
	s.deliveries("?hook_id=bomb&status=failed", func(l []map[string]any) bool {
		return len(l) == 1 && (strings.Contains(l[0]["last_error"].(string), "memory limit") || strings.Contains(l[0]["last_error"].(string), "time limit"))
	})

	// A script that throws is logged with its line; fail_open lets the flow on.
	s.setHooks(actionConfig(t, "oops", "export default function (event) {\n  const x = event.nothing;\n  return x.deeper;\n}", `,"on_error":"fail_open"`))
	want(t, s.register("oops@example.com"), 200)
	list := s.deliveries("?hook_id=oops", func(l []map[string]any) bool { return len(l) == 1 })
	if e := list[0]["last_error"].(string); !strings.Contains(e, "TypeError") || !strings.Contains(e, "line 3") {
		t.Fatalf("logged error = %q, want a TypeError at line 3", e)
	}
	// A registration after all that still works.
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"session"}]}}}`)
	want(t, s.register("after@example.com"), 200)
}

func TestHostedModeRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	s := newSite(t)
	s.deps.Hooks = hook.New(hook.Options{DB: env.DB, Registry: env.Registry, Identities: s.deps.Identities, Secrets: env.Config.SecretKeys()})
	s.srv.Config.Handler = serverRouter(s)
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/hook", "http://localhost:9999/hook"} {
		var v any
		_ = json.Unmarshal([]byte(`{"login":{"after":{"hooks":[{"hook":"web_hook","config":{"url":"`+u+`","method":"POST"}}]}}}`), &v)
		r := s.admin("PUT", "/admin/hooks", v)
		want(t, r, 400)
		if !strings.Contains(string(r.body), "is refused") {
			t.Errorf("%s: %s", u, r.body)
		}
	}
	// The dialer checks every connection (also those of redirects): a
	// receiver on loopback is not reached even when the URL got through.
	rec := newReceiver(t, func([]byte) (int, string) { return 200, "{}" })
	err := hook.NewClient(false).Probe(context.Background(), rec.URL)
	if !errors.Is(err, hook.ErrBlockedAddress) || rec.calls() != 0 {
		t.Fatalf("hosted call to %s: %v (calls %d), want ErrBlockedAddress", rec.URL, err, rec.calls())
	}
	redirect := newReceiver(t, nil)
	redirect.Config.Handler = http.RedirectHandler(rec.URL, http.StatusFound)
	if err := hook.NewClient(true).Probe(context.Background(), redirect.URL); err != nil {
		t.Fatalf("self-hosted call through a redirect: %v", err)
	}
	if err := hook.NewClient(false).Probe(context.Background(), "http://localhost:"+strings.Split(rec.URL, ":")[2]); !errors.Is(err, hook.ErrBlockedAddress) {
		t.Fatalf("hosted call to localhost: %v", err)
	}
}

func serverRouter(s *site) http.Handler { return server.APIRouter(s.deps) }

func TestActionsInLoginAndSettings(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	want(t, s.register("member@example.com"), 200)
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"session"}]}},
		"login":{"after":{"password":{"hooks":[{"hook":"action","config":{"id":"login-gate","script":"export default function (event, api) { if (event.request.user_agent === 'blocked-agent') api.deny('Sign-in from this client is not allowed.'); else api.setMetadataPublic({ last_login_method: event.flow.method }); }"}}]}}},
		"settings":{"after":{"hooks":[{"hook":"action","config":{"id":"settings-gate","script":"export default function (event, api) { if (event.identity.traits.email === 'member@example.com') api.setMetadataPublic({ settings_seen: true }); }"}}]}}}`)
	login := func(agent string) resp {
		r := s.call("GET", "/self-service/login/api", nil, nil)
		action := r.json(t)["ui"].(map[string]any)["action"].(string)
		return s.call("POST", action, map[string]any{"method": "password", "identifier": "member@example.com", "password": "a long enough password 42"},
			map[string]string{"User-Agent": agent})
	}
	r := login("blocked-agent")
	want(t, r, 400)
	if !strings.Contains(string(r.body), "Sign-in from this client is not allowed.") {
		t.Fatalf("denied login = %s", r.body)
	}
	r = login("good-agent")
	want(t, r, 200)
	tok := r.json(t)["session_token"].(string)
	if mp := r.json(t)["session"].(map[string]any)["identity"].(map[string]any)["metadata_public"]; mp == nil || mp.(map[string]any)["last_login_method"] != "password" {
		t.Fatalf("session identity metadata_public = %v", mp)
	}
	hdr := map[string]string{"X-Session-Token": tok}
	r = s.call("GET", "/self-service/settings/api", nil, hdr)
	want(t, r, 200)
	action := r.json(t)["ui"].(map[string]any)["action"].(string)
	r = s.call("POST", action, map[string]any{"method": "profile", "traits": map[string]any{"email": "member@example.com"}}, hdr)
	want(t, r, 200)
	id := r.json(t)["identity"].(map[string]any)["id"].(string)
	r = s.admin("GET", "/admin/identities/"+id, nil)
	if !strings.Contains(string(r.body), `"settings_seen":true`) {
		t.Fatalf("identity after settings = %s", r.body)
	}
}
