package tenant_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// A transaction with AsyncCommit runs with synchronous_commit off until
// something in it must survive a crash (MarkOutboxDue, or Durable); others
// keep the server's setting. Both commit what they wrote.
func TestAsyncCommit(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	setting := func(tx tenant.Tx) string {
		t.Helper()
		var v string
		if err := tx.QueryRow(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	err := env.DB.InTxOpts(ctx, p, tenant.TxOptions{AsyncCommit: true}, func(tx tenant.Tx) error {
		if v := setting(tx); v != "off" {
			t.Errorf("AsyncCommit: synchronous_commit = %q, want off", v)
		}
		if tenant.TxDurable(tx) {
			t.Error("durable before anything asked for it")
		}
		if err := tenant.SaveSetting(ctx, tx, "async-demo", demoSetting{N: 1}); err != nil {
			return err
		}
		if err := tenant.MarkOutboxDue(ctx, tx, time.Now().Add(time.Hour)); err != nil {
			return err
		}
		if !tenant.TxDurable(tx) {
			t.Error("MarkOutboxDue did not make the commit durable")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if v := setting(tx); v != "on" {
			t.Errorf("default: synchronous_commit = %q, want on", v)
		}
		var got demoSetting
		if ok, err := tenant.LoadSetting(ctx, tx, "async-demo", &got); err != nil || !ok || got.N != 1 {
			t.Errorf("the async transaction's write: ok=%v %+v %v", ok, got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Queued writes go out with the transaction's next statement (which sees
// them) or with its COMMIT; a rollback never sends them; a failing one
// fails the transaction, which leaves nothing behind, and the connection
// stays usable.
func TestQueuedWrites(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	const insert = `INSERT INTO audit_events (actor, action, target) VALUES ('test', 'queued', $1)`
	count := func(target string) int {
		t.Helper()
		var n int
		err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE target = $1`, target).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		tx.Queue(insert, "q1")
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE target = 'q1'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("the next statement saw %d queued rows (%v), want 1", n, err)
		}
		tx.Queue(insert, "q2")
		return nil
	})
	if err != nil || count("q1") != 1 || count("q2") != 1 {
		t.Fatalf("committed queued writes: %v, q1=%d q2=%d", err, count("q1"), count("q2"))
	}

	rollback := errors.New("rollback")
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		tx.Queue(insert, "q3")
		return rollback
	})
	if !errors.Is(err, rollback) || count("q3") != 0 {
		t.Fatalf("rolled back: %v, q3=%d", err, count("q3"))
	}

	// A transaction of queued writes only: BEGIN, writes and COMMIT go
	// out together.
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error { tx.Queue(insert, "q4"); return nil }); err != nil || count("q4") != 1 {
		t.Fatalf("queued-only transaction: %v, q4=%d", err, count("q4"))
	}

	// An amendable write carries the arguments it was last given while it
	// waits; once sent, amending it changes nothing and says so.
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		amend := tx.QueueAmendable(insert, "a1-first")
		if !amend("a1") {
			t.Error("amending a write still queued reported it sent")
		}
		other := tx.QueueAmendable(insert, "a2")
		if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
			return err
		}
		if other("a2-late") || amend("a1-late") {
			t.Error("amending a sent write reported success")
		}
		return nil
	})
	if err != nil || count("a1") != 1 || count("a1-first") != 0 || count("a2") != 1 || count("a1-late")+count("a2-late") != 0 {
		t.Fatalf("amended writes: %v, a1=%d a1-first=%d a2=%d", err, count("a1"), count("a1-first"), count("a2"))
	}

	const bad = `INSERT INTO audit_events (no_such_column) VALUES ($1)`
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if _, err := tx.Exec(ctx, insert, "q5"); err != nil {
			return err
		}
		tx.Queue(bad, 1)
		var one int
		return tx.QueryRow(ctx, `SELECT 1`).Scan(&one)
	})
	if err == nil || count("q5") != 0 {
		t.Fatalf("a failing queued write before a statement: %v, q5=%d", err, count("q5"))
	}
	err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if _, err := tx.Exec(ctx, insert, "q6"); err != nil {
			return err
		}
		tx.Queue(bad, 1)
		return nil
	})
	if err == nil || count("q6") != 0 {
		t.Fatalf("a failing queued write at commit: %v, q6=%d", err, count("q6"))
	}
}

// The BEGIN goes out with the transaction's first statement. A statement
// the connection never prepared cannot be prepared before the schema pin
// runs, and a string of several commands cannot be prepared at all: both
// still work.
func TestFirstStatementShapes(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	for i := range 3 {
		fresh := fmt.Sprintf(`SELECT count(*) FROM audit_events WHERE target = $1 /* %s */`, uuid.NewString())
		err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, fresh, "none").Scan(&n); err != nil {
				return fmt.Errorf("new statement first: %w", err)
			}
			rows, err := tx.Query(ctx, fresh+" ", "none") // new again, as Query
			if err != nil {
				return err
			}
			rows.Close()
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		// A batch first, with a queued write before it.
		err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			tx.Queue(`INSERT INTO audit_events (actor, action, target) VALUES ('test', 'batch', $1)`, fmt.Sprint("b", i))
			b := &pgx.Batch{}
			b.Queue(fresh+"  ", fmt.Sprint("b", i))
			b.Queue(`SELECT 2`)
			br := tx.SendBatch(ctx, b)
			var n, two int
			if err := br.QueryRow().Scan(&n); err != nil || n != 1 {
				return fmt.Errorf("batch first: saw %d queued rows (%v), want 1", n, err)
			}
			if err := br.QueryRow().Scan(&two); err != nil || two != 2 {
				return fmt.Errorf("batch first: second result %d (%v)", two, err)
			}
			return br.Close()
		})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		err = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO audit_events (actor, action, target) VALUES ('test', 'multi', 'm1'); INSERT INTO audit_events (actor, action, target) VALUES ('test', 'multi', 'm2')`)
			return err
		})
		if err != nil {
			t.Fatalf("round %d: several commands first: %v", i, err)
		}
	}
	var n int
	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'multi'`).Scan(&n)
	})
	if err != nil || n != 6 {
		t.Fatalf("several-command writes: %d rows (%v), want 6", n, err)
	}
}

// A Snapshot transaction's statements all see the database as of its
// first; a default one's each see what committed before them.
func TestSnapshotTransaction(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	const target = "snapshot-probe"
	twice := func(o tenant.TxOptions) (first, second int) {
		t.Helper()
		err := env.DB.InTxOpts(ctx, p, o, func(tx tenant.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE target = $1`, target).Scan(&first); err != nil {
				return err
			}
			// Another transaction commits a row meanwhile.
			if err := env.DB.InTx(ctx, p, func(other tenant.Tx) error {
				_, err := other.Exec(ctx, `INSERT INTO audit_events (actor, action, target) VALUES ('test', 'snapshot', $1)`, target)
				return err
			}); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE target = $1`, target).Scan(&second)
		})
		if err != nil {
			t.Fatal(err)
		}
		return first, second
	}
	if a, b := twice(tenant.TxOptions{ReadOnly: true, Snapshot: true}); a != b {
		t.Errorf("a snapshot transaction saw %d rows, then %d", a, b)
	}
	if a, b := twice(tenant.TxOptions{ReadOnly: true}); b != a+1 {
		t.Errorf("a default transaction saw %d rows, then %d; want the other's commit", a, b)
	}
}

// A transaction remembers the rows it marked as inserted, and only for
// itself.
func TestMarkInserted(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	id, other := uuid.New(), uuid.New()
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		tx.MarkInserted(id)
		if !tx.Inserted(id) || tx.Inserted(other) {
			t.Errorf("Inserted: marked %v, unmarked %v", tx.Inserted(id), tx.Inserted(other))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if tx.Inserted(id) {
			t.Error("another transaction reports the first one's mark")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var zero tenant.Tx
	zero.MarkInserted(id)
	if zero.Inserted(id) {
		t.Error("a zero Tx kept a mark")
	}
}
