package identity_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// env is the real API router with one provisioned project.
type env struct {
	t      testing.TB
	deps   server.Deps
	router *gin.Engine
	proj   *tenant.Created
}

func newEnv(t testing.TB) *env {
	t.Helper()
	d := servertest.Deps(t)
	return &env{t: t, deps: d, router: server.APIRouter(d), proj: tenanttest.NewProject(t)}
}

// other provisions a second project on the same router.
func (e *env) other() *env {
	return &env{t: e.t, deps: e.deps, router: e.router, proj: tenanttest.NewProject(e.t)}
}

const requestID = "test-request-id"

// call sends a request to the project (path under /p/<slug>) with the
// project's key, checks the response against the OpenAPI document and
// returns it.
func (e *env) call(method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.callAs(e.proj.APIKey, e.proj.Project.Slug, method, path, body)
}

func (e *env) callAs(key, slug, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, "/p/"+slug+path, rd)
	req.Host = "127.0.0.1:4433"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", requestID)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	openapitest.Check(e.t, req, rec)
	return rec
}

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, rec.Body.String(), err)
	}
	return v
}

func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status = %d, want %d; body: %s", rec.Code, want, rec.Body.String())
	}
}

var volatile = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// golden compares an error body with testdata/errors/<name>.json (UUIDs
// masked). Run the tests with -update to rewrite the files.
func golden(t testing.TB, name string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s: body is not JSON: %q", name, rec.Body.String())
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	got = volatile.ReplaceAll(got, []byte("<uuid>"))
	got = append(got, '\n')
	path := filepath.Join("testdata", "errors", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: body differs from %s\n got: %s\nwant: %s", name, path, got, want)
	}
}

// identityJSON is the wire shape tests read.
type identityJSON struct {
	ID             string          `json:"id"`
	SchemaID       string          `json:"schema_id"`
	SchemaURL      string          `json:"schema_url"`
	State          string          `json:"state"`
	StateChangedAt *string         `json:"state_changed_at"`
	Traits         map[string]any  `json:"traits"`
	MetadataPublic json.RawMessage `json:"metadata_public"`
	MetadataAdmin  json.RawMessage `json:"metadata_admin"`
	Verifiable     []struct {
		ID       string `json:"id"`
		Value    string `json:"value"`
		Verified bool   `json:"verified"`
		Status   string `json:"status"`
		Via      string `json:"via"`
	} `json:"verifiable_addresses"`
	Recovery []struct {
		Value string `json:"value"`
		Via   string `json:"via"`
	} `json:"recovery_addresses"`
	Credentials map[string]struct {
		Type        string         `json:"type"`
		Identifiers []string       `json:"identifiers"`
		Config      map[string]any `json:"config"`
	} `json:"credentials"`
}

func person(email string) map[string]any {
	return map[string]any{"schema_id": "default", "traits": map[string]any{"email": email, "name": map[string]any{"first": "Ada"}}}
}

func uniqueEmail(t testing.TB, tag string) string {
	return strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())) + "-" + tag + "@example.com"
}
