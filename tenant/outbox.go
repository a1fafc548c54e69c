package tenant

import (
	"context"
	"time"
)

// MarkOutboxDue records in platform.outbox_due that tx's project has
// outbox work (courier messages, hook deliveries) due at due or earlier,
// in the same transaction as the outbox row, so that the outbox relay
// visits the project. The version bump makes a concurrent sweep keep the
// row: a sweep deletes it only if the version it read is still there.
//
// The row is one per project, shared by every transaction of the project
// that writes outbox rows, and its lock lasts until commit. In a
// transaction made by InTx the write is therefore deferred to right before
// COMMIT (one write, at the earliest due time given): a registration that
// queues a verification mail holds the lock for its commit only, not for
// the rest of its work, so the project's registrations do not queue
// behind each other. The transaction's commit waits for the WAL flush
// (Tx.Durable).
func MarkOutboxDue(ctx context.Context, tx Tx, due time.Time) error {
	tx.Durable()
	if tx.st == nil { // a Tx made without InTx: write now
		return markOutboxDue(ctx, tx, due)
	}
	if tx.st.outboxDue.IsZero() || due.Before(tx.st.outboxDue) {
		tx.st.outboxDue = due
	}
	return nil
}

const markOutboxDueSQL = `INSERT INTO platform.outbox_due (project_id, due_at) VALUES ($1, $2)
	ON CONFLICT (project_id) DO UPDATE
	SET due_at = least(platform.outbox_due.due_at, excluded.due_at), version = platform.outbox_due.version + 1`

func markOutboxDue(ctx context.Context, tx Tx, due time.Time) error {
	_, err := tx.Exec(ctx, markOutboxDueSQL, tx.Project().ID, due)
	return err
}

// queueOutboxDue is markOutboxDue sent with the COMMIT.
func queueOutboxDue(tx Tx, due time.Time) {
	tx.Queue(markOutboxDueSQL, tx.Project().ID, due)
}
