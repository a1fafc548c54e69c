package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { tenanttest.Main(m) }

// testRoutes are routes of the tests' own behind the real middleware.
func testRoutes(public, admin *gin.RouterGroup) {
	admin.POST("/test/echo", httpx.Wrap(func(c *gin.Context) error {
		var v map[string]any
		if err := httpx.BindJSON(c, &v, false); err != nil {
			return err
		}
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"project": p.Slug, "body": v})
		return nil
	}))
	admin.GET("/test/boom", httpx.Wrap(func(c *gin.Context) error {
		return errors.New("pq: connection to 10.0.0.7 refused; password=hunter2 in table platform.secrets")
	}))
	admin.GET("/test/panic", func(c *gin.Context) { panic("secret internal state") })
	admin.GET("/test/project", httpx.Wrap(func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"id": p.ID, "slug": p.Slug})
		return nil
	}))
	public.GET("/test/whoami-project", httpx.Wrap(func(c *gin.Context) error {
		b, err := tenant.BindingFrom(c.Request.Context())
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"slug": b.Project.Slug, "base_url": b.BaseURL})
		return nil
	}))
}

func newRouter(t *testing.T) http.Handler {
	t.Helper()
	return server.APIRouterWith(servertest.Deps(t), testRoutes)
}

type req struct {
	method, host, path, body, key string
	header                        map[string]string
}

func do(t *testing.T, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	w, _ := doRequest(t, h, r)
	return w
}

// doChecked is do for documented endpoints: the response must match the
// OpenAPI document.
func doChecked(t *testing.T, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	w, hr := doRequest(t, h, r)
	openapitest.Check(t, hr, w)
	return w
}

func doRequest(t *testing.T, h http.Handler, r req) (*httptest.ResponseRecorder, *http.Request) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	hr.Host = r.host
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w, hr
}

func host(p *tenant.Project) string { return p.Slug + ".localhost:4433" }

var requestIDRE = regexp.MustCompile(`"request":"[^"]*"`)

// golden compares an error body with testdata/<name>.json, with the
// request id normalised.
func golden(t *testing.T, name string, w *httptest.ResponseRecorder, wantStatus int) {
	t.Helper()
	if w.Code != wantStatus {
		t.Fatalf("%s: status %d, want %d; body %s", name, w.Code, wantStatus, w.Body)
	}
	var v any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s: body is not JSON: %s", name, w.Body)
	}
	got := requestIDRE.ReplaceAll(w.Body.Bytes(), []byte(`"request":"<id>"`))
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty := buf.Bytes()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, append(pretty, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (run with -update to create)", name, err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(pretty)) {
		t.Fatalf("%s: body differs from golden\n got: %s\nwant: %s", name, pretty, want)
	}
}

func TestErrorEnvelopesGolden(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	c := tenanttest.NewProject(t)
	p := c.Project

	golden(t, "401_no_key", do(t, h, req{host: host(p), path: "/admin/test/project"}), 401)
	golden(t, "404_unknown_project", do(t, h, req{host: "no-such-project-zz.localhost:4433", path: "/admin/test/project"}), 404)
	golden(t, "404_unknown_route", do(t, h, req{host: host(p), path: "/no/such/route"}), 404)
	big := `{"x":"` + strings.Repeat("a", 2<<20) + `"}`
	golden(t, "413_body_too_large", do(t, h, req{method: "POST", host: host(p), path: "/admin/test/echo", key: c.APIKey, body: big}), 413)
	golden(t, "400_not_json", do(t, h, req{method: "POST", host: host(p), path: "/admin/test/echo", key: c.APIKey, body: "name=demo"}), 400)
	golden(t, "500_internal", do(t, h, req{host: host(p), path: "/admin/test/boom", key: c.APIKey}), 500)
	golden(t, "500_panic", do(t, h, req{host: host(p), path: "/admin/test/panic", key: c.APIKey}), 500)
	golden(t, "400_huge_host", do(t, h, req{host: strings.Repeat("a", 10<<10) + ".localhost", path: "/health/alive"}), 400)

	// A body sent without Content-Length (chunked) is cut at the limit too.
	hr := httptest.NewRequest("POST", "/admin/test/echo", io.NopCloser(strings.NewReader(big)))
	hr.Host, hr.ContentLength = host(p), -1
	hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: %d %s", w.Code, w.Body)
	}
	for _, leak := range []string{"hunter2", "10.0.0.7", "platform.secrets", "secret internal state"} {
		for _, path := range []string{"/admin/test/boom", "/admin/test/panic"} {
			if body := do(t, h, req{host: host(p), path: path, key: c.APIKey}).Body.String(); strings.Contains(body, leak) {
				t.Fatalf("%s leaks %q: %s", path, leak, body)
			}
		}
	}
}

