package hook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

// site is one project served over real HTTP by the real router.
type site struct {
	t       testing.TB
	project *tenant.Project
	key     string
	srv     *httptest.Server
	base    string
	deps    server.Deps
}

func newSite(t *testing.T) *site { return newBenchSite(t) }

func newBenchSite(t testing.TB) *site {
	t.Helper()
	c := tenanttest.NewProject(t)
	deps := servertest.Deps(t)
	srv := httptest.NewServer(server.APIRouter(deps))
	t.Cleanup(srv.Close)
	return &site{t: t, project: c.Project, key: c.APIKey, srv: srv, base: srv.URL + "/p/" + c.Project.Slug, deps: deps}
}

// startWorker runs a worker on this test binary's queues until the test ends.
func (s *site) startWorker() { s.startWorkerN(4, 0) }

// startWorkerN runs a worker with n task slots and a per-project limit
// of perProject deliveries in flight (0: the defaults).
func (s *site) startWorkerN(n, perProject int) {
	s.t.Helper()
	env := tenanttest.Get(s.t)
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		s.t.Fatal(err)
	}
	w := worker.New(worker.Options{Redis: ropt, Queues: worker.Queues{Prefix: env.Namespace}, Registry: env.Registry,
		Hooks: s.deps.Hooks, RelayEvery: time.Second, Concurrency: n, HookConcurrency: perProject})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	s.t.Cleanup(func() { cancel(); <-done })
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (s *site) call(method, path string, body any, hdr map[string]string) resp {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = s.base + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	openapitest.CheckResponse(s.t, req, res.StatusCode, res.Header, b)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (s *site) admin(method, path string, body any) resp {
	s.t.Helper()
	return s.call(method, path, body, map[string]string{"Authorization": "Bearer " + s.key})
}

func want(t testing.TB, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
}

// setHooks saves a hook configuration and returns the answer.
func (s *site) setHooks(cfg string) map[string]any {
	s.t.Helper()
	var v any
	if err := json.Unmarshal([]byte(cfg), &v); err != nil {
		s.t.Fatal(err)
	}
	r := s.admin("PUT", "/admin/hooks", v)
	want(s.t, r, 200)
	return r.json(s.t)
}

// register submits an API registration and returns the answer.
func (s *site) register(email string) resp {
	s.t.Helper()
	r := s.call("GET", "/self-service/registration/api", nil, nil)
	want(s.t, r, 200)
	action := r.json(s.t)["ui"].(map[string]any)["action"].(string)
	return s.call("POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": email}, "password": "a long enough password 42"}, nil)
}

// nodeMessages returns the message texts of the node named name.
func nodeMessages(t testing.TB, flow map[string]any, name string) []string {
	t.Helper()
	var out []string
	for _, n := range flow["ui"].(map[string]any)["nodes"].([]any) {
		nm := n.(map[string]any)
		if nm["attributes"].(map[string]any)["name"] != name {
			continue
		}
		for _, m := range nm["messages"].([]any) {
			out = append(out, m.(map[string]any)["text"].(string))
		}
	}
	return out
}

