package tenant_test

import (
	"context"
	"testing"
	"time"

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
