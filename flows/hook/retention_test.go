package hook_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant"
)

// seedDeliveries writes deliveries of p with the given status and age.
func seedDeliveries(t *testing.T, s *site, p *tenant.Project, status string, age time.Duration, n int) {
	t.Helper()
	ctx := context.Background()
	err := s.deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		for range n {
			id, _ := uuid.NewV7()
			if _, err := tx.Exec(ctx, `INSERT INTO hook_deliveries (id, hook_id, hook_type, flow, point, mode, status, payload, created_at)
				VALUES ($1, 'h', 'web_hook', 'registration', 'after', 'async', $2, '{}', now() - $3::interval)`, id, status, age.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countDeliveries(t *testing.T, s *site, p *tenant.Project) (n int) {
	t.Helper()
	ctx := context.Background()
	if err := s.deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM hook_deliveries`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Pruning removes the finished deliveries older than the cutoff, keeps
// pending ones and recent ones, and touches only the project it is given.
func TestPruneDeliveries(t *testing.T) {
	t.Parallel()
	a, b := newSite(t), newSite(t)
	seedDeliveries(t, a, a.project, "succeeded", 40*24*time.Hour, 7)
	seedDeliveries(t, a, a.project, "failed", 31*24*time.Hour, 5)
	seedDeliveries(t, a, a.project, "pending", 40*24*time.Hour, 2)
	seedDeliveries(t, a, a.project, "succeeded", time.Hour, 3)
	seedDeliveries(t, b, b.project, "succeeded", 40*24*time.Hour, 4)
	n, err := a.deps.Hooks.PruneDeliveries(context.Background(), a.project, time.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 12 || countDeliveries(t, a, a.project) != 5 {
		t.Fatalf("pruned %d, %d left; want 12 pruned and 5 left (2 pending, 3 recent)", n, countDeliveries(t, a, a.project))
	}
	if got := countDeliveries(t, b, b.project); got != 4 {
		t.Fatalf("another project has %d deliveries after the prune, want 4", got)
	}
}
