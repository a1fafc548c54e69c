package recovery_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
)

// BenchmarkRecoveryEnumerationTiming sends recovery codes to a registered
// address and to an unknown one, alternating (so machine noise hits both
// alike), and reports each kind's median time and their ratio: recovery
// must not tell by its timing whether an address exists.
//
//	go test ./flows/recovery -run '^$' -bench RecoveryEnumerationTiming -benchtime 200x -count 3
func BenchmarkRecoveryEnumerationTiming(b *testing.B) {
	s := codetest.NewSite(b)
	unlimited := ratelimit.Limit{Rate: 1_000_000, Period: time.Minute, Burst: 1_000_000}
	s.Configure(func(c *flows.Config) {
		for _, scope := range []string{"recovery:ip", "recovery:address", "recovery:mail"} {
			c.Limits[scope] = unlimited
		}
	})
	c := &http.Client{}
	known := codetest.Address(b)
	s.Register(c, known, "correct horse battery staple")
	send := func(addr string) time.Duration {
		r := s.Call(c, "GET", "/self-service/recovery/api", nil, nil)
		codetest.Want(b, r, 200)
		action := codetest.Action(r.JSON(b))
		t0 := time.Now()
		r = s.Call(c, "POST", action, map[string]any{"method": "code", "email": addr}, nil)
		d := time.Since(t0)
		codetest.Want(b, r, 200)
		return d
	}
	send(known) // warm both paths
	send(codetest.Address(b))
	var k, u []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			k = append(k, send(known))
		} else {
			u = append(u, send(codetest.Address(b)))
		}
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	mk, mu := med(k), med(u)
	b.ReportMetric(mk, "known-median-ms")
	b.ReportMetric(mu, "unknown-median-ms")
	if mu > 0 {
		b.ReportMetric(100*mk/mu, "known-%-of-unknown")
	}
}
