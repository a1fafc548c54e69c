package tenant_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// BenchmarkProvision creates projects one after another and reports the
// latency percentiles: "fresh" builds every schema in the creation
// transaction; "spare" claims a pre-built schema (the pool is topped up
// between creations, outside the timer, as the background refill does
// when creations come slower than about 15 per second per process).
// Run: go test ./tenant -run '^$' -bench Provision -benchtime 200x
func BenchmarkProvision(b *testing.B) {
	for _, mode := range []string{"fresh", "spare"} {
		b.Run(mode, func(b *testing.B) {
			env := tenanttest.Get(b)
			ctx := context.Background()
			reg := env.Registry
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if mode == "spare" {
					b.StopTimer()
					if _, err := reg.FillSpares(ctx, 1); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				start := time.Now()
				if _, err := reg.Create(ctx, tenant.CreateParams{Name: fmt.Sprintf("bench %d", i)}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

// BenchmarkMigrateTenants rolls one new tenant migration out to
// LANYARD_BENCH_PROJECTS existing project schemas (default 1000) and
// reports the wall time. Run:
//
//	LANYARD_BENCH_PROJECTS=10000 go test ./tenant -run '^$' -bench MigrateTenants -benchtime 1x -timeout 60m
func BenchmarkMigrateTenants(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LANYARD_BENCH_PROJECTS"))
	if n <= 0 {
		n = 1000
	}
	env := tenanttest.Get(b)
	ctx := context.Background()
	existing, err := env.Registry.List(ctx, tenant.ListParams{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if len(existing) == 0 {
		start := time.Now()
		createProjectsTB(b, env.Registry, n)
		b.Logf("created %d projects in %s", n, time.Since(start).Round(time.Millisecond))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchVersion++ // a new migration every iteration, across runs
		set := noopProbeSet(benchVersion)
		reg := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &set})
		start := time.Now()
		res, err := reg.MigrateTenants(ctx, tenant.MigrateOptions{Concurrency: 8})
		if err != nil || len(res.Failed) > 0 {
			b.Fatal(err, res.Failed)
		}
		b.ReportMetric(time.Since(start).Seconds(), "wall-s")
		b.ReportMetric(float64(res.Migrated), "schemas")
	}
}

var benchVersion = 9100
