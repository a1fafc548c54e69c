package hook

import (
	"context"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/tenant"
)

// pruneBatch bounds the rows one statement deletes, so that pruning a
// large log never holds long locks.
const pruneBatch = 5000

// PruneDeliveries deletes p's finished deliveries (succeeded or failed,
// with their attempts) created before cutoff and returns how many went.
// Pending deliveries are kept whatever their age: they are still being
// retried.
func (s *Service) PruneDeliveries(ctx context.Context, p *tenant.Project, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM hook_deliveries WHERE id IN (
				SELECT id FROM hook_deliveries WHERE created_at < $1 AND status IN ($2, $3)
				ORDER BY created_at LIMIT $4)`, cutoff, StatusSucceeded, StatusFailed, pruneBatch)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("hook.PruneDeliveries: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
