package tenant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// MarkOutboxDue in a transaction writes the project's platform.outbox_due
// row once, right before COMMIT, at the earliest due time it was given:
// while the transaction works, the row is not locked, so another
// transaction of the project can mark it meanwhile. A rolled-back
// transaction marks nothing, and other projects' rows are not touched.
func TestMarkOutboxDueAtCommit(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	other := tenanttest.NewProject(t).Project
	ctx := context.Background()
	type mark struct {
		due     time.Time
		version int64
		found   bool
	}
	read := func(id any) mark {
		t.Helper()
		var m mark
		rows, err := env.DB.Platform().Query(ctx, `SELECT due_at, version FROM platform.outbox_due WHERE project_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			m.found = true
			if err := rows.Scan(&m.due, &m.version); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	base := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		for _, d := range []time.Duration{2 * time.Minute, time.Minute, 3 * time.Minute} {
			if err := tenant.MarkOutboxDue(ctx, tx, base.Add(d)); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM platform.outbox_due WHERE project_id = $1`, p.ID).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("the mark was written before the commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := read(p.ID); !m.found || !m.due.Equal(base.Add(time.Minute)) || m.version != 1 {
		t.Fatalf("after commit: %+v, want due %v (the earliest) at version 1", m, base.Add(time.Minute))
	}

	// While a transaction that marked is still working, the row is free:
	// a concurrent write of the row (as another transaction's commit
	// makes) does not wait for it.
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if err := tenant.MarkOutboxDue(ctx, tx, base); err != nil {
			return err
		}
		c, err := env.DB.Platform().Begin(ctx)
		if err != nil {
			return err
		}
		defer c.Rollback(ctx)
		if _, err := c.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		_, err = c.Exec(ctx, `UPDATE platform.outbox_due SET version = version WHERE project_id = $1`, p.ID)
		if err != nil {
			t.Errorf("the row was locked during the transaction: %v", err)
		}
		return c.Rollback(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := read(p.ID); !m.due.Equal(base) || m.version != 2 {
		t.Fatalf("after the second commit: %+v, want due %v at version 2", m, base)
	}

	failed := errors.New("failed")
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if err := tenant.MarkOutboxDue(ctx, tx, base.Add(-time.Hour)); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("err = %v", err)
	}
	if m := read(p.ID); !m.due.Equal(base) || m.version != 2 {
		t.Fatalf("a rolled-back transaction changed the mark: %+v", m)
	}
	if m := read(other.ID); m.found {
		t.Fatalf("another project was marked: %+v", m)
	}
}
