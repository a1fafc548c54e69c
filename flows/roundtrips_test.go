package flows_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lanyard-id/lanyard/internal/db"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// roundTrips counts the exchanges with Postgres of a pool: each query and
// each batch is one (a batch of statements the connection has not
// prepared yet is two).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// The hot flows stay few round trips once the process and the connection
// are warm: the BEGIN and the schema pin go out with the first statement,
// queued writes with the next statement or the COMMIT, and the project's
// settings, identity schemas and mail templates come from the process's
// copies. A change that adds a round trip to these paths fails here; if
// it is worth it, raise the bound and say why.
func TestFlowRoundTrips(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	cfg, err := pgxpool.ParseConfig(env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	// Two connections (a flow transaction may read through a second one),
	// so that both are warm after the first requests.
	cfg.MaxConns, cfg.MinConns = 2, 2
	db.Tune(cfg)
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	deps := servertest.DepsWithDB(t, tenant.NewDB(pool))
	srv := httptest.NewServer(server.APIRouter(deps))
	t.Cleanup(srv.Close)
	p := tenanttest.NewProject(t).Project
	s := &site{t: t, project: p, srv: srv, base: srv.URL + "/p/" + p.Slug, db: deps.DB}
	c := &http.Client{}

	count := func(f func()) int64 {
		before := rt.n.Load()
		f()
		return rt.n.Load() - before
	}
	var flowID string
	initFlow := func(kind string) func() {
		return func() {
			r := s.call(c, "GET", "/self-service/"+kind+"/api", nil, nil)
			want(t, r, 200)
			flowID = r.json(t)["id"].(string)
		}
	}
	var token string
	submit := func(kind string, body map[string]any) func() {
		return func() {
			r := s.call(c, "POST", "/self-service/"+kind+"?flow="+flowID, body, nil)
			want(t, r, 200)
			token, _ = r.json(t)["session_token"].(string)
		}
	}
	type cost struct{ regInit, reg, loginInit, login int64 }
	var last cost
	for i := range 3 { // the first round warms the connection and the copies
		email := fmt.Sprintf("rt%d@example.com", i)
		pw := fmt.Sprintf("correct horse battery staple %d", i)
		last.regInit = count(initFlow("registration"))
		last.reg = count(submit("registration", map[string]any{"method": "password", "traits": map[string]any{"email": email}, "password": pw}))
		last.loginInit = count(initFlow("login"))
		last.login = count(submit("login", map[string]any{"method": "password", "identifier": email, "password": pw}))
		if token == "" {
			t.Fatal("the login issued no session token")
		}
	}
	t.Logf("round trips: registration init %d, submit %d; login init %d, submit %d", last.regInit, last.reg, last.loginInit, last.login)
	// Seen: registration init 1 (BEGIN, flow, COMMIT in one batch),
	// submit 4 (the flow's lock with the BEGIN; the identity's rows; the
	// identity as the hooks left it, for the verification mail and the
	// answer; the COMMIT with the verification flow, code, mail, session
	// and outbox rows and the flow); login init 1, submit 3 (the flow's
	// lock with the BEGIN; the identity by its identifier, with its
	// credentials; the COMMIT with the session, MAU and flow rows).
	// The bounds allow one more: on a slow machine a process copy (5 s)
	// may expire between rounds.
	for _, c := range []struct {
		name      string
		got, most int64
	}{{"registration init", last.regInit, 2}, {"registration submit", last.reg, 5}, {"login init", last.loginInit, 2}, {"login submit", last.login, 4}} {
		if c.got > c.most {
			t.Errorf("%s took %d round trips, want at most %d", c.name, c.got, c.most)
		}
	}
}
