package verification_test

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/tenant"
)

// BenchmarkRegistrationMailPaced100 measures verification mail end to end
// under a steady 100 registrations/s through the API: each registration
// commits its verification message with the flow step; the latency is
// from that commit (the message's created_at) to the worker recording it
// sent right after Mailpit accepted it (updated_at). The sign-up requests
// are paced, not back to back, so that the latencies are those of a steady
// load rather than of a backlog.
//
//	go test ./flows/verification -run '^$' -bench RegistrationMailPaced100 -benchtime 500x -count 3
func BenchmarkRegistrationMailPaced100(b *testing.B) {
	s := benchSite(b)
	const perSecond = 100
	ctx := context.Background()
	addrs := make([]string, b.N)
	for i := range addrs {
		addrs[i] = codetest.Address(b)
	}
	var wg sync.WaitGroup
	errs := make(chan error, b.N)
	start := time.Now()
	b.ResetTimer()
	// At most inFlight sign-ups at once (below the test pool's 16
	// connections); when the server cannot keep the pace, the achieved
	// rate (signups/s) drops below 100 and says so.
	const inFlight = 12
	sem := make(chan struct{}, inFlight)
	for i := range b.N {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / perSecond)))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := register(s, &http.Client{Timeout: 30 * time.Second}, addrs[i]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	signupRate := float64(b.N) / time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var lat []time.Duration
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lat = lat[:0]
		var pending int
		err := s.Deps.DB.InTx(ctx, s.Project.Project, func(tx tenant.Tx) error {
			rows, err := tx.Query(ctx, `SELECT status, updated_at - created_at FROM courier_messages`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var st string
				var d time.Duration
				if err := rows.Scan(&st, &d); err != nil {
					return err
				}
				if st != "sent" {
					pending++
					continue
				}
				lat = append(lat, d)
			}
			return rows.Err()
		})
		if err != nil {
			b.Fatal(err)
		}
		if pending == 0 && len(lat) == b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d mails sent after 2 minutes", len(lat), b.N)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(signupRate, "signups/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Milliseconds()), "p95-ms")
}

// benchSite is codetest.NewSite for a benchmark: a project served over
// HTTP with a courier worker, its sign-up limit raised for the load.
func benchSite(b *testing.B) *codetest.Site {
	s := codetest.NewSite(b)
	s.Configure(func(c *flows.Config) {
		c.Limits["registration:ip"] = ratelimit.Limit{Rate: 100000, Period: time.Minute, Burst: 100000}
	})
	return s
}
