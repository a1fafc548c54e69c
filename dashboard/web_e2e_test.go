package dashboard_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/billing/billingtest"
	"github.com/lanyard-id/lanyard/dashboard"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// TestWebRoutesLeaveTheAPIAlone checks the dashboard router with the app
// mounted: the API, flow, health and metrics routes answer as before, an
// unknown API path is a 404 in the error envelope, and every other GET is
// the app's page (or the placeholder when the app is not built).
func TestWebRoutesLeaveTheAPIAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	page := func(path string) {
		t.Helper()
		r := e.callWith("GET", path, nil, nil)
		if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || r.header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s: %d %v, want the app's page", path, r.code, r.header)
		}
		if !strings.Contains(string(r.body), `<div id="root">`) && !strings.Contains(string(r.body), "not built into this binary") {
			t.Fatalf("GET %s: %s", path, r.body)
		}
	}
	page("/")
	page("/login")
	page("/projects/" + "6f1c2f52-4a8e-4c55-9f61-1f0c1c8f1a11" + "/users")

	// Unknown API paths (not in the OpenAPI document, so not checked
	// against it): the API's 404, not the app.
	for _, p := range []string{"/api/v1/nope", "/api/v2/me", "/self-service/nope", "/sessions/nope/x", "/schemas/a/b/c"} {
		req := httptest.NewRequest("GET", p, nil)
		req.Host = "localhost:4000"
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		e.router.ServeHTTP(rec, req)
		if er := wantError(t, resp{code: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}, 404); er["message"] == "" {
			t.Fatalf("GET %s: %s", p, rec.Body)
		}
	}
	if r := e.callWith("POST", "/projects", "{}", nil); r.code != 404 {
		t.Fatalf("POST to an app path: %d %s", r.code, r.body)
	}
	wantError(t, e.call("GET", "/api/v1/me", nil, ""), 401)
	if r := e.callWith("GET", "/sessions/whoami", nil, func(r *http.Request) { r.Header.Set("Accept", "application/json") }); r.code != 401 {
		t.Fatalf("whoami without a session: %d %s", r.code, r.body)
	}
	r := e.callWith("GET", "/self-service/login/api", nil, nil)
	if r.code != 200 || r.json(t)["ui"] == nil {
		t.Fatalf("the console login flow: %d %s", r.code, r.body)
	}
	if r := e.callWith("GET", "/health/alive", nil, nil); r.code != 200 || strings.Contains(string(r.body), "<html") {
		t.Fatalf("/health/alive: %d %s", r.code, r.body)
	}
	if r := e.callWith("GET", "/metrics", nil, func(r *http.Request) { r.Host = "127.0.0.1:4000" }); r.code != 200 || strings.Contains(string(r.body), "<html") {
		t.Fatalf("/metrics: %d", r.code)
	}
}

// TestDashboardBrowserE2E is the dashboard's acceptance test: headless
// Chromium (playwright-core, sdk/js/dashboard/e2e/e2e.test.mjs) drives the
// built app against a real dashboard and project API: sign up, verify
// the address with the mailed code, create a project and an API key, use
// the key to create a user, find the user, edit a trait, revoke its
// session, sign out and in, open the billing page (billing on, against
// stripe-mock), invite a viewer who sees no admin buttons. Screenshots go to
// test-output/dashboard-e2e/. It needs the built app (make web) and
// Chromium; without them it skips.
func TestDashboardBrowserE2E(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "dashboard", "web", "dist", "index.html")); err != nil {
		t.Skip("dashboard/web/dist has no index.html: build the app first (make web)")
	}
	js := filepath.Join(root, "sdk", "js")
	if _, err := os.Stat(filepath.Join(js, "node_modules", "playwright-core")); err != nil {
		t.Skip("sdk/js/node_modules has no playwright-core: run `npm ci` in sdk/js first")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("Chromium is not installed at %s (apt-get install chromium)", chromium)
	}

	// Both servers listen before the routers exist, so that the
	// configuration names their real URLs: the dashboard's (the console
	// project's base URL and the platform API's origin) and the project
	// API's (every project's URL, path-routed). The console project is
	// shared by the package's tests and keeps the configuration they
	// expect: the app does not depend on its UI URLs, and return_to always
	// allows the console's base URL, this dashboard's here.
	dash, api := listen(t), listen(t)
	d := servertest.Deps(t)
	consoleOnce.Lock()
	_, err = dashboard.EnsureConsole(context.Background(), d.Registry, d.Config.DashboardBaseURL())
	consoleOnce.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	d.Config.DashboardURL = "http://" + dash.Addr().String()
	d.Config.ProjectsURL = "http://" + api.Addr().String() + "/p/{slug}"
	// Billing on, against stripe-mock, with the default plans: the
	// Billing page shows the plan, the usage and the plans to switch to.
	d.Config.StripeSecretKey = "sk_test_123"
	d.Config.StripeWebhookSecret = "whsec_dashboard_e2e"
	d.Config.StripeAPIBase = billingtest.StripeMock(t)
	d.Config.StripeProPriceID = "price_pro"
	d.Config.StripeProMeteredPriceID = "price_pro_mau"
	if d.Billing, err = billing.New(billing.Options{Config: d.Config, Pool: tenanttest.Get(t).Pool, Logger: d.Log}); err != nil {
		t.Fatal(err)
	}
	serve(t, dash, dashboard.Router(d))
	serve(t, api, server.APIRouter(d))
	codetest.NewSite(t) // starts the courier worker that mails the codes

	out := filepath.Join(root, "test-output", "dashboard-e2e")
	_ = os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	mailpit := os.Getenv("LANYARD_TEST_MAILPIT_API")
	if mailpit == "" {
		mailpit = "http://127.0.0.1:8025"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", filepath.Join("e2e", "e2e.test.mjs"))
	cmd.Dir = filepath.Join(js, "dashboard")
	cmd.Env = append(os.Environ(),
		"DASHBOARD_URL="+d.Config.DashboardBaseURL(),
		"CHROMIUM="+chromium,
		"SCREENSHOTS="+out,
		"MAILPIT_API="+mailpit,
		"E2E_EMAIL="+codetest.Address(t),
	)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test e2e/e2e.test.mjs failed: %v\n%s", err, res)
	}
	t.Logf("node --test e2e/e2e.test.mjs:\n%s", res)

	// What the browser did is in the project too: the user's trait was
	// changed and its session revoked, as the project's admin API (with
	// the key the browser made) tells.
	raw, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ProjectURL string `json:"projectUrl"`
		APIKey     string `json:"apiKey"`
		IdentityID string `json:"identityId"`
		FirstName  string `json:"firstName"`
	}
	decode(t, raw, &got)
	var ident struct {
		Traits struct {
			Name struct {
				First string `json:"first"`
			} `json:"name"`
		} `json:"traits"`
	}
	adminGet(t, got.ProjectURL+"/admin/identities/"+got.IdentityID, got.APIKey, &ident)
	if ident.Traits.Name.First != got.FirstName || got.FirstName == "" {
		t.Fatalf("the identity's first name is %q, want %q (edited in the browser)", ident.Traits.Name.First, got.FirstName)
	}
	var sessions []json.RawMessage
	adminGet(t, got.ProjectURL+"/admin/identities/"+got.IdentityID+"/sessions?active=true", got.APIKey, &sessions)
	if len(sessions) != 0 {
		t.Fatalf("the identity has %d active sessions after the browser revoked them", len(sessions))
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

func adminGet(t *testing.T, url, key string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
