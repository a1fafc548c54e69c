package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/dashboard"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
)

// env is one test's dashboard router over real Postgres and Redis, and the
// project API router (to sign up through the console project's flows and
// to use project API keys).
type env struct {
	t       testing.TB
	d       server.Deps
	router  *gin.Engine
	api     *gin.Engine
	console *tenant.Project
}

var consoleOnce sync.Mutex

func newEnv(t testing.TB) *env {
	t.Helper()
	d := servertest.Deps(t)
	consoleOnce.Lock()
	console, err := dashboard.EnsureConsole(context.Background(), d.Registry, d.Config.DashboardBaseURL())
	consoleOnce.Unlock()
	if err != nil {
		t.Fatalf("EnsureConsole: %v", err)
	}
	return &env{t: t, d: d, router: dashboard.Router(d), api: server.APIRouter(d), console: console}
}

// account is a dashboard account with a session token.
type account struct {
	id    uuid.UUID
	email string
	token string
}

// newAccount makes a console identity (email verified or not) and a session
// for it through the real identity and session services.
func (e *env) newAccount(verified bool) *account {
	e.t.Helper()
	ctx := context.Background()
	email := fmt.Sprintf("acct-%s@example.com", uuid.NewString()[:12])
	body := identity.CreateBody{Traits: json.RawMessage(`{"email":"` + email + `"}`)}
	if verified {
		body.VerifiableAddresses = []identity.VerifiableAddress{{Value: email, Via: "email", Verified: true, Status: "completed"}}
	}
	i, err := e.d.Identities.Create(ctx, e.console, body, identity.Actor{Name: "test"})
	if err != nil {
		e.t.Fatalf("create account: %v", err)
	}
	var is *session.Issued
	err = e.d.DB.InTx(ctx, e.console, func(tx tenant.Tx) (err error) {
		is, err = e.d.Sessions.Issue(ctx, tx, session.IssueParams{IdentityID: i.ID, IPAddress: "203.0.113.9", UserAgent: "test",
			Methods: []session.AuthenticationMethod{{Method: "password", AAL: session.AAL1}}})
		return err
	})
	if err != nil {
		e.t.Fatalf("issue session: %v", err)
	}
	return &account{id: i.ID, email: email, token: is.Token}
}

type resp struct {
	code   int
	body   []byte
	header http.Header
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r resp) items(t testing.TB) []any {
	t.Helper()
	it, ok := r.json(t)["items"].([]any)
	if !ok {
		t.Fatalf("no items in %s", r.body)
	}
	return it
}

// call sends a platform API request with a bearer credential (a session
// token or a workspace token; none when empty) and checks the answer
// against the OpenAPI document.
func (e *env) call(method, path string, body any, bearer string) resp {
	e.t.Helper()
	return e.callWith(method, path, body, func(r *http.Request) {
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
	})
}

func (e *env) callWith(method, path string, body any, edit func(*http.Request)) resp {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Host = "localhost:4000"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	if strings.HasPrefix(path, "/api/") {
		openapitest.Check(e.t, req, rec)
	}
	return resp{code: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

// project sends a request to the project API (path-routed).
func (e *env) project(method, slug, path string, body any, key string) resp {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, "/p/"+slug+path, rd)
	req.Host = "127.0.0.1:4433"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	return resp{code: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

func want(t testing.TB, r resp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status = %d, want %d; body: %s", r.code, code, r.body)
	}
}

// wantError checks a Kratos error envelope with the status.
func wantError(t testing.TB, r resp, code int) map[string]any {
	t.Helper()
	want(t, r, code)
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok || int(e["code"].(float64)) != code || e["message"] == "" {
		t.Fatalf("not an error envelope with code %d: %s", code, r.body)
	}
	return e
}

// personal returns the account's personal workspace id.
func (e *env) personal(a *account) string {
	e.t.Helper()
	r := e.call("GET", "/api/v1/me", nil, a.token)
	want(e.t, r, 200)
	ws, _ := r.json(e.t)["account"].(map[string]any)["personal_workspace_id"].(string)
	if ws == "" {
		e.t.Fatalf("no personal workspace: %s", r.body)
	}
	return ws
}

// newProject creates a project through the platform API.
func (e *env) newProject(a *account, ws, name string) (id, slug, key string) {
	e.t.Helper()
	r := e.call("POST", "/api/v1/workspaces/"+ws+"/projects", map[string]any{"name": name}, a.token)
	want(e.t, r, 201)
	m := r.json(e.t)
	p := m["project"].(map[string]any)
	return p["id"].(string), p["slug"].(string), m["api_key"].(string)
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func dashboardEnsure(e *env) (*tenant.Project, error) {
	return dashboard.EnsureConsole(context.Background(), e.d.Registry, e.d.Config.DashboardBaseURL())
}
