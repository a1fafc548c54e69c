package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/loadtest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// BenchmarkWhoami drives GET /sessions/whoami through the real router over
// real TCP at 50 concurrent connections with wrk, next to a bare gin
// handler that returns the same bytes, in the same run:
//
//	go test ./identity/session -run '^$' -bench Whoami -benchtime 1x
//
// The variants run in alternation, 3 rounds of 5 s each
// (LANYARD_BENCH_ROUNDS, LANYARD_BENCH_DURATION), and it reports per
// variant the medians of requests/s, p50 and p99, and of each round's
// ratio to the bare handler: the bare handler, the same bytes behind
// Lanyard's middleware, and whoami. "saturated" sends as fast as answers
// come; "paced" offers a fixed load well below capacity, where the latency
// is the server's own. With LANYARD_BENCH_PROJECTS=2000 it provisions that
// many projects and spreads the whoami load over sessions of 200 of them
// ("whoami-spread"). Without wrk it is skipped.
func BenchmarkWhoami(b *testing.B) {
	e := newEnv(b)
	is := e.issue(e.newIdentity("bench@example.com"))
	var spread []loadtest.Target
	if projects := tenanttest.BenchProjects(b); len(projects) > 1 {
		for _, p := range projects {
			pe := *e
			pe.project = p
			spread = append(spread, loadtest.Target{Path: "/p/" + p.Slug + "/sessions/whoami",
				Header: map[string]string{session.HeaderSessionToken: pe.issue(pe.newIdentity("bench@example.com")).Token}})
		}
	}
	api := httptest.NewServer(e.router)
	defer api.Close()
	whoamiURL := api.URL + "/p/" + e.project.Slug + "/sessions/whoami"

	// The bare handler answers what whoami answers.
	req, _ := http.NewRequest("GET", whoamiURL, nil)
	req.Header.Set(session.HeaderSessionToken, is.Token)
	w := e.doReq(req)
	if w.Code != http.StatusOK {
		b.Fatalf("whoami = %d %s", w.Code, w.Body.String())
	}
	body := w.Body.Bytes()
	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.GET("/sessions/whoami", func(c *gin.Context) {
		c.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
		c.Header(session.HeaderIdentityID, "x")
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	})
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()

	// The same bytes behind the real router and middleware (request id,
	// access log, metrics, tenant resolution), to tell whoami's own cost
	// from the stack's.
	deps := servertest.Deps(b)
	mw := httptest.NewServer(server.APIRouterWith(deps, func(pub, _ *gin.RouterGroup) {
		pub.GET("/bench/static", func(c *gin.Context) {
			c.Header(session.HeaderIdentityID, "x")
			c.Data(http.StatusOK, "application/json; charset=utf-8", body)
		})
	}))
	defer mw.Close()

	tok := func(path, token string) loadtest.Target {
		return loadtest.Target{Path: path, Header: map[string]string{session.HeaderSessionToken: token}}
	}
	variants := []loadtest.Variant{
		{Name: "bare", Base: bareSrv.URL, Targets: []loadtest.Target{tok("/sessions/whoami", is.Token)}},
		{Name: "static-behind-middleware", Base: mw.URL, Targets: []loadtest.Target{tok("/p/"+e.project.Slug+"/bench/static", is.Token)}},
		{Name: "whoami", Base: api.URL, Targets: []loadtest.Target{tok("/p/"+e.project.Slug+"/sessions/whoami", is.Token)}},
	}
	if spread != nil {
		variants = append(variants, loadtest.Variant{Name: "whoami-spread", Base: api.URL, Targets: spread})
	}
	// At saturation: 50 connections sending as fast as answers come.
	b.Run("saturated", func(b *testing.B) { loadtest.Compare(b, loadtest.Options{}, 3, variants...) })
	// Paced: each of the 50 connections waits 10 ms after an answer, an
	// offered load of about 4,500 req/s, a fraction of the capacity: the
	// latency is the server's own rather than time spent queued behind the
	// other 49 connections on two shared cores.
	paced := []loadtest.Variant{variants[0], variants[2]}
	if spread != nil {
		paced = append(paced, variants[3])
	}
	b.Run("paced", func(b *testing.B) {
		loadtest.Compare(b, loadtest.Options{Pace: 10 * time.Millisecond}, 3, paced...)
	})
}
