package session_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
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
	// whoami and its spread get servers of their own over the same router,
	// each timing its requests from the handler's side too: the latency
	// the load driver reports includes its own scheduling and the kernel.
	timedOne, timedSpread := &timedHandler{h: e.router}, &timedHandler{h: e.router}
	api := httptest.NewServer(timedOne)
	defer api.Close()
	apiSpread := httptest.NewServer(timedSpread)
	defer apiSpread.Close()
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
	deps := servertest.DepsWithDB(b, tenanttest.ServerDB(b)) // as a server has it: lanes, copies kept by notices
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
		variants = append(variants, loadtest.Variant{Name: "whoami-spread", Base: apiSpread.URL, Targets: spread})
	}
	// At saturation: 50 connections sending as fast as answers come.
	b.Run("saturated", func(b *testing.B) {
		timedOne.reset()
		timedSpread.reset()
		loadtest.Compare(b, loadtest.Options{}, 3, variants...)
		timedOne.report(b, "whoami")
		timedSpread.report(b, "whoami-spread")
	})
	// Paced: each of the 50 connections waits 10 ms after an answer, an
	// offered load of about 4,500 req/s, a fraction of the capacity: the
	// latency is the server's own rather than time spent queued behind the
	// other 49 connections on two shared cores.
	paced := []loadtest.Variant{variants[0], variants[2]}
	if spread != nil {
		paced = append(paced, variants[3])
	}
	b.Run("paced", func(b *testing.B) {
		timedOne.reset()
		timedSpread.reset()
		loadtest.Compare(b, loadtest.Options{Pace: 10 * time.Millisecond}, 3, paced...)
		timedOne.report(b, "whoami")
		timedSpread.report(b, "whoami-spread")
	})
}

// timedHandler records how long each request took inside the server, from
// the moment the router got it to the last byte handed to the socket.
type timedHandler struct {
	h  http.Handler
	mu sync.Mutex
	d  []time.Duration
}

func (t *timedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := time.Since(start)
	t.mu.Lock()
	t.d = append(t.d, d)
	t.mu.Unlock()
}

func (t *timedHandler) reset() {
	t.mu.Lock()
	t.d = t.d[:0]
	t.mu.Unlock()
}

// report adds the server-side p50 and p99 of the requests since reset (the
// warm-up requests included), when there were any.
func (t *timedHandler) report(b *testing.B, name string) {
	t.mu.Lock()
	d := slices.Clone(t.d)
	t.mu.Unlock()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	pct := func(p float64) float64 { return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), name+"-server-p50-ms")
	b.ReportMetric(pct(0.99), name+"-server-p99-ms")
}
