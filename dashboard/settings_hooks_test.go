package dashboard_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/worker/courier"
)

// hookReceiver is a webhook endpoint that answers 200 and keeps the bodies.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(h.Close)
	return h
}

// registerThroughProject signs a user up on the project's public API (an
// API registration flow with a password), which runs its hooks.
func (e *env) registerThroughProject(slug, email string) resp {
	e.t.Helper()
	r := e.project("GET", slug, "/self-service/registration/api", nil, "")
	want(e.t, r, 200)
	action, _ := r.json(e.t)["ui"].(map[string]any)["action"].(string)
	u, err := url.Parse(action)
	if err != nil || action == "" {
		e.t.Fatalf("registration flow without an action: %s", r.body)
	}
	path := strings.TrimPrefix(u.Path, "/p/"+slug) + "?" + u.RawQuery
	return e.project("POST", slug, path, map[string]any{"method": "password", "traits": map[string]any{"email": email},
		"password": "a long enough password 42"}, "")
}

// The Hooks page's API: a viewer reads the hooks and the delivery log, an
// admin saves (validation errors with their place, a script's line and
// column, the secret shown once) and replays; both changes are audited.
func TestHooksThroughThePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, slug, _ := e.newProject(owner, ws, "hooked")
	base := "/api/v1/projects/" + pid + "/hooks"

	r := e.call("GET", base, nil, owner.token)
	want(t, r, 200)
	if !strings.Contains(string(r.body), `"hook":"session"`) {
		t.Fatalf("default hooks = %s", r.body)
	}

	// Bad input: 400 with the place, nothing saved.
	bad := map[string]any{"registration": map[string]any{"after": map[string]any{"hooks": []any{
		map[string]any{"hook": "web_hook", "config": map[string]any{"id": "bad", "url": "not a url", "method": "POST"}}}}}}
	er := wantError(t, e.call("PUT", base, bad, owner.token), 400)
	if !strings.Contains(str(er, "reason"), "registration.after") {
		t.Fatalf("bad URL error without its place: %v", er)
	}
	script := map[string]any{"login": map[string]any{"after": map[string]any{"hooks": []any{
		map[string]any{"hook": "action", "config": map[string]any{"id": "broken", "script": "export default function (event, api) {\n  return (;\n}"}}}}}}
	er = wantError(t, e.call("PUT", base, script, owner.token), 400)
	if d, _ := er["details"].(map[string]any); d == nil || d["line"] == nil || d["column"] == nil {
		t.Fatalf("script error without line and column: %v", er)
	}
	wantError(t, e.call("PUT", base, `{"registration": [}`, owner.token), 400)
	wantError(t, e.call("PUT", base, map[string]any{"nonsense": true}, owner.token), 400)
	if r := e.call("GET", base, nil, owner.token); strings.Contains(string(r.body), "broken") || strings.Contains(string(r.body), `"bad"`) {
		t.Fatalf("a refused configuration was stored: %s", r.body)
	}

	// A good one: a synchronous webhook to a local receiver, its secret once.
	rec := newHookReceiver(t)
	good := map[string]any{"registration": map[string]any{"after": map[string]any{"hooks": []any{
		map[string]any{"hook": "web_hook", "config": map[string]any{"id": "notify", "url": rec.URL + "/hook", "method": "POST", "can_interrupt": true}},
		map[string]any{"hook": "session"}}}}}
	r = e.call("PUT", base, good, owner.token)
	want(t, r, 200)
	var saved struct {
		Registration struct {
			After struct {
				Hooks []struct {
					Hook   string         `json:"hook"`
					Config map[string]any `json:"config"`
				} `json:"hooks"`
			} `json:"after"`
		} `json:"registration"`
	}
	decode(t, r.body, &saved)
	if h := saved.Registration.After.Hooks; len(h) != 2 || str(h[0].Config, "secret") == "" || h[0].Config["has_secret"] != true {
		t.Fatalf("saved hooks without the new secret: %s", r.body)
	}
	if r := e.call("GET", base, nil, owner.token); strings.Contains(string(r.body), `"secret":`) || !strings.Contains(string(r.body), rec.URL) {
		t.Fatalf("stored hooks show a secret or lost the URL: %s", r.body)
	}

	// A sign-up calls the webhook; the call is in the delivery log.
	want(t, e.registerThroughProject(slug, "hooked-"+uuid.NewString()[:8]+"@example.com"), 200)
	var list []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = e.call("GET", base+"/deliveries?hook_id=notify&status=succeeded", nil, owner.token)
		want(t, r, 200)
		decode(t, r.body, &list)
		if len(list) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(list) != 1 || list[0]["mode"] != "sync" {
		t.Fatalf("delivery log = %s", r.body)
	}
	did := str(list[0], "id")
	r = e.call("GET", base+"/deliveries/"+did, nil, owner.token)
	want(t, r, 200)
	if log, _ := r.json(t)["attempt_log"].([]any); len(log) == 0 || !strings.Contains(str(log[0].(map[string]any), "response_excerpt"), "ok") {
		t.Fatalf("delivery without attempts: %s", r.body)
	}
	wantError(t, e.call("GET", base+"/deliveries/"+uuid.NewString(), nil, owner.token), 404)
	wantError(t, e.call("GET", base+"/deliveries/not-a-uuid", nil, owner.token), 400)
	wantError(t, e.call("GET", base+"/deliveries?status=exploded", nil, owner.token), 400)
	// Paging: the Link header points at the platform route.
	want(t, e.registerThroughProject(slug, "hooked2-"+uuid.NewString()[:8]+"@example.com"), 200)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r = e.call("GET", base+"/deliveries?hook_id=notify&page_size=1", nil, owner.token)
		if link := r.header.Get("Link"); strings.Contains(link, base+"/deliveries?") || time.Now().After(deadline) {
			break
		}
	}
	link := r.header.Get("Link")
	if !strings.Contains(link, base+"/deliveries?") || !strings.Contains(link, "page_token=") {
		t.Fatalf("Link = %q, want the platform route with a page_token", link)
	}

	// Replay: admin, audited.
	r = e.call("POST", base+"/deliveries/"+did+"/replay", nil, owner.token)
	want(t, r, 202)
	if m := r.json(t); m["replay_of"] != did || m["mode"] != "async" {
		t.Fatalf("replay = %s", r.body)
	}

	// A viewer reads, and changes nothing.
	viewer := e.newAccount(true)
	e.join(owner, viewer, ws, "viewer")
	want(t, e.call("GET", base, nil, viewer.token), 200)
	want(t, e.call("GET", base+"/deliveries", nil, viewer.token), 200)
	want(t, e.call("GET", base+"/deliveries/"+did, nil, viewer.token), 200)
	for _, c := range []struct {
		method, path string
		body         any
	}{{"PUT", base, good}, {"POST", base + "/deliveries/" + did + "/replay", nil}} {
		if er := wantError(t, e.call(c.method, c.path, c.body, viewer.token), 403); er["id"] != "insufficient_role" {
			t.Errorf("viewer %s %s: %v", c.method, c.path, er)
		}
	}
	// An admin saves.
	admin := e.newAccount(true)
	e.join(owner, admin, ws, "admin")
	want(t, e.call("PUT", base, good, admin.token), 200)

	// Both kinds of change are in the workspace's audit log.
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit?page_size=100", nil, owner.token)
	want(t, r, 200)
	actions := map[string]int{}
	for _, it := range r.items(t) {
		actions[str(it.(map[string]any), "action")]++
	}
	if actions["hooks.update"] != 2 || actions["hooks.replay"] != 1 {
		t.Fatalf("audit actions = %v, want 2 hooks.update and 1 hooks.replay (refused saves are not audited)", actions)
	}

	// Plan gating answers 403 with the billing error id.
	if err := e.d.Billing.SetManualPlan(context.Background(), uuid.MustParse(ws), "free"); err != nil {
		t.Fatal(err)
	}
	withAction := map[string]any{"login": map[string]any{"after": map[string]any{"hooks": []any{map[string]any{"hook": "action",
		"config": map[string]any{"id": "gate", "script": "export default function (event, api) {}"}}}}}}
	if er := wantError(t, e.call("PUT", base, withAction, owner.token), 403); er["id"] != "billing_feature_js_actions" {
		t.Fatalf("JS action on Free: %v", er)
	}
}

