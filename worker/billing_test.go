package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stripe/stripe-go/v76"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/billing/billingtest"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker"
	"github.com/lanyard-id/lanyard/worker/courier"
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

// mailpitAPI is the test Mailpit's REST API (LANYARD_TEST_MAILPIT_API).
func mailpitAPI() string {
	if v := os.Getenv("LANYARD_TEST_MAILPIT_API"); v != "" {
		return v
	}
	return "http://127.0.0.1:8025"
}

// inbox returns the subjects of the mails Mailpit holds for address.
func inbox(t *testing.T, address string) []string {
	t.Helper()
	resp, err := http.Get(mailpitAPI() + "/api/v1/search?limit=50&query=" + url.QueryEscape("to:"+address))
	if err != nil {
		t.Fatalf("mailpit: %v (is Mailpit running?)", err)
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct{ Subject string } `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	var subjects []string
	for _, m := range out.Messages {
		subjects = append(subjects, m.Subject)
	}
	sort.Strings(subjects)
	return subjects
}

// When a workspace's MAU crosses 80% and then 100% of its plan, the
// worker's billing job mails each owner once per threshold (real SMTP to
// Mailpit); members who are not owners get nothing, and later runs send
// nothing again.
func TestUsageWarningsMailOwnersOnce(t *testing.T) {
	env := tenanttest.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := env.Config
	cfg.StripeSecretKey = "sk_test_123"
	cfg.StripeAPIBase = billingtest.StripeMock(t)
	cfg.BillingPlans = []config.PlanConfig{
		{Name: "free", Title: "Free", IncludedMAU: 10, HardMAUCap: true, ProjectLimit: 2},
		{Name: "pro", Title: "Pro", StripePriceID: "price_pro", IncludedMAU: 1000},
	}
	svc, err := billing.New(billing.Options{Config: cfg, Pool: env.Pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Registry.BySlug(ctx, worker.WarningProjectSlug); errx.Has(err, errx.NotFound) {
		if _, err := env.Registry.Create(ctx, tenant.CreateParams{Name: "Console", Slug: worker.WarningProjectSlug}); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	ws, err := env.Registry.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	emails := map[string]string{"owner": "owner1-" + tag + "@warn.test", "owner2": "owner2-" + tag + "@warn.test", "viewer": "viewer-" + tag + "@warn.test"}
	for role, email := range emails {
		id := uuid.New()
		if _, err := env.Pool.Exec(ctx, `INSERT INTO platform.accounts (id, email) VALUES ($1, $2)`, id, email); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Pool.Exec(ctx, `INSERT INTO platform.workspace_members (workspace_id, account_id, role) VALUES ($1, $2, $3)`,
			ws.ID, id, strings.TrimSuffix(role, "2")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := env.Registry.Create(ctx, tenant.CreateParams{Name: "app", WorkspaceID: ws.ID})
	if err != nil {
		t.Fatal(err)
	}
	activate := func(n int) {
		for range n {
			if err := env.DB.InTx(ctx, c.Project, func(tx tenant.Tx) error { return svc.RecordActive(ctx, tx, uuid.New(), time.Now()) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	defer client.Close()
	cour, err := courier.NewFromConfig(cfg, env.DB, env.Registry, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(worker.Options{Redis: ropt, Queues: worker.Queues{Prefix: env.Namespace}, Registry: env.Registry,
		Courier: cour, RelayEvery: time.Second, Billing: svc, BillingEvery: time.Second})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	activate(7) // 70%: nothing
	time.Sleep(2500 * time.Millisecond)
	if got := inbox(t, emails["owner"]); len(got) != 0 {
		t.Fatalf("a mail at 70%%: %v", got)
	}
	activate(1) // 80%
	waitUntil(t, 20*time.Second, func() bool { return len(inbox(t, emails["owner"])) == 1 && len(inbox(t, emails["owner2"])) == 1 })
	if got := inbox(t, emails["owner"])[0]; !strings.Contains(got, "80%") || !strings.Contains(got, "Acme") {
		t.Fatalf("80%% subject = %q", got)
	}
	activate(1) // 90%: no new threshold
	time.Sleep(2500 * time.Millisecond)
	activate(1) // 100%
	waitUntil(t, 20*time.Second, func() bool { return len(inbox(t, emails["owner"])) == 2 && len(inbox(t, emails["owner2"])) == 2 })
	time.Sleep(2500 * time.Millisecond) // more runs: nothing new
	for _, who := range []string{"owner", "owner2"} {
		got := inbox(t, emails[who])
		if len(got) != 2 || !strings.Contains(strings.Join(got, "|"), "reached its monthly active user allowance") {
			t.Fatalf("%s got %v, want one 80%% and one 100%% mail", who, got)
		}
	}
	if got := inbox(t, emails["viewer"]); len(got) != 0 {
		t.Fatalf("a viewer was mailed: %v", got)
	}
	var marks int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM platform.usage_warnings WHERE workspace_id = $1`, ws.ID).Scan(&marks); err != nil || marks != 2 {
		t.Fatalf("warning rows = %d, %v", marks, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
