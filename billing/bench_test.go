package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// BenchmarkRecordActive is what counting a MAU adds to a session
// issuance's transaction: "baseline" is the project transaction alone,
// "new" counts a new identity, "repeat" one already counted this month;
// "write" is a transaction that already writes (as a session issuance
// does, so its commit flushes the WAL anyway) and "write+new" the same
// plus a new MAU: their difference is the cost in a real issuance.
func BenchmarkRecordActive(b *testing.B) {
	te := tenanttest.Get(b)
	svc, err := billing.New(billing.Options{Config: testConfig(""), Pool: te.Pool})
	if err != nil {
		b.Fatal(err)
	}
	p := tenanttest.NewProject(b).Project
	ctx := context.Background()
	now := time.Now()
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			if err := te.DB.InTx(ctx, p, func(tx tenant.Tx) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			if err := te.DB.InTx(ctx, p, func(tx tenant.Tx) error { return svc.RecordActive(ctx, tx, uuid.New(), now) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		for b.Loop() {
			if err := te.DB.InTx(ctx, p, func(tx tenant.Tx) error { return tenant.SaveSetting(ctx, tx, "bench", now.UnixNano()) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write+new", func(b *testing.B) {
		for b.Loop() {
			if err := te.DB.InTx(ctx, p, func(tx tenant.Tx) error {
				if err := tenant.SaveSetting(ctx, tx, "bench", now.UnixNano()); err != nil {
					return err
				}
				return svc.RecordActive(ctx, tx, uuid.New(), now)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	id := uuid.New()
	b.Run("repeat", func(b *testing.B) {
		for b.Loop() {
			if err := te.DB.InTx(ctx, p, func(tx tenant.Tx) error { return svc.RecordActive(ctx, tx, id, now) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