func TestRequestIDHonouredOrGenerated(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	w := do(t, h, req{host: "localhost:4433", path: "/health/alive", header: map[string]string{"X-Request-Id": "abc-123"}})
	if got := w.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Fatalf("X-Request-Id = %q, want abc-123", got)
	}
	w = do(t, h, req{host: "localhost:4433", path: "/nope", header: map[string]string{"X-Request-Id": "bad id with spaces"}})
	id := w.Header().Get("X-Request-Id")
	if len(id) != 32 || !strings.Contains(w.Body.String(), `"request":"`+id+`"`) {
		t.Fatalf("generated id %q not in envelope %s", id, w.Body)
	}
}

// TestIsolation tries every way of reaching project B through project A.
func TestIsolation(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	ca, cb := tenanttest.NewProject(t), tenanttest.NewProject(t)
	a, b := ca.Project, cb.Project
	env := tenanttest.Get(t)

	slugOf := func(w *httptest.ResponseRecorder) string {
		var v struct{ Slug string }
		_ = json.Unmarshal(w.Body.Bytes(), &v)
		return v.Slug
	}
	// Own key on own host, both routings: 200 and the right project.
	for _, r := range []req{
		{host: host(a), path: "/admin/test/project", key: ca.APIKey},
		{host: "localhost:4433", path: "/p/" + a.Slug + "/admin/test/project", key: ca.APIKey},
		{host: "127.0.0.1:4433", path: "/p/" + a.Slug + "/admin/test/project", key: ca.APIKey},
	} {
		if w := do(t, h, r); w.Code != 200 || slugOf(w) != a.Slug {
			t.Fatalf("own access %+v: %d %s", r, w.Code, w.Body)
		}
	}
	cases := []struct {
		name string
		r    req
		want int
	}{
		{"A's key on B's host", req{host: host(b), path: "/admin/test/project", key: ca.APIKey}, 401},
		{"A's key on B's path", req{host: "localhost:4433", path: "/p/" + b.Slug + "/admin/test/project", key: ca.APIKey}, 401},
		{"B's slug in A's host path", req{host: host(a), path: "/p/" + b.Slug + "/admin/test/project", key: cb.APIKey}, 404},
		{"A's slug in B's host path", req{host: host(b), path: "/p/" + a.Slug + "/admin/test/project", key: ca.APIKey}, 404},
		{"B's id as host label", req{host: b.ID.String() + ".localhost", path: "/admin/test/project", key: cb.APIKey}, 404},
		{"B's schema as host label", req{host: b.Schema + ".localhost", path: "/admin/test/project", key: cb.APIKey}, 400},
		{"B's schema in path", req{host: "localhost", path: "/p/" + b.Schema + "/admin/test/project", key: cb.APIKey}, 404},
		{"nested host", req{host: b.Slug + "." + a.Slug + ".localhost", path: "/admin/test/project", key: cb.APIKey}, 404},
		{"schema-ish slug", req{host: "localhost", path: "/p/platform/admin/test/project", key: cb.APIKey}, 404},
		{"quoted schema", req{host: "localhost", path: "/p/%22" + b.Schema + "%22/admin/test/project", key: cb.APIKey}, 404},
		{"SQL in slug", req{host: "localhost", path: "/p/a';drop%20schema%20platform;--/admin/test/project", key: cb.APIKey}, 404},
		{"no project at all", req{host: "localhost", path: "/admin/test/project", key: ca.APIKey}, 404},
		{"malformed key", req{host: host(a), path: "/admin/test/project", key: "lanyard_sk_short"}, 401},
		{"B's key with A's prefix trimmed", req{host: host(a), path: "/admin/test/project", key: cb.APIKey[:len(cb.APIKey)-1] + "x"}, 401},
	}
	for _, tc := range cases {
		w := do(t, h, tc.r)
		if w.Code != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, w.Code, tc.want, w.Body)
		}
		if w.Code == 200 {
			t.Errorf("%s: reached project %s", tc.name, slugOf(w))
		}
	}
	// B's data is untouched by all of that, and A's base URL is its own.
	if w := do(t, h, req{host: "localhost:4433", path: "/p/" + a.Slug + "/test/whoami-project"}); !strings.Contains(w.Body.String(), `"base_url":"http://localhost:4433/p/`+a.Slug+`"`) {
		t.Fatalf("path binding base URL: %s", w.Body)
	}
	// A revoked key is refused like any other.
	keys, err := env.Registry.ListAPIKeys(context.Background(), a.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := env.Registry.RevokeAPIKey(context.Background(), b.ID, keys[0].ID); !errx.Has(err, errx.NotFound) {
		t.Fatalf("B revoking A's key: %v, want NotFound", err)
	}
	if err := env.Registry.RevokeAPIKey(context.Background(), a.ID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if w := do(t, h, req{host: host(a), path: "/admin/test/project", key: ca.APIKey}); w.Code != 401 {
		t.Fatalf("revoked key: %d", w.Code)
	}
}

func TestDeletedProjectAnswers404AtOnce(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	c := tenanttest.NewProject(t)
	env := tenanttest.Get(t)
	if w := do(t, h, req{host: host(c.Project), path: "/health/ready"}); w.Code != 200 {
		t.Fatalf("ready before delete: %d %s", w.Code, w.Body)
	}
	if _, err := env.Registry.Delete(context.Background(), c.Project.ID); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{host: host(c.Project), path: "/health/ready"},
		{host: "localhost", path: "/p/" + c.Project.Slug + "/health/alive"},
		{host: host(c.Project), path: "/admin/test/project", key: c.APIKey},
	} {
		if w := do(t, h, r); w.Code != 404 {
			t.Fatalf("after delete %+v: %d %s", r, w.Code, w.Body)
		}
	}
}

