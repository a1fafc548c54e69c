package courier

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// BenchmarkDeliveryToMailpit measures end-to-end mail throughput: commit
// (Send) → asynq → claim → SMTP accepted by Mailpit → recorded sent.
//
//	go test ./worker/courier -run '^$' -bench DeliveryToMailpit -benchtime 300x
func BenchmarkDeliveryToMailpit(b *testing.B) { benchDelivery(b, 0) }

// BenchmarkDeliveryPaced50 sends 50 messages/s, below capacity, so that
// the latencies are those of a steady load rather than of a backlog.
func BenchmarkDeliveryPaced50(b *testing.B) { benchDelivery(b, 50) }

func benchDelivery(b *testing.B, perSecond int) {
	p := tenanttest.NewProject(b).Project
	s := newService(b, nil, p)
	startWorker(b, s)
	ctx := context.Background()
	to := recipient(b)
	ids := make([]uuid.UUID, 0, b.N)
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if perSecond > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))))
		}
		id, err := s.Send(ctx, p, verificationMessage(to))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	latencies := make([]time.Duration, 0, b.N)
	for _, id := range ids {
		m := waitStatus(b, s, p, id, StatusSent, time.Minute)
		latencies = append(latencies, m.UpdatedAt.Sub(m.CreatedAt))
	}
	b.StopTimer()
	elapsed := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*95/100].Milliseconds()), "p95-ms")
}

// BenchmarkSweepIdle measures one relay sweep when 5,000 projects are
// marked in platform.outbox_due but none is due: one indexed query,
// whatever the number of projects (projects with no outbox rows at all are
// not in the table).
func BenchmarkSweepIdle(b *testing.B) {
	env := tenanttest.Get(b)
	ctx := context.Background()
	if _, err := env.Pool.Exec(ctx, `INSERT INTO platform.outbox_due (project_id, due_at)
		SELECT gen_random_uuid(), now() + interval '1 day' FROM generate_series(1, 5000)`); err != nil {
		b.Fatal(err)
	}
	// Leftovers of other benchmarks are real work; this one measures none.
	if _, err := env.Pool.Exec(ctx, `DELETE FROM platform.outbox_due WHERE due_at < now() + interval '1 hour'`); err != nil {
		b.Fatal(err)
	}
	s := newService(b, func(o *Options) { o.RelayGrace = time.Second })
	s.sweepOnly = nil
	b.ResetTimer()
	for range b.N {
		st, err := s.Sweep(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st.Projects != 0 {
			b.Fatalf("visited %d projects with nothing due", st.Projects)
		}
	}
}