// deliveries polls the delivery log until ok accepts it.
func (s *site) deliveries(query string, ok func([]map[string]any) bool) []map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.admin("GET", "/admin/hooks/deliveries"+query, nil)
		want(s.t, r, 200)
		var list []map[string]any
		if err := json.Unmarshal(r.body, &list); err != nil {
			s.t.Fatal(err)
		}
		if ok(list) {
			return list
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("delivery log never matched; last: %s", r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHookConfigValidationSecretsAndIsolation(t *testing.T) {
	t.Parallel()
	s := newSite(t)

	// The default: a session after registration.
	r := s.admin("GET", "/admin/hooks", nil)
	want(t, r, 200)
	if !strings.Contains(string(r.body), `"hook":"session"`) {
		t.Fatalf("default hooks = %s", r.body)
	}
	for name, c := range map[string]struct{ cfg, want string }{
		"bad url":      {`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"url":"ftp://x","method":"POST"}}]}}}`, "absolute http(s) URL"},
		"unknown hook": {`{"login":{"after":{"hooks":[{"hook":"teleport"}]}}}`, `unknown hook \"teleport\"`},
		"misplaced":    {`{"login":{"after":{"hooks":[{"hook":"session"}]}}}`, "cannot run here"},
		"bad method":   {`{"login":{"after":{"frobnicate":{"hooks":[]}}}}`, "not a method"},
		"jsonnet":      {`{"login":{"after":{"hooks":[{"hook":"web_hook","config":{"url":"https://example.com","method":"POST","body":"base64://e30="}}]}}}`, "Jsonnet"},
		"timeout":      {`{"login":{"after":{"hooks":[{"hook":"web_hook","config":{"url":"https://example.com","method":"POST","can_interrupt":true,"timeout_ms":60000}}]}}}`, "timeout_ms"},
		"script":       {`{"registration":{"after":{"hooks":[{"hook":"action","config":{"id":"a1","script":"export default function (e, api) {\n  if (\n}"}}]}}}`, "does not compile"},
	} {
		var v any
		_ = json.Unmarshal([]byte(c.cfg), &v)
		r := s.admin("PUT", "/admin/hooks", v)
		want(t, r, 400)
		if !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s: body %s, want %q", name, r.body, c.want)
		}
		if name == "script" {
			d := r.json(t)["error"].(map[string]any)["details"].(map[string]any)
			if d["line"] != float64(3) || d["column"] == float64(0) {
				t.Errorf("script error details = %v, want line 3 and a column", d)
			}
		}
	}

	// A webhook without a secret gets one, shown once; reads show none.
	saved := s.setHooks(`{"login":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"audit","url":"https://example.com/hook","method":"POST",
		"auth":{"type":"api_key","config":{"name":"X-Api-Key","value":"very secret value"}}}}]}}}`)
	cfg := saved["login"].(map[string]any)["after"].(map[string]any)["hooks"].([]any)[0].(map[string]any)["config"].(map[string]any)
	if sec, _ := cfg["secret"].(string); !strings.HasPrefix(sec, "whsec_") || cfg["has_secret"] != true {
		t.Fatalf("saved webhook = %v, want a new whsec_ secret", cfg)
	}
	r = s.admin("GET", "/admin/hooks", nil)
	if strings.Contains(string(r.body), "whsec_") || strings.Contains(string(r.body), "very secret value") || strings.Contains(string(r.body), "sealed") {
		t.Fatalf("GET shows secrets: %s", r.body)
	}
	// Stored sealed: the settings row holds neither secret in clear.
	var raw string
	if err := s.deps.DB.InTx(context.Background(), s.project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT value::text FROM project_settings WHERE key = 'hooks'`).Scan(&raw)
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "whsec_") || strings.Contains(raw, "very secret value") {
		t.Fatalf("stored hooks hold a secret in clear: %s", raw)
	}

	// Isolation: another project's key reaches neither the config nor the log.
	other := newSite(t)
	r = s.call("GET", "/admin/hooks", nil, map[string]string{"Authorization": "Bearer " + other.key})
	want(t, r, 401)
	r = s.call("PUT", "/admin/hooks", map[string]any{}, map[string]string{"Authorization": "Bearer " + other.key})
	want(t, r, 401)
	r = s.call("GET", "/admin/hooks/deliveries", nil, map[string]string{"Authorization": "Bearer " + other.key})
	want(t, r, 401)
	want(t, s.call("GET", "/admin/hooks", nil, nil), 401)
}

// receiver is a real HTTP webhook receiver on 127.0.0.1.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	answer atomic.Value // func(body []byte) (int, string)
}

func newReceiver(t *testing.T, answer func(body []byte) (int, string)) *receiver {
	r := &receiver{}
	r.answer.Store(answer)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.sigs = append(r.sigs, req.Header.Get(hook.HeaderSignature))
		r.mu.Unlock()
		code, body := r.answer.Load().(func([]byte) (int, string))(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// verify checks a Lanyard-Signature the way a receiver would.
func verify(secret, header string, body []byte) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(n, 0)) > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	want, _ := hex.DecodeString(sig)
	return hmac.Equal(m.Sum(nil), want)
}

func TestSyncWebhookInterruptsRegistrationWithFieldMessage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	rec := newReceiver(t, func(b []byte) (int, string) {
		return 400, `{"messages":[{"instance_ptr":"#/traits/email","messages":[{"id":4000001,"text":"This domain is not allowed.","type":"error"}]}]}`
	})
	s.setHooks(`{"registration":{"after":{"password":{"hooks":[{"hook":"web_hook","config":{"id":"gate","url":"` + rec.URL + `","method":"POST","can_interrupt":true}},{"hook":"session"}]}}}}`)
	r := s.register("someone@blocked.example")
	want(t, r, 400)
	if got := nodeMessages(t, r.json(t), "traits.email"); len(got) != 1 || got[0] != "This domain is not allowed." {
		t.Fatalf("traits.email messages = %q; flow %s", got, r.body)
	}
	// The identity was not kept.
	var n int
	_ = s.deps.DB.InTx(context.Background(), s.project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM identities`).Scan(&n)
	})
	if n != 0 {
		t.Fatalf("%d identities after an interrupted registration, want 0", n)
	}
	// The receiver saw the identity and the flow in plain JSON.
	var ev map[string]any
	_ = json.Unmarshal(rec.bodies[0], &ev)
	if ev["type"] != "registration.after" || ev["identity"].(map[string]any)["traits"].(map[string]any)["email"] != "someone@blocked.example" ||
		ev["flow"].(map[string]any)["method"] != "password" {
		t.Fatalf("event = %s", rec.bodies[0])
	}
	// The request's public URL, the project's path prefix once.
	if u, _ := ev["request"].(map[string]any)["url"].(string); !strings.HasPrefix(u, s.base+"/self-service/registration?flow=") {
		t.Fatalf("request.url = %q, want %s/self-service/registration?flow=...", u, s.base)
	}
	// The call is in the delivery log.
	s.deliveries("?hook_id=gate", func(l []map[string]any) bool {
		return len(l) == 1 && l[0]["mode"] == "sync" && l[0]["status"] == "succeeded"
	})
}

