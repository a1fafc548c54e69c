package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestCORSPolicyPerProject(t *testing.T) {
	t.Parallel()
	h := server.APIRouter(servertest.Deps(t))
	a, b := tenanttest.NewProject(t), tenanttest.NewProject(t)
	const app = "https://app.example.com"
	origin := func(o string) map[string]string { return map[string]string{"Origin": o} }
	preflight := func(o string) map[string]string {
		return map[string]string{"Origin": o, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-csrf-token"}
	}
	allowed := func(w *httptest.ResponseRecorder) bool {
		return w.Header().Get("Access-Control-Allow-Origin") != ""
	}

	// No policy: the project's own origin only.
	pathA := "/p/" + a.Project.Slug
	if w := do(t, h, req{path: pathA + "/sessions/whoami", header: origin(app)}); allowed(w) || w.Code != 401 {
		t.Fatalf("no policy: %d, ACAO %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
	if w := doChecked(t, h, req{path: "/admin/cors", host: host(a.Project), key: a.APIKey}); w.Code != 200 || w.Body.String() != `{"allowed_origins":[]}` {
		t.Fatalf("GET /admin/cors = %d %s", w.Code, w.Body)
	}

	put := doChecked(t, h, req{method: "PUT", path: pathA + "/admin/cors", key: a.APIKey,
		body: `{"allowed_origins":["https://app.example.com","https://*.preview.example.com","http://localhost:3000"]}`})
	if put.Code != 200 {
		t.Fatalf("PUT /admin/cors = %d %s", put.Code, put.Body)
	}

	// Simple requests on both routings carry the headers for allowed origins.
	for _, r := range []req{
		{path: pathA + "/sessions/whoami", header: origin(app)},
		{host: host(a.Project), path: "/sessions/whoami", header: origin(app)},
		{path: pathA + "/self-service/login/browser", header: origin("https://pr-12.preview.example.com")},
		{path: pathA + "/self-service/login/browser", header: origin("http://localhost:3000")},
	} {
		w := do(t, h, r)
		if w.Header().Get("Access-Control-Allow-Origin") != r.header["Origin"] || w.Header().Get("Access-Control-Allow-Credentials") != "true" ||
			w.Header().Get("Vary") != "Origin" || w.Header().Get("Access-Control-Expose-Headers") == "" {
			t.Errorf("%s from %s: headers %v", r.path, r.header["Origin"], w.Header())
		}
	}
	// Preflight: answered before routing, 204 with methods and headers.
	w := do(t, h, req{method: "OPTIONS", path: pathA + "/self-service/login", header: preflight(app)})
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != app ||
		w.Header().Get("Access-Control-Allow-Methods") == "" || w.Header().Get("Access-Control-Allow-Headers") == "" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}

	// Origins that are not on the list, or only look like it.
	for _, o := range []string{"https://evil.example.com", "http://app.example.com", "https://app.example.com.evil.net",
		"https://preview.example.com", "https://app.example.com:8443", "null", "https://app.example.com/x"} {
		if w := do(t, h, req{path: pathA + "/sessions/whoami", header: origin(o)}); allowed(w) {
			t.Errorf("origin %q was allowed", o)
		}
		if w := do(t, h, req{method: "OPTIONS", path: pathA + "/sessions/whoami", header: preflight(o)}); allowed(w) || w.Code != 204 {
			t.Errorf("preflight from %q: %d %v", o, w.Code, w.Header())
		}
	}

	// The admin API never answers cross-origin, even to an allowed origin.
	if w := do(t, h, req{path: pathA + "/admin/identities", key: a.APIKey, header: origin(app)}); allowed(w) || w.Code != 200 {
		t.Errorf("admin GET: %d ACAO %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
	if w := do(t, h, req{method: "OPTIONS", host: host(a.Project), path: "/admin/identities", header: preflight(app)}); allowed(w) {
		t.Errorf("admin preflight allowed: %v", w.Header())
	}

	// Isolation: A's policy is not B's; A's key cannot read or change B's;
	// a host of A with B's path gets nothing.
	pathB := "/p/" + b.Project.Slug
	if w := do(t, h, req{path: pathB + "/sessions/whoami", header: origin(app)}); allowed(w) {
		t.Errorf("B answered A's origin")
	}
	for _, method := range []string{"GET", "PUT"} {
		if w := do(t, h, req{method: method, path: pathB + "/admin/cors", key: a.APIKey, body: `{"allowed_origins":["https://evil.example.com"]}`}); w.Code != 401 {
			t.Errorf("%s B's /admin/cors with A's key = %d", method, w.Code)
		}
	}
	if w := do(t, h, req{host: host(a.Project), path: pathB + "/sessions/whoami", header: origin(app)}); allowed(w) || w.Code != 404 {
		t.Errorf("A's host with B's path: %d %v", w.Code, w.Header())
	}
	if w := doChecked(t, h, req{path: pathB + "/admin/cors", key: b.APIKey}); w.Body.String() != `{"allowed_origins":[]}` {
		t.Errorf("B's policy = %s", w.Body)
	}

	// Bad policies are refused with the reason, and the stored one stays.
	for _, body := range []string{`{"allowed_origins":["*"]}`, `{"allowed_origins":["https://app.example.com/path"]}`,
		`{"allowed_origins":["ftp://x.example.com"]}`, `{"allowed_origins":["https://a.*.example.com"]}`,
		`{"allowed_origin":["https://x.example.com"]}`, `{"allowed_origins":"https://x.example.com"}`, `not json`} {
		if w := doChecked(t, h, req{method: "PUT", path: pathA + "/admin/cors", key: a.APIKey, body: body}); w.Code != 400 {
			t.Errorf("PUT %s = %d %s", body, w.Code, w.Body)
		}
	}
	if w := doChecked(t, h, req{path: pathA + "/admin/cors", key: a.APIKey}); w.Body.String() != put.Body.String() {
		t.Errorf("policy after refusals = %s, want %s", w.Body, put.Body)
	}
}