// Another process's registry learns of a deletion through Redis.
func TestDeletionReachesOtherProcesses(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	other := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Notifier: env.Notifier})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go other.Listen(ctx, env.Notifier)
	c := tenanttest.NewProject(t)
	if _, err := other.BySlug(ctx, c.Project.Slug); err != nil {
		t.Fatal(err) // now cached in "other"
	}
	// wait until the subscription is live: a notice it receives clears it
	waitFor(t, func() bool {
		n, _ := env.Redis.PubSubNumSub(ctx, env.Notifier.Channel).Result()
		return n[env.Notifier.Channel] > 0
	})
	if _, err := env.Registry.Delete(ctx, c.Project.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := other.BySlug(ctx, c.Project.Slug)
		return errx.Has(err, errx.NotFound)
	})
}

func TestMetricsOnlyForInternalHosts(t *testing.T) {
	t.Parallel()
	h := newRouter(t)
	p := tenanttest.NewProject(t).Project
	if w := do(t, h, req{host: "10.1.2.3:4433", path: "/metrics"}); w.Code != 200 || !strings.Contains(w.Body.String(), "go_goroutines") {
		t.Fatalf("metrics by IP: %d", w.Code)
	}
	for _, hst := range []string{host(p), "dashboard.example.com"} {
		if w := do(t, h, req{host: hst, path: "/metrics"}); w.Code != 404 {
			t.Fatalf("metrics on public host %s: %d", hst, w.Code)
		}
	}
}
