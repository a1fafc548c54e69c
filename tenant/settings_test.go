package tenant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

type demoSetting struct {
	N int    `json:"n"`
	S string `json:"s"`
}

// Settings read in a transaction come from one read of all the project's
// settings; a write in the same transaction is seen by the reads after it;
// a rolled-back write is not kept; projects do not see each other's.
func TestSettingsInATransaction(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	ctx := context.Background()
	db := env.DB
	err := db.InTx(ctx, a, func(tx tenant.Tx) error {
		v := demoSetting{N: 1}
		if ok, err := tenant.LoadSetting(ctx, tx, "demo", &v); err != nil || ok || v.N != 1 {
			t.Fatalf("unset: ok=%v v=%+v err=%v", ok, v, err)
		}
		if err := tenant.SaveSetting(ctx, tx, "demo", demoSetting{N: 2, S: "x"}); err != nil {
			return err
		}
		var got demoSetting
		if ok, err := tenant.LoadSetting(ctx, tx, "demo", &got); err != nil || !ok || got.N != 2 || got.S != "x" {
			t.Fatalf("after the write in the same transaction: ok=%v %+v %v", ok, got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rollback := errors.New("rollback")
	err = db.InTx(ctx, a, func(tx tenant.Tx) error {
		if err := tenant.SaveSetting(ctx, tx, "demo", demoSetting{N: 3}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	_ = db.InTx(ctx, a, func(tx tenant.Tx) error {
		var got demoSetting
		if ok, err := tenant.LoadSetting(ctx, tx, "demo", &got); err != nil || !ok || got.N != 2 {
			t.Fatalf("after a rolled-back write: ok=%v %+v %v", ok, got, err)
		}
		return nil
	})
	_ = db.InTx(ctx, b, func(tx tenant.Tx) error {
		var got demoSetting
		if ok, err := tenant.LoadSetting(ctx, tx, "demo", &got); err != nil || ok {
			t.Fatalf("another project sees the setting: ok=%v %+v %v", ok, got, err)
		}
		return nil
	})
}

// OnEnd runs after a commit and after a rollback, and is refused by a Tx
// that InTx did not make.
func TestTxOnEnd(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	var ran []string
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if !tx.OnEnd(func() { ran = append(ran, "commit") }) {
			t.Fatal("OnEnd refused in InTx")
		}
		if len(ran) != 0 {
			t.Fatal("OnEnd ran before the end")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("failed")
	_ = env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		tx.OnEnd(func() { ran = append(ran, "rollback") })
		return failed
	})
	if len(ran) != 2 || ran[0] != "commit" || ran[1] != "rollback" {
		t.Fatalf("ran %q, want commit then rollback", ran)
	}
	if (tenant.Tx{}).OnEnd(func() {}) {
		t.Fatal("a zero Tx accepted OnEnd")
	}
}

// Transactions with CachedSettings read the process's copy of a project's
// settings: one that reads nothing else sends no statement at all (no
// BEGIN, no COMMIT). A change saved by this process is read at once; a
// change written behind the process's back (as another process does) is
// read by transactions without CachedSettings at once and by cached ones
// within SettingsTTL. Copies are per project.
func TestCachedSettings(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	ctx := context.Background()
	db := env.DB
	save := func(p *tenant.Project, n int) {
		t.Helper()
		if err := db.InTx(ctx, p, func(tx tenant.Tx) error { return tenant.SaveSetting(ctx, tx, "demo", demoSetting{N: n}) }); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p *tenant.Project, o tenant.TxOptions) (n int, begun bool) {
		t.Helper()
		err := db.InTxOpts(ctx, p, o, func(tx tenant.Tx) error {
			var v demoSetting
			if _, err := tenant.LoadSetting(ctx, tx, "demo", &v); err != nil {
				return err
			}
			n, begun = v.N, tenant.TxBegun(tx)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, begun
	}
	cached := tenant.TxOptions{ReadOnly: true, CachedSettings: true}
	save(a, 1)
	save(b, 100)
	if n, _ := read(a, cached); n != 1 {
		t.Fatalf("first cached read = %d, want 1", n)
	}
	if n, begun := read(a, cached); n != 1 || begun {
		t.Fatalf("second cached read = %d (begun %v), want 1 without a round trip", n, begun)
	}
	if n, _ := read(b, cached); n != 100 {
		t.Fatalf("project b read %d, want its own 100", n)
	}
	save(a, 2)
	if n, _ := read(a, cached); n != 2 {
		t.Fatalf("after a change by this process: %d, want 2", n)
	}
	// Behind the process's back: a statement outside SaveSetting. Cached
	// reads may return 2 until the copy is SettingsTTL old.
	if err := db.InTx(ctx, a, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE project_settings SET value = '{"n": 3}' WHERE key = 'demo'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(tenant.SettingsTTL + 2*time.Second)
	for {
		n, _ := read(a, cached)
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a cached read still returned %d after SettingsTTL", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n, begun := read(a, tenant.TxOptions{ReadOnly: true}); n != 3 || !begun {
		t.Fatalf("uncached read = %d (begun %v), want 3 from Postgres", n, begun)
	}
}
