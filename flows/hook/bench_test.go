package hook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/tenant"
)

// BenchmarkRegistrationWithAction measures API registrations (init +
// submit, through the real router and database) on two projects, one
// without hooks and one with a no-op JavaScript action, interleaved so that
// both see the same load; it reports the median of each and their
// difference.
func BenchmarkRegistrationWithAction(b *testing.B) {
	plain, action := newBenchSite(b), newBenchSite(b)
	plain.setHooks(`{"registration":{"after":{"hooks":[{"hook":"session"}]}}}`)
	action.setHooks(`{"registration":{"after":{"hooks":[{"hook":"action","config":{"id":"noop","script":"export default function (event, api) {}"}},{"hook":"session"}]}}}`)
	for _, s := range []*site{plain, action} {
		// No sign-up limit: the benchmark signs up from one address.
		err := s.deps.DB.InTx(context.Background(), s.project, func(tx tenant.Tx) error {
			fc, err := flows.LoadConfig(context.Background(), tx)
			if err != nil {
				return err
			}
			fc.Limits["registration:ip"] = ratelimit.Limit{Rate: 1_000_000, Period: time.Minute, Burst: 1_000_000}
			return flows.SaveConfig(context.Background(), tx, fc)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var tp, ta []time.Duration
	b.ResetTimer()
	for i := range b.N {
		for _, c := range []struct {
			s *site
			d *[]time.Duration
		}{{plain, &tp}, {action, &ta}} {
			start := time.Now()
			if r := c.s.register(fmt.Sprintf("bench-%d@example.com", i)); r.status != 200 {
				b.Fatalf("status %d: %s", r.status, r.body)
			}
			*c.d = append(*c.d, time.Since(start))
		}
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	mp, ma := med(tp), med(ta)
	b.ReportMetric(mp, "no-hooks-median-ms")
	b.ReportMetric(ma, "noop-action-median-ms")
	b.ReportMetric(ma-mp, "overhead-ms")
}

// BenchmarkActionRun is one run of a small action (cached compile) on one
// goroutine: ns/op is the per-run cost, 1e9/ns-per-op the runs/s of a core.
func BenchmarkActionRun(b *testing.B) {
	e := hook.NewEngine()
	ev := json.RawMessage(`{"type":"registration.after","identity":{"traits":{"email":"a@example.com"},"metadata_public":null},"flow":{"id":"f","type":"api","method":"password"}}`)
	src := `export default function (event, api) {
  if (event.identity.traits.email.endsWith("@blocked.example")) api.deny("no", "traits.email");
  api.setMetadataPublic({ domain: event.identity.traits.email.split("@")[1] });
}`
	p := hook.RunParams{Key: "bench/1/a", Script: src, Event: ev, Timeout: time.Second}
	if _, err := e.Run(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := e.Run(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPerProject is the per-project limit of the delivery benchmark (0:
// the default); LANYARD_BENCH_HOOK_LIMIT overrides it.
var benchPerProject = func() int { n, _ := strconv.Atoi(os.Getenv("LANYARD_BENCH_HOOK_LIMIT")); return n }()

// BenchmarkAsyncWebhookDelivery writes b.N asynchronous webhook events at
// 200 events/s (each in its own flow-like transaction, handed to the queue
// after commit) and waits until a local receiver has them all. It reports
// the achieved delivery rate and the p50/p95/max delay from the event to
// its arrival.
func BenchmarkAsyncWebhookDelivery(b *testing.B) {
	s := newBenchSite(b)
	s.startWorkerN(0, benchPerProject) // the deployment default: 10 task slots
	var mu sync.Mutex
	delays := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			CreatedAt time.Time `json:"created_at"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		delays = append(delays, time.Since(ev.CreatedAt))
		if len(delays) == b.N {
			close(done)
		}
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer rec.Close()
	s.setHooks(`{"login":{"after":{"hooks":[{"hook":"web_hook","config":{"id":"bench","url":"` + rec.URL + `","method":"POST"}}]}}}`)
	ctx := context.Background()
	tick := time.NewTicker(5 * time.Millisecond) // 200 events/s
	defer tick.Stop()
	b.ResetTimer()
	start := time.Now()
	// The offered load is 200 events/s whatever one event costs: each
	// event (a flow-like transaction, then the hand-off) runs on its own
	// goroutine.
	var wg sync.WaitGroup
	errs := make(chan error, b.N)
	for range b.N {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out *hook.Outcome
			err := s.deps.DB.InTx(ctx, s.project, func(tx tenant.Tx) (err error) {
				out, err = s.deps.Hooks.Run(ctx, tx, hook.Event{Flow: hook.FlowLogin, Point: hook.After, Method: "password", BaseURL: s.base})
				return err
			})
			if err != nil {
				errs <- err
				return
			}
			out.AfterCommit()
		}()
	}
	offered := time.Since(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d events arrived", len(delays), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(delays)
	q := func(f float64) float64 { return float64(delays[int(f*float64(len(delays)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/offered.Seconds(), "offered/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(q(1), "max-ms")
}