func TestSyncWebhookParseChangesTraitsBeforeSave(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	rec := newReceiver(t, func(b []byte) (int, string) {
		return 200, `{"identity":{"traits":{"email":"changed@example.com"},"metadata_public":{"source":"webhook"}}}`
	})
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"shape","url":"` + rec.URL + `","method":"POST","response":{"parse":true}}},{"hook":"session"}]}}}`)
	r := s.register("original@example.com")
	want(t, r, 200)
	id := r.json(t)["identity"].(map[string]any)
	if id["traits"].(map[string]any)["email"] != "changed@example.com" || id["metadata_public"].(map[string]any)["source"] != "webhook" {
		t.Fatalf("identity = %v", id)
	}
	// Stored as changed: the admin API sees the new email.
	r = s.admin("GET", "/admin/identities/"+id["id"].(string), nil)
	want(t, r, 200)
	if !strings.Contains(string(r.body), "changed@example.com") {
		t.Fatalf("stored identity = %s", r.body)
	}
}

func TestSyncWebhookFailurePolicy(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	rec := newReceiver(t, func(b []byte) (int, string) { return 503, `{}` })
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"closed","url":"` + rec.URL + `","method":"POST","can_interrupt":true}},{"hook":"session"}]}}}`)
	want(t, s.register("a@example.com"), 502)
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"open","url":"` + rec.URL + `","method":"POST","can_interrupt":true,"on_error":"fail_open"}},{"hook":"session"}]}}}`)
	want(t, s.register("b@example.com"), 200)
	slow := newReceiver(t, func(b []byte) (int, string) { time.Sleep(500 * time.Millisecond); return 204, "" })
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"slow","url":"` + slow.URL + `","method":"POST","can_interrupt":true,"timeout_ms":100}},{"hook":"session"}]}}}`)
	want(t, s.register("c@example.com"), 504)
}

