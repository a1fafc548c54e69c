package session_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one test's project, router and session service.
type env struct {
	t       testing.TB
	project *tenant.Project
	apiKey  string
	db      *tenant.DB
	svc     *session.Service
	router  *gin.Engine
	clock   *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := tenanttest.NewProject(t)
	deps := servertest.Deps(t)
	clk := &clock{t: time.Now()}
	deps.Sessions = session.NewService(deps.DB, session.Options{
		Cache: session.NewDefaultCache(deps.Redis, deps.Config.RedisNamespace), Now: clk.Now,
	})
	// Sessions render identities through the identity Manager, which ends
	// sessions through this service (as cmd/lanyard wires them).
	deps.Sessions.UseIdentities(deps.Identities)
	deps.Identities.Revoker = deps.Sessions
	return &env{t: t, project: c.Project, apiKey: c.APIKey, db: deps.DB, svc: deps.Sessions, router: server.APIRouter(deps), clock: clk}
}

// newIdentity inserts an active identity with the default schema.
func (e *env) newIdentity(email string) uuid.UUID {
	e.t.Helper()
	id := uuid.Must(uuid.NewV7())
	err := e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO identities (id, schema_id, traits) VALUES ($1, 'default', $2)`,
			id, `{"email":"`+email+`"}`)
		return err
	})
	if err != nil {
		e.t.Fatalf("insert identity: %v", err)
	}
	return id
}

// issue creates a session for identity through the service.
func (e *env) issue(identity uuid.UUID) *session.Issued {
	e.t.Helper()
	var is *session.Issued
	err := e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) (err error) {
		is, err = e.svc.Issue(context.Background(), tx, session.IssueParams{
			IdentityID: identity, IPAddress: "203.0.113.7", UserAgent: "test-agent/1.0",
			Methods: []session.AuthenticationMethod{{Method: "password", AAL: session.AAL1}},
		})
		return err
	})
	if err != nil {
		e.t.Fatalf("issue: %v", err)
	}
	return is
}

// do sends a request to the project by host and returns the recorder.
func (e *env) do(method, path string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Host = e.project.Slug + ".localhost:4433"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	openapitest.Check(e.t, req, w)
	return w
}

func (e *env) admin(method, path string) *httptest.ResponseRecorder {
	return e.do(method, path, nil, map[string]string{"Authorization": "Bearer " + e.apiKey})
}

func tokenHdr(tok string) map[string]string {
	return map[string]string{session.HeaderSessionToken: tok}
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status = %d, want %d; body %s", w.Code, want, strings.TrimSpace(w.Body.String()))
	}
}

type envelope struct {
	Error struct {
		ID     string `json:"id"`
		Code   int    `json:"code"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"error"`
}

type sessionJSON struct {
	ID                    string    `json:"id"`
	Active                bool      `json:"active"`
	ExpiresAt             time.Time `json:"expires_at"`
	AuthenticatedAt       time.Time `json:"authenticated_at"`
	AAL                   string    `json:"authenticator_assurance_level"`
	IssuedAt              time.Time `json:"issued_at"`
	AuthenticationMethods []struct {
		Method string `json:"method"`
		AAL    string `json:"aal"`
	} `json:"authentication_methods"`
	Identity *struct {
		ID       string         `json:"id"`
		SchemaID string         `json:"schema_id"`
		Traits   map[string]any `json:"traits"`
		State    string         `json:"state"`
	} `json:"identity"`
	Devices []struct {
		ID        string `json:"id"`
		IPAddress string `json:"ip_address"`
		UserAgent string `json:"user_agent"`
	} `json:"devices"`
}

func (e *env) doReq(req *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.router.ServeHTTP(w, req)
	openapitest.Check(e.t, req, w)
	return w
}
