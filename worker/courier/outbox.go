package courier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Sweep limits: projects per sweep, rows per project per sweep.
const (
	sweepProjects = 200
	sweepRows     = 500
)

// SweepStats says what one sweep did.
type SweepStats struct {
	Projects int // projects visited (those marked in platform.outbox_due as due)
	Relayed  int // outbox rows handed to the queue
	Cleared  int // projects found with nothing left, unmarked
}

// Sweep is the outbox relay: it hands to the queue every outbox row whose
// due time passed more than RelayGrace ago — messages whose immediate
// hand-off was lost (Redis down, process died) and retries whose delayed
// task was lost. It reads the platform index of projects with outbox rows,
// never every project schema, so a sweep with nothing to do is one indexed
// query whatever the number of projects. A Redis failure stops the sweep
// with an error; nothing is marked done, so the next sweep tries again.
func (s *Service) Sweep(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	rows, err := s.o.DB.Platform().Query(ctx, `SELECT project_id, version FROM platform.outbox_due
		WHERE due_at <= now() - $1 * interval '1 second' AND ($3::uuid[] IS NULL OR project_id = ANY($3))
		ORDER BY due_at LIMIT $2`, s.o.RelayGrace.Seconds(), sweepProjects, s.sweepOnly)
	if err != nil {
		return st, fmt.Errorf("courier.Sweep: %w", err)
	}
	type due struct {
		project uuid.UUID
		version int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		return d, r.Scan(&d.project, &d.version)
	})
	if err != nil {
		return st, fmt.Errorf("courier.Sweep: %w", err)
	}
	for _, d := range list {
		st.Projects++
		n, cleared, err := s.sweepProject(ctx, d.project, d.version)
		st.Relayed += n
		if cleared {
			st.Cleared++
		}
		if err != nil {
			return st, fmt.Errorf("courier.Sweep: project %s: %w", d.project, err)
		}
	}
	return st, nil
}

// unmark removes the project's index row if no write touched it since the
// sweep read version (a concurrent Enqueue bumps the version and keeps it).
const unmark = `DELETE FROM platform.outbox_due WHERE project_id = $1 AND version = $2`

func (s *Service) sweepProject(ctx context.Context, id uuid.UUID, version int64) (relayed int, cleared bool, err error) {
	p, err := s.o.Registry.ByID(ctx, id)
	if errx.Has(err, errx.NotFound) || err == nil && p.State != tenant.StateActive {
		_, err = s.o.DB.Platform().Exec(ctx, unmark, id, version)
		return 0, true, err
	}
	if err != nil {
		return 0, false, err
	}
	err = s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		relayed, cleared = 0, false
		rows, err := tx.Query(ctx, `SELECT o.id, o.ref_id, coalesce(m.send_count, -1) FROM outbox o
			LEFT JOIN courier_messages m ON m.id = o.ref_id
			WHERE o.topic = 'courier' AND o.due_at <= now() - $1 * interval '1 second'
			ORDER BY o.due_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED`, s.o.RelayGrace.Seconds(), sweepRows)
		if err != nil {
			return err
		}
		type item struct {
			id, ref uuid.UUID
			attempt int
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
			var it item
			return it, r.Scan(&it.id, &it.ref, &it.attempt)
		})
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.attempt < 0 { // the message is gone
				if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, it.id); err != nil {
					return err
				}
				continue
			}
			if err := s.enqueueDelivery(ctx, p.ID, it.ref, it.attempt, 0); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
			// Not due again before a worker had a fair chance at it.
			if _, err := tx.Exec(ctx, `UPDATE outbox SET due_at = now() + $2 * interval '1 second', relayed = relayed + 1
				WHERE id = $1`, it.id, s.o.Lease.Seconds()); err != nil {
				return err
			}
			relayed++
		}
		var next *time.Time
		if err := tx.QueryRow(ctx, `SELECT min(due_at) FROM outbox`).Scan(&next); err != nil {
			return err
		}
		if next == nil {
			tag, err := tx.Exec(ctx, unmark, p.ID, version)
			cleared = err == nil && tag.RowsAffected() == 1
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE platform.outbox_due SET due_at = $3 WHERE project_id = $1 AND version = $2`, p.ID, version, *next)
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return relayed, false, err
	}
	return relayed, cleared, err
}
