package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/loadtest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// BenchmarkWhoami drives GET /sessions/whoami through the real router over
// real TCP at 50 concurrent connections, next to a bare gin handler that
// returns the same bytes, in the same run:
//
//	go test ./identity/session -run '^$' -bench Whoami -benchtime 30000x -count 5
//
// The load comes from wrk when it is installed (5 s per sub-benchmark,
// LANYARD_BENCH_DURATION to change), else from an in-process Go client
// (b.N requests); see internal/loadtest.
// It reports requests/s and p50/p99 latency per sub-benchmark: the bare
// handler, the same bytes behind Lanyard's middleware, and whoami. With
// LANYARD_BENCH_PROJECTS=2000 it provisions that many projects and spreads
// the whoami load over sessions of 200 of them ("whoami-spread").
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
	b.Run("bare", func(b *testing.B) {
		loadtest.Run(b, bareSrv.URL, loadtest.Options{}, tok("/sessions/whoami", is.Token))
	})
	b.Run("static-behind-middleware", func(b *testing.B) {
		loadtest.Run(b, mw.URL, loadtest.Options{}, tok("/p/"+e.project.Slug+"/bench/static", is.Token))
	})
	b.Run("whoami", func(b *testing.B) {
		loadtest.Run(b, api.URL, loadtest.Options{}, tok("/p/"+e.project.Slug+"/sessions/whoami", is.Token))
	})
	if spread != nil {
		b.Run("whoami-spread", func(b *testing.B) { loadtest.Run(b, api.URL, loadtest.Options{}, spread...) })
	}
}
