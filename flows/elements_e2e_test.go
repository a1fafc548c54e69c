package flows_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// chromiumPath is Debian's Chromium (apt-get install chromium; .ci/run
// installs it). LANYARD_CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("LANYARD_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// TestOryElementsBrowser builds sdk/js/e2e-elements (a tiny React app on
// the official @ory/elements-react default theme) and drives it in headless
// Chromium with playwright-core: sign up with email and password through
// the rendered registration form, see the session, sign out, sign in
// through the rendered login form. The app and the project API share one
// origin (the app's files at /, the real API router at /p/<slug>/), so the
// CSRF and session cookies are first-party, as behind a customer's proxy.
// Screenshots go to test-output/elements/ at the repository root.
func TestOryElementsBrowser(t *testing.T) {
	t.Parallel()
	js, err := filepath.Abs(filepath.Join("..", "sdk", "js"))
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(js, "e2e-elements")
	for _, m := range []string{"@ory/elements-react", "playwright-core", "vite"} {
		if _, err := os.Stat(filepath.Join(js, "node_modules", m)); err != nil {
			t.Skipf("sdk/js/node_modules is missing %s: run `npm ci` in sdk/js first (%v)", m, err)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	chromium := chromiumPath()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("Chromium is not installed at %s (apt-get install chromium): %v", chromium, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Build the app (vite build → e2e-elements/dist).
	build := exec.CommandContext(ctx, "npm", "run", "--silent", "build")
	build.Dir = app
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("npm run build failed: %v\n%s", err, out)
	}
	dist := filepath.Join(app, "dist")
	index, err := os.ReadFile(filepath.Join(dist, "index.html"))
	if err != nil {
		t.Fatal(err)
	}

	p := tenanttest.NewProject(t).Project
	deps := servertest.Deps(t)
	api := server.APIRouter(deps)
	files := http.FileServer(http.Dir(dist))
	mux := http.NewServeMux()
	mux.Handle("/p/", api)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			files.ServeHTTP(w, r)
			return
		}
		// Every other path is a page of the single-page app.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	srv := httptest.NewServer(mux) // 127.0.0.1:<free port>
	t.Cleanup(srv.Close)
	sdk := srv.URL + "/p/" + p.Slug

	// The project's browser flows send the browser to this app's pages and
	// may return to it.
	err = deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		c := flows.DefaultConfig()
		c.UI = map[string]string{}
		for _, kind := range []string{"login", "registration", "settings", "recovery", "verification", "error"} {
			c.UI[kind] = srv.URL + "/ui/" + kind
		}
		c.AllowedReturnURLs = []string{srv.URL + "/"}
		c.DefaultReturnURL = srv.URL + "/ui/welcome"
		return flows.SaveConfig(ctx, tx, c)
	})
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join("..", "test-output", "elements")
	if out, err = filepath.Abs(out); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(out) // no stale screenshots of an earlier run
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "e2e.test.mjs")
	cmd.Dir = app
	cmd.Env = append(os.Environ(),
		"E2E_APP_URL="+srv.URL,
		"LANYARD_URL="+sdk,
		"CHROMIUM="+chromium,
		"SCREENSHOTS="+out,
	)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test e2e.test.mjs failed: %v\n%s", err, res)
	}
	t.Logf("node --test e2e.test.mjs:\n%s", res)
}
