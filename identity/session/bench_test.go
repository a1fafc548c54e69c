package session_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/identity/session"
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
// It reports requests/s and p50/p99 latency per sub-benchmark: the bare
// handler, the same bytes behind Lanyard's middleware, and whoami. With
// LANYARD_BENCH_PROJECTS=2000 it provisions that many projects and spreads
// the whoami load over sessions of 200 of them ("whoami-spread").
func BenchmarkWhoami(b *testing.B) {
	e := newEnv(b)
	is := e.issue(e.newIdentity("bench@example.com"))
	var spread []target
	if projects := tenanttest.BenchProjects(b); len(projects) > 1 {
		for _, p := range projects {
			pe := *e
			pe.project = p
			spread = append(spread, target{"/p/" + p.Slug + "/sessions/whoami", pe.issue(pe.newIdentity("bench@example.com")).Token})
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

	b.Run("bare", func(b *testing.B) { drive(b, bareSrv.URL, target{"/sessions/whoami", is.Token}) })
	b.Run("static-behind-middleware", func(b *testing.B) { drive(b, mw.URL, target{"/p/" + e.project.Slug + "/bench/static", is.Token}) })
	b.Run("whoami", func(b *testing.B) { drive(b, api.URL, target{"/p/" + e.project.Slug + "/sessions/whoami", is.Token}) })
	if spread != nil {
		b.Run("whoami-spread", func(b *testing.B) { drive(b, api.URL, spread...) })
	}
}

// target is a path and the session token to send to it.
type target struct{ path, token string }

const conns = 50

// drive sends b.N requests over conns connections, each to the next of
// targets in turn.
func drive(b *testing.B, base string, targets ...target) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var all []time.Duration
	var next atomic.Uint64
	b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			tg := targets[next.Add(1)%uint64(len(targets))]
			req, _ := http.NewRequest("GET", base+tg.path, nil)
			req.Header.Set(session.HeaderSessionToken, tg.token)
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