func TestAsyncWebhookSignedRetriedAndReplayed(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.startWorker()
	var down atomic.Bool
	down.Store(true)
	rec := newReceiver(t, func(b []byte) (int, string) {
		if down.Load() {
			return 503, "receiver down"
		}
		return 200, `{"ok":true}`
	})
	saved := s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"crm","url":"` + rec.URL + `","method":"POST",
		"retry":{"max_attempts":3,"initial_interval_ms":300}}},{"hook":"session"}]}}}`)
	secret := saved["registration"].(map[string]any)["after"].(map[string]any)["hooks"].([]any)[0].(map[string]any)["config"].(map[string]any)["secret"].(string)

	// Receiver down for the first attempt, then up: delivered after a retry.
	want(t, s.register("async@example.com"), 200)
	s.deliveries("?hook_id=crm", func(l []map[string]any) bool { return len(l) == 1 && l[0]["attempts"].(float64) >= 1 })
	down.Store(false)
	list := s.deliveries("?hook_id=crm", func(l []map[string]any) bool { return len(l) == 1 && l[0]["status"] == "succeeded" })
	r := s.admin("GET", "/admin/hooks/deliveries/"+list[0]["id"].(string), nil)
	want(t, r, 200)
	d := r.json(t)
	attempts := d["attempt_log"].([]any)
	if len(attempts) < 2 || attempts[0].(map[string]any)["status_code"] != float64(503) || attempts[len(attempts)-1].(map[string]any)["status_code"] != float64(200) {
		t.Fatalf("attempts = %v, want a 503 then a 200", attempts)
	}
	rec.mu.Lock()
	last, sig := rec.bodies[len(rec.bodies)-1], rec.sigs[len(rec.sigs)-1]
	rec.mu.Unlock()
	if !verify(secret, sig, last) || verify("whsec_wrong", sig, last) {
		t.Fatalf("signature %q does not verify with the hook's secret", sig)
	}

	// Receiver down for good: the delivery fails after its attempts...
	down.Store(true)
	want(t, s.register("async2@example.com"), 200)
	failed := s.deliveries("?hook_id=crm&status=failed", func(l []map[string]any) bool { return len(l) == 1 })
	if failed[0]["attempts"] != float64(3) {
		t.Fatalf("failed delivery = %v, want 3 attempts", failed[0])
	}
	// ...and a replay once it is back delivers the same payload.
	down.Store(false)
	before := rec.calls()
	r = s.admin("POST", "/admin/hooks/deliveries/"+failed[0]["id"].(string)+"/replay", nil)
	want(t, r, 202)
	replay := r.json(t)
	if replay["replay_of"] != failed[0]["id"] {
		t.Fatalf("replay = %v", replay)
	}
	s.deliveries("?hook_id=crm&status=succeeded", func(l []map[string]any) bool {
		for _, d := range l {
			if d["id"] == replay["id"] {
				return true
			}
		}
		return false
	})
	rec.mu.Lock()
	got := rec.bodies[len(rec.bodies)-1]
	rec.mu.Unlock()
	if rec.calls() <= before || !bytes.Equal(got, rec.bodies[before-1]) {
		t.Fatalf("replayed body differs from the original")
	}

	// Another project cannot read or replay this project's deliveries.
	other := newSite(t)
	want(t, other.admin("GET", "/admin/hooks/deliveries/"+failed[0]["id"].(string), nil), 404)
	want(t, other.admin("POST", "/admin/hooks/deliveries/"+failed[0]["id"].(string)+"/replay", nil), 404)
	want(t, s.admin("GET", "/admin/hooks/deliveries?status=bogus", nil), 400)
	want(t, s.admin("GET", "/admin/hooks/deliveries/not-a-uuid", nil), 400)
}

func TestAsyncWebhookSurvivesLostHandOff(t *testing.T) {
	t.Parallel()
	// No queue client: the flow only writes the outbox; the relay sweep
	// hands the delivery to the worker later.
	s := newSite(t)
	env := tenanttest.Get(t)
	s.deps.Hooks = hook.New(hook.Options{DB: env.DB, Registry: env.Registry, Identities: s.deps.Identities, Secrets: env.Config.SecretKeys(),
		AllowPrivate: true, RelayGrace: time.Millisecond})
	s.srv.Config.Handler = server.APIRouter(s.deps)
	rec := newReceiver(t, func(b []byte) (int, string) { return 204, "" })
	s.setHooks(`{"login":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"late","url":"` + rec.URL + `","method":"POST"}}]}},
		"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"late2","url":"` + rec.URL + `","method":"POST"}},{"hook":"session"}]}}}`)
	want(t, s.register("outbox@example.com"), 200)
	list := s.deliveries("?hook_id=late2", func(l []map[string]any) bool { return len(l) == 1 })
	if list[0]["status"] != "pending" || rec.calls() != 0 {
		t.Fatalf("delivery = %v, calls %d: want pending and not sent", list[0], rec.calls())
	}
	// A worker whose service can enqueue relays and delivers it.
	ropt, _ := asynq.ParseRedisURI(env.RedisURL)
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { _ = client.Close() })
	s.deps.Hooks = hook.New(hook.Options{DB: env.DB, Registry: env.Registry, Identities: s.deps.Identities, Secrets: env.Config.SecretKeys(),
		AllowPrivate: true, RelayGrace: time.Millisecond, Client: client, Queue: env.Namespace + "hooks"})
	s.startWorker()
	s.deliveries("?hook_id=late2", func(l []map[string]any) bool { return len(l) == 1 && l[0]["status"] == "succeeded" })
}