// The Email page's API: the project's own SMTP server (404 in words while
// it uses the platform's), saved with a write-only password, a test send
// through Mailpit and through a closed port, and the message log.
func TestEmailSettingsThroughThePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, _, _ := e.newProject(owner, ws, "mailing")
	base := "/api/v1/projects/" + pid + "/email"

	er := wantError(t, e.call("GET", base+"/smtp", nil, owner.token), 404)
	if !strings.Contains(str(er, "reason"), "platform's SMTP server") {
		t.Fatalf("no settings: %v", er)
	}

	// A test send through the platform's server reaches Mailpit.
	to := mailbox(t)
	r := e.call("POST", base+"/smtp/test", map[string]any{"to": to}, owner.token)
	want(t, r, 200)
	if got := waitMailpit(t, to, 1, 10*time.Second); len(got) != 1 || got[0] != "Lanyard test email" {
		t.Fatalf("Mailpit has %q for %s, want the test email", got, to)
	}

	// Bad settings: 400 in words, nothing saved.
	for _, bad := range []any{
		map[string]any{"host": "", "port": 25},
		map[string]any{"host": "smtp.example.com", "port": 70000},
		map[string]any{"host": "smtp.example.com", "port": 25, "security": "maybe"},
		map[string]any{"host": "smtp.example.com", "port": 25, "from_address": "nobody"},
		map[string]any{"host": "smtp.example.com", "port": 25, "colour": "blue"},
		`{"host": `,
	} {
		wantError(t, e.call("PUT", base+"/smtp", bad, owner.token), 400)
	}
	wantError(t, e.call("GET", base+"/smtp", nil, owner.token), 404)

	// Mailpit as the project's own server, with a password that is never shown.
	r = e.call("PUT", base+"/smtp", map[string]any{"host": "127.0.0.1", "port": 1025, "security": "none",
		"password": "s3cret-pw", "from_address": "Mailing <hello@mailing.test>"}, owner.token)
	want(t, r, 200)
	if m := r.json(t); m["has_password"] != true || m["password"] != nil || strings.Contains(string(r.body), "s3cret") {
		t.Fatalf("saved settings = %s", r.body)
	}
	r = e.call("GET", base+"/smtp", nil, owner.token)
	want(t, r, 200)
	if m := r.json(t); m["host"] != "127.0.0.1" || m["has_password"] != true || strings.Contains(string(r.body), "s3cret") {
		t.Fatalf("settings = %s", r.body)
	}
	to2 := mailbox(t)
	want(t, e.call("POST", base+"/smtp/test", map[string]any{"to": to2}, owner.token), 200)
	if got := waitMailpit(t, to2, 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("Mailpit has %q for %s through the project's server", got, to2)
	}

	// A server that refuses: 400 smtp_test_failed with the error text.
	closed := closedPort(t)
	r = e.call("POST", base+"/smtp/test", map[string]any{"to": to2, "settings": map[string]any{"host": "127.0.0.1", "port": closed, "security": "none"}}, owner.token)
	er = wantError(t, r, 400)
	if er["id"] != "smtp_test_failed" || !strings.Contains(str(er, "reason"), "refused") {
		t.Fatalf("closed port: %s", r.body)
	}
	if d, _ := er["details"].(map[string]any); d == nil || str(d, "smtp_error") == "" {
		t.Fatalf("closed port without details.smtp_error: %s", r.body)
	}
	wantError(t, e.call("POST", base+"/smtp/test", map[string]any{"to": "not an address"}, owner.token), 400)
	wantError(t, e.call("POST", base+"/smtp/test", map[string]any{}, owner.token), 400)

	// The message log lists what the courier sent, paged with platform links.
	p, err := e.d.Registry.ByID(context.Background(), uuid.MustParse(pid))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := e.d.Courier.Send(context.Background(), p, courier.Message{Recipient: fmt.Sprintf("log%d@mailing.test", i), Subject: "Hi", Body: "Hello"}); err != nil {
			t.Fatal(err)
		}
	}
	r = e.call("GET", base+"/messages?page_size=1", nil, owner.token)
	want(t, r, 200)
	var msgs []map[string]any
	decode(t, r.body, &msgs)
	if len(msgs) != 1 || !strings.Contains(r.header.Get("Link"), base+"/messages?") {
		t.Fatalf("messages = %s, Link %q", r.body, r.header.Get("Link"))
	}
	want(t, e.call("GET", base+"/messages/"+str(msgs[0], "id"), nil, owner.token), 200)
	wantError(t, e.call("GET", base+"/messages?status=exploded", nil, owner.token), 400)

	// A viewer reads; writes are refused.
	viewer := e.newAccount(true)
	e.join(owner, viewer, ws, "viewer")
	want(t, e.call("GET", base+"/smtp", nil, viewer.token), 200)
	want(t, e.call("GET", base+"/messages", nil, viewer.token), 200)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", base + "/smtp", map[string]any{"host": "smtp.example.com", "port": 25}},
		{"DELETE", base + "/smtp", nil},
		{"POST", base + "/smtp/test", map[string]any{"to": to2}},
	} {
		if er := wantError(t, e.call(c.method, c.path, c.body, viewer.token), 403); er["id"] != "insufficient_role" {
			t.Errorf("viewer %s %s: %v", c.method, c.path, er)
		}
	}

	// Back to the platform's server.
	want(t, e.call("DELETE", base+"/smtp", nil, owner.token), 204)
	wantError(t, e.call("GET", base+"/smtp", nil, owner.token), 404)

	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit?page_size=100", nil, owner.token)
	want(t, r, 200)
	actions := map[string]int{}
	for _, it := range r.items(t) {
		actions[str(it.(map[string]any), "action")]++
	}
	if actions["email.smtp_update"] != 1 || actions["email.smtp_delete"] != 1 || actions["email.test_send"] != 2 {
		t.Fatalf("audit actions = %v", actions)
	}
}

