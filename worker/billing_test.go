package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stripe/stripe-go/v76"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/billing/billingtest"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker"
)

// The scheduled usage report sends a subscribed workspace's MAU to Stripe
// (stripe-mock) from the billing queue.
func TestUsageReportTask(t *testing.T) {
	env := tenanttest.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.StripeSecretKey = "sk_test_123"
	cfg.StripeAPIBase = billingtest.StripeMock(t)
	cfg.StripeProPriceID = "price_pro"
	svc, err := billing.New(billing.Options{Config: cfg, Pool: env.Pool})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := env.Registry.CreateWorkspace(ctx, "usage task")
	if err != nil {
		t.Fatal(err)
	}
	customer, err := svc.Customer(ctx, ws.ID, "owner@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := json.Marshal(map[string]any{"id": "sub_task", "object": "subscription", "customer": customer, "status": "active",
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "price": map[string]any{"id": "price_pro"}}}}})
	if _, err := svc.HandleEvent(ctx, &stripe.Event{ID: "evt_" + uuid.NewString(), Type: "customer.subscription.created",
		Created: time.Now().Unix(), Data: &stripe.EventData{Raw: obj}}); err != nil {
		t.Fatal(err)
	}
	c, err := env.Registry.Create(ctx, tenant.CreateParams{Name: "usage", WorkspaceID: ws.ID})
	if err != nil {
		t.Fatal(err)
	}
	for range 12 {
		if err := env.DB.InTx(ctx, c.Project, func(tx tenant.Tx) error { return svc.RecordActive(ctx, tx, uuid.New(), time.Now()) }); err != nil {
			t.Fatal(err)
		}
	}
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(worker.Options{Redis: ropt, Queues: worker.Queues{Prefix: env.Namespace}, Registry: env.Registry,
		Billing: svc, BillingEvery: time.Second})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitUntil(t, 20*time.Second, func() bool {
		var sent int64
		_ = env.Pool.QueryRow(ctx, `SELECT coalesce(sum(quantity), 0) FROM platform.usage_reports WHERE workspace_id = $1 AND sent_at IS NOT NULL`, ws.ID).Scan(&sent)
		return sent == 12
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