func TestBuiltinHooks(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	// Without the session hook a registration creates no session (Kratos).
	s.setHooks(`{"registration":{"after":{"hooks":[]}},"login":{"after":{"hooks":[{"hook":"require_verified_address"}]}},"recovery":{"after":{"hooks":[]}}}`)
	r := s.register("nosession@example.com")
	want(t, r, 200)
	body := r.json(t)
	if _, ok := body["session_token"]; ok || body["identity"].(map[string]any)["traits"].(map[string]any)["email"] != "nosession@example.com" {
		t.Fatalf("registration without the session hook = %s", r.body)
	}
	// The built-ins that live in the flow configuration follow the hooks.
	r = s.admin("GET", "/admin/hooks", nil)
	want(t, r, 200)
	cfg := r.json(t)
	if !strings.Contains(string(r.body), `"require_verified_address"`) || strings.Contains(string(r.body), `"revoke_active_sessions"`) {
		t.Fatalf("hooks = %s", r.body)
	}
	if cfg["version"].(float64) < 1 {
		t.Fatalf("version = %v", cfg["version"])
	}
	// Putting the session hook back (Kratos moves it last) issues sessions again.
	s.setHooks(`{"registration":{"after":{"hooks":[{"hook":"session"},{"hook":"action","config":{"id":"noop","script":"export default function () {}"}}]}}}`)
	r = s.admin("GET", "/admin/hooks", nil)
	hooks := r.json(t)["registration"].(map[string]any)["after"].(map[string]any)["hooks"].([]any)
	if hooks[len(hooks)-1].(map[string]any)["hook"] != "session" {
		t.Fatalf("session hook not last: %v", hooks)
	}
	r = s.register("withsession@example.com")
	want(t, r, 200)
	if _, ok := r.json(t)["session_token"]; !ok {
		t.Fatalf("registration with the session hook = %s", r.body)
	}
}

// TestSlowProjectDoesNotStarveOthers: a project whose receiver is slow has
// a backlog of deliveries; another project's delivery does not wait behind
// it. Not parallel: the per-project limit is a worker setting, and the
// workers of parallel tests would apply their own.
func TestSlowProjectDoesNotStarveOthers(t *testing.T) {
	slowSite, quickSite := newSite(t), newSite(t)
	slowSite.startWorkerN(4, 2)
	var slowCount atomic.Int32
	slow := newReceiver(t, func([]byte) (int, string) {
		time.Sleep(time.Second)
		slowCount.Add(1)
		return 204, ""
	})
	seen := make(chan int32, 1)
	quick := newReceiver(t, func([]byte) (int, string) {
		select {
		case seen <- slowCount.Load():
		default:
		}
		return 204, ""
	})
	const backlog = 20
	slowSite.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"slow","url":"` + slow.URL + `","method":"POST"}},{"hook":"session"}]}}}`)
	quickSite.setHooks(`{"registration":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"quick","url":"` + quick.URL + `","method":"POST"}},{"hook":"session"}]}}}`)
	for i := range backlog {
		want(t, slowSite.register("slow"+strconv.Itoa(i)+"@example.com"), 200)
	}
	want(t, quickSite.register("quick@example.com"), 200)
	select {
	case n := <-seen:
		// With 4 task slots and no per-project limit the quick delivery
		// would queue behind the whole backlog (4 per second).
		if n >= backlog-4 {
			t.Fatalf("the other project's delivery arrived after %d of %d slow deliveries", n, backlog)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the other project's delivery never arrived")
	}
}
