package tenant_test

import (
	"context"
	"errors"
	"testing"

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