// Another workspace's project is not found through any of these routes,
// and one project's settings do not leak into another's.
func TestHooksAndEmailIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	x := e.newAccount(true)
	y := e.newAccount(true)
	pX, _, _ := e.newProject(x, e.personal(x), "x")
	pY, _, _ := e.newProject(y, e.personal(y), "y")
	want(t, e.call("PUT", "/api/v1/projects/"+pY+"/email/smtp", map[string]any{"host": "smtp.y.test", "port": 587}, y.token), 200)
	did := uuid.NewString()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/projects/" + pY + "/hooks", nil},
		{"PUT", "/api/v1/projects/" + pY + "/hooks", map[string]any{}},
		{"GET", "/api/v1/projects/" + pY + "/hooks/deliveries", nil},
		{"GET", "/api/v1/projects/" + pY + "/hooks/deliveries/" + did, nil},
		{"POST", "/api/v1/projects/" + pY + "/hooks/deliveries/" + did + "/replay", nil},
		{"GET", "/api/v1/projects/" + pY + "/email/smtp", nil},
		{"PUT", "/api/v1/projects/" + pY + "/email/smtp", map[string]any{"host": "smtp.x.test", "port": 25}},
		{"DELETE", "/api/v1/projects/" + pY + "/email/smtp", nil},
		{"POST", "/api/v1/projects/" + pY + "/email/smtp/test", map[string]any{"to": "a@example.com"}},
		{"GET", "/api/v1/projects/" + pY + "/email/messages", nil},
		{"GET", "/api/v1/projects/" + pY + "/email/messages/" + did, nil},
	} {
		if er := wantError(t, e.call(c.method, c.path, c.body, x.token), 404); er["id"] != "project_not_found" && !strings.Contains(str(er, "reason"), "project") {
			t.Errorf("%s %s by another workspace: %v", c.method, c.path, er)
		}
	}
	// Y's settings are intact and X still uses the platform's server.
	r := e.call("GET", "/api/v1/projects/"+pY+"/email/smtp", nil, y.token)
	want(t, r, 200)
	if r.json(t)["host"] != "smtp.y.test" {
		t.Fatalf("Y's settings changed: %s", r.body)
	}
	wantError(t, e.call("GET", "/api/v1/projects/"+pX+"/email/smtp", nil, x.token), 404)
	// Anonymous callers get 401.
	wantError(t, e.call("GET", "/api/v1/projects/"+pY+"/hooks", nil, ""), 401)
}

// mailbox is a fresh Mailpit recipient for this test.
func mailbox(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "settings-" + hex.EncodeToString(b) + "@dashboard.test"
}

// waitMailpit returns the subjects Mailpit holds for address, polling
// until there are n.
func waitMailpit(t *testing.T, address string, n int, within time.Duration) []string {
	t.Helper()
	api := "http://127.0.0.1:8025/api/v1/search?limit=50&query=" + url.QueryEscape("to:"+address)
	var subjects []string
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(api)
		if err != nil {
			t.Fatalf("Mailpit: %v (is it running on :8025?)", err)
		}
		var out struct {
			Messages []struct {
				Subject string `json:"Subject"`
			} `json:"messages"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("Mailpit search: %v", err)
		}
		subjects = subjects[:0]
		for _, m := range out.Messages {
			subjects = append(subjects, m.Subject)
		}
		if len(subjects) >= n || time.Now().After(deadline) {
			return subjects
		}
	}
}

// closedPort is a local TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}
