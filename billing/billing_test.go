package billing_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func errID(err error) string {
	var xe *errx.Error
	if errors.As(err, &xe) {
		return xe.ID
	}
	return ""
}

// upgrade takes ws through Checkout and the events Stripe sends after it.
func upgrade(t *testing.T, e *env, ws uuid.UUID, reverse bool) (customer, sub string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.svc.Checkout(ctx, billing.CheckoutParams{WorkspaceID: ws, Plan: "pro", Email: "owner@example.com",
		SuccessURL: "https://dash.example.com/billing?ok=1", CancelURL: "https://dash.example.com/billing"})
	if err != nil {
		t.Fatalf("checkout: %v", err)
	}
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("checkout url = %q", u)
	}
	st, err := e.svc.Status(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomerID == "" {
		t.Fatal("no customer stored after checkout")
	}
	customer, sub = st.CustomerID, "sub_"+strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	now := e.clock.now()
	completed := func() {
		e.mustPost(t, evtID(), "checkout.session.completed", now, map[string]any{"id": "cs_test_1", "object": "checkout.session",
			"client_reference_id": ws.String(), "customer": customer, "subscription": sub, "mode": "subscription",
			"payment_status": "paid", "metadata": map[string]string{"workspace_id": ws.String(), "plan": "pro"}})
	}
	created := func() {
		e.mustPost(t, evtID(), "customer.subscription.created", now, subscription(sub, customer, "active", "price_pro", ws))
	}
	if reverse {
		created()
		completed()
	} else {
		completed()
		created()
	}
	return customer, sub
}

// Acceptance 1: Checkout against stripe-mock, then the signed events →
// the workspace is on Pro and its project limit is raised.
func TestUpgradePath(t *testing.T) {
	t.Parallel()
	for _, reverse := range []bool{false, true} {
		e := newEnv(t)
		ctx := context.Background()
		ws := e.workspace(t)
		if got := e.plan(t, ws); got != "free" {
			t.Fatalf("plan before upgrade = %q, want free", got)
		}
		if _, err := e.project(t, ws); err != nil {
			t.Fatal(err)
		}
		_, err := e.project(t, ws)
		if errID(err) != "billing_project_limit" || httpx.StatusOf(err) != http.StatusForbidden {
			t.Fatalf("second project on Free: err = %v, want 403 billing_project_limit", err)
		}
		if !strings.Contains(err.Error(), "Upgrade") {
			t.Fatalf("limit error does not say how to lift it: %v", err)
		}
		upgrade(t, e, ws, reverse)
		if got := e.plan(t, ws); got != "pro" {
			t.Fatalf("reverse=%v: plan after upgrade = %q, want pro", reverse, got)
		}
		for i := 0; i < 4; i++ {
			if _, err := e.project(t, ws); err != nil {
				t.Fatalf("project %d on Pro: %v", i+2, err)
			}
		}
		if _, err := e.project(t, ws); errID(err) != "billing_project_limit" {
			t.Fatalf("sixth project on Pro: err = %v, want billing_project_limit", err)
		}
		// The customer is created once.
		c1, err := e.svc.Customer(ctx, ws, "", "")
		if err != nil {
			t.Fatal(err)
		}
		st, _ := e.svc.Status(ctx, ws)
		if c1 != st.CustomerID {
			t.Fatalf("customer changed: %q then %q", st.CustomerID, c1)
		}
		portal, err := e.svc.Portal(ctx, ws, "https://dash.example.com/billing")
		if err != nil || !strings.HasPrefix(portal, "https://") {
			t.Fatalf("portal = %q, %v", portal, err)
		}
	}
}

func TestWebhookSignatureReplayAndUnknownCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ws := e.workspace(t)
	customer, _ := upgrade(t, e, ws, false)
	te := tenanttest.Get(t)
	count := func() int {
		var n int
		if err := te.Pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.stripe_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	// A bad signature: 400 in the Kratos envelope, nothing stored or changed.
	id := evtID()
	code, body := e.post(t, "whsec_wrong", id, "customer.subscription.deleted", e.clock.now().Add(time.Minute), subscription("sub_x", customer, "canceled", "price_pro", ws))
	if code != http.StatusBadRequest || !strings.Contains(body, `"billing_bad_signature"`) {
		t.Fatalf("bad signature: %d %s", code, body)
	}
	if got := e.plan(t, ws); got != "pro" {
		t.Fatalf("plan after a forged event = %q", got)
	}
	if count() != before {
		t.Fatal("a forged event was stored")
	}

	// An event for a customer nobody knows: acknowledged, logged, no change.
	code, body = e.post(t, whsec, evtID(), "invoice.payment_failed", e.clock.now(), map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_unknown"})
	if code != http.StatusOK {
		t.Fatalf("unknown customer: %d %s", code, body)
	}

	// The same event twice acts once: a failure recorded, then paid, then
	// the failure replayed must not start a new grace period.
	failID := evtID()
	t0 := e.clock.now()
	e.mustPost(t, failID, "invoice.payment_failed", t0, map[string]any{"id": "in_2", "object": "invoice", "customer": customer})
	e.mustPost(t, evtID(), "invoice.paid", t0.Add(time.Hour), map[string]any{"id": "in_2", "object": "invoice", "customer": customer})
	code, body = e.post(t, whsec, failID, "invoice.payment_failed", t0, map[string]any{"id": "in_2", "object": "invoice", "customer": customer})
	if code != http.StatusOK || !strings.Contains(body, `"duplicate":true`) {
		t.Fatalf("replay: %d %s", code, body)
	}
	st, _ := e.svc.Status(context.Background(), ws)
	if st.GraceUntil != nil {
		t.Fatalf("a replayed failure reopened a grace period until %v", st.GraceUntil)
	}
	// An older failure arriving after the payment is stale.
	e.mustPost(t, evtID(), "invoice.payment_failed", t0.Add(-time.Hour), map[string]any{"id": "in_0", "object": "invoice", "customer": customer})
	if st, _ := e.svc.Status(context.Background(), ws); st.GraceUntil != nil {
		t.Fatal("a stale failure opened a grace period")
	}
}

// Acceptance 2: payment failure → grace → downgrade; subscription deleted
// → Free with data intact and projects over the limit read-only.
func TestPaymentFailureGraceDowngrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ws := e.workspace(t)
	customer, sub := upgrade(t, e, ws, false)
	var projects []*tenant.Project
	for range 3 {
		p, err := e.project(t, ws)
		if err != nil {
			t.Fatal(err)
		}
		projects = append(projects, p)
		e.clock.add(time.Second)
	}
	e.mustPost(t, evtID(), "invoice.payment_failed", e.clock.now(), map[string]any{"id": "in_f", "object": "invoice", "customer": customer, "subscription": sub})
	e.mustPost(t, evtID(), "customer.subscription.updated", e.clock.now(), subscription(sub, customer, "past_due", "price_pro", ws))
	e.clock.add(6 * 24 * time.Hour)
	if got := e.plan(t, ws); got != "pro" {
		t.Fatalf("plan during the grace period = %q, want pro", got)
	}
	st, _ := e.svc.Status(ctx, ws)
	if st.GraceUntil == nil {
		t.Fatal("no grace period shown")
	}
	e.clock.add(2 * 24 * time.Hour)
	if got := e.plan(t, ws); got != "free" {
		t.Fatalf("plan after the grace period = %q, want free", got)
	}

	// Paid again, then cancelled: Free, projects kept, the newest read-only.
	e.mustPost(t, evtID(), "invoice.paid", e.clock.now(), map[string]any{"id": "in_f", "object": "invoice", "customer": customer, "subscription": sub})
	if got := e.plan(t, ws); got != "pro" {
		t.Fatalf("plan after paying = %q, want pro", got)
	}
	e.clock.add(time.Hour)
	deleted := evtID()
	e.mustPost(t, deleted, "customer.subscription.deleted", e.clock.now(), subscription(sub, customer, "canceled", "price_pro", ws))
	// A late "updated: active" from before the cancellation changes nothing.
	e.mustPost(t, evtID(), "customer.subscription.updated", e.clock.now().Add(-time.Minute), subscription(sub, customer, "active", "price_pro", ws))
	if got := e.plan(t, ws); got != "free" {
		t.Fatalf("plan after cancellation = %q, want free", got)
	}
	for i, p := range projects {
		got, err := tenanttest.Get(t).Registry.ByID(ctx, p.ID)
		if err != nil || got.State != "active" {
			t.Fatalf("project %d after the downgrade: %v %v", i, got, err)
		}
	}
	// Free allows 1: the oldest project stays writable, the others are read-only.
	oldest, err := e.reg.ByID(ctx, projects[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = oldest
	var first *tenant.Project
	list, err := e.reg.List(ctx, tenant.ListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.WorkspaceID == ws && (first == nil || p.CreatedAt.Before(first.CreatedAt)) {
			first = p
		}
	}
	writable, readOnly := 0, 0
	for _, p := range list {
		if p.WorkspaceID != ws {
			continue
		}
		err := e.svc.ProjectWritable(ctx, p)
		switch {
		case err == nil:
			writable++
			if p.ID != first.ID {
				t.Fatalf("project %s writable, want only the oldest", p.ID)
			}
		case errID(err) == "billing_project_read_only" && httpx.StatusOf(err) == http.StatusForbidden:
			readOnly++
		default:
			t.Fatalf("ProjectWritable: %v", err)
		}
	}
	if writable != 1 || readOnly != 2 {
		t.Fatalf("writable %d, read-only %d; want 1 and 2", writable, readOnly)
	}
}

// Acceptance 3: 1,000 identities active in a month across 3 projects →
// exactly 1,000 MAU billed, across two runs with a crash between them.
func TestMeteringExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ws := e.workspace(t)
	customer, _ := upgrade(t, e, ws, false)
	var projects []*tenant.Project
	for range 3 {
		p, err := e.project(t, ws)
		if err != nil {
			t.Fatal(err)
		}
		projects = append(projects, p)
	}
	db := tenanttest.Get(t).DB
	activate := func(from, to int, ids []uuid.UUID) {
		t.Helper()
		for i := from; i < to; i++ {
			p := projects[i%3]
			if err := db.InTx(ctx, p, func(tx tenant.Tx) error {
				// each identity is active twice: counted once
				if err := e.svc.RecordActive(ctx, tx, ids[i], e.clock.now()); err != nil {
					return err
				}
				return e.svc.RecordActive(ctx, tx, ids[i], e.clock.now().Add(time.Hour))
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := make([]uuid.UUID, 1000)
	for i := range ids {
		ids[i] = uuid.New()
	}
	// Last month's activity is not this month's.
	if err := db.InTx(ctx, projects[0], func(tx tenant.Tx) error {
		return e.svc.RecordActive(ctx, tx, ids[0], e.clock.now().AddDate(0, -1, 0))
	}); err != nil {
		t.Fatal(err)
	}
	activate(0, 600, ids)

	// Run 1 "crashes": Stripe records the event but the answer is lost.
	e.proxy.loseAnswers.Store(100)
	if _, err := e.svc.ReportWorkspace(ctx, ws); err == nil {
		t.Fatal("run 1 should fail while Stripe's answers are lost")
	}
	e.proxy.loseAnswers.Store(0)
	activate(600, 1000, ids)

	// Run 2 resends the first report (same identifier) and reports the rest.
	if _, err := e.svc.ReportWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	// Run 3 has nothing new; an outage while nothing is pending changes nothing.
	res, err := e.svc.ReportWorkspace(ctx, ws)
	if err != nil || res.Sent != 0 || res.Quantity != 0 {
		t.Fatalf("run 3: %+v %v", res, err)
	}
	total, events, distinct := e.proxy.billed(customer)
	if total != 1000 {
		t.Fatalf("billed MAU = %d over %d events (%d distinct), want exactly 1000: %+v", total, events, distinct, e.proxy.events)
	}
	if events <= distinct {
		t.Fatalf("the crash run's event was not resent with the same identifier (%d events, %d distinct)", events, distinct)
	}
	u, err := e.svc.MAU(ctx, ws, e.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if u.Total != 1000 || len(u.PerProject) != 3 {
		t.Fatalf("MAU = %d over %d projects, want 1000 over 3", u.Total, len(u.PerProject))
	}
	if got := u.Daily[len(u.Daily)-1]; got != 1000 {
		t.Fatalf("daily chart ends at %d", got)
	}
	// A workspace's usage is its own.
	other := e.workspace(t)
	if u, _ := e.svc.MAU(ctx, other, e.clock.now()); u.Total != 0 {
		t.Fatalf("another workspace shows %d MAU", u.Total)
	}
}

// A report that fails before reaching Stripe is retried by the next run.
func TestMeteringCatchesUpAfterOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ws := e.workspace(t)
	customer, _ := upgrade(t, e, ws, false)
	p, err := e.project(t, ws)
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if err := tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) error { return e.svc.RecordActive(ctx, tx, uuid.New(), e.clock.now()) }); err != nil {
			t.Fatal(err)
		}
	}
	e.proxy.refuse.Store(100)
	if _, err := e.svc.ReportWorkspace(ctx, ws); err == nil || httpx.StatusOf(err) != http.StatusBadGateway {
		t.Fatalf("outage run: %v", err)
	}
	e.proxy.refuse.Store(0)
	if total, _, _ := e.proxy.billed(customer); total != 0 {
		t.Fatalf("billed %d during the outage", total)
	}
	if _, err := e.svc.ReportWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if total, _, _ := e.proxy.billed(customer); total != 7 {
		t.Fatalf("billed %d after the outage, want 7", total)
	}
}

// Acceptance 4 (service side): registrations stop at the Free cap plus
// the grace margin; the flows call AllowRegistration.
func TestRegistrationCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ws := e.workspace(t)
	p, err := e.project(t, ws)
	if err != nil {
		t.Fatal(err)
	}
	// cap 5 + 10% → refused from 5 (integer margin 0)
	for i := 0; i < 5; i++ {
		if err := e.svc.AllowRegistration(ctx, p); err != nil {
			t.Fatalf("registration %d: %v", i+1, err)
		}
		if err := tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) error { return e.svc.RecordActive(ctx, tx, uuid.New(), e.clock.now()) }); err != nil {
			t.Fatal(err)
		}
	}
	err = e.svc.AllowRegistration(ctx, p)
	env := httpx.EnvelopeOf(err, "")
	if env.Error.Code != http.StatusForbidden || env.Error.ID != "billing_mau_limit" || !strings.Contains(env.Error.Reason, "upgrading") {
		t.Fatalf("over the cap: %+v", env.Error)
	}
	// Next month the cap starts again.
	e.clock.add(31 * 24 * time.Hour)
	if err := e.svc.AllowRegistration(ctx, p); err != nil {
		t.Fatalf("next month: %v", err)
	}
}

// Without a Stripe key: billing off, the default plan, no limits, no calls.
func TestBillingOff(t *testing.T) {
	t.Parallel()
	te := tenanttest.Get(t)
	cfg := testConfig("http://127.0.0.1:1") // nothing listens: any call would fail
	cfg.StripeSecretKey = ""
	svc, err := billing.New(billing.Options{Config: cfg, Pool: te.Pool})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reg := tenant.NewRegistry(te.DB, tenant.RegistryOptions{Quota: svc})
	ws, err := reg.CreateWorkspace(ctx, "off")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // Free's limit is 1, but billing is off
		if _, err := reg.Create(ctx, tenant.CreateParams{Name: "p", WorkspaceID: ws.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := svc.PlanOf(ctx, ws.ID); err != nil || p.Name != "free" {
		t.Fatalf("plan = %q, %v", p.Name, err)
	}
	if _, err := svc.Checkout(ctx, billing.CheckoutParams{WorkspaceID: ws.ID, Plan: "pro", SuccessURL: "https://a.example/x", CancelURL: "https://a.example/y"}); errID(err) != "billing_disabled" {
		t.Fatalf("checkout with billing off: %v", err)
	}
	if res, err := svc.ReportUsage(ctx); err != nil || res.Sent != 0 {
		t.Fatalf("report with billing off: %+v %v", res, err)
	}
}

func TestPlansConfig(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	ps, err := billing.NewPlans(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ps.List()); got != 3 || ps.Default().Name != "free" {
		t.Fatalf("default set: %d plans, default %q", got, ps.Default().Name)
	}
	cfg.BillingDefaultPlan = "gold"
	if _, err := billing.NewPlans(cfg); err == nil || !strings.Contains(err.Error(), "gold") {
		t.Fatalf("unknown default plan: %v", err)
	}
	// Plans from the YAML file, the rest from the environment.
	path := filepath.Join(t.TempDir(), "lanyard.yaml")
	yaml := "billing_default_plan: starter\nbilling_plans:\n  - name: starter\n    included_mau: 50\n    hard_mau_cap: true\n    project_limit: 1\n" +
		"  - name: team\n    stripe_price_id: price_team\n    project_limit: 9\n    features: {js_actions: true}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load(path, func(k string) string {
		return map[string]string{"LANYARD_BILLING_GRACE_PERIOD": "72h", "LANYARD_SECRET": "dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ="}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	ps, err = billing.NewPlans(loaded)
	if err != nil {
		t.Fatal(err)
	}
	team, ok := ps.ByPrice("price_team")
	if ps.Default().Name != "starter" || ps.Default().IncludedMAU != 50 || !ok || team.ProjectLimit != 9 || !team.Features.JSActions || loaded.BillingGracePeriod != 72*time.Hour {
		t.Fatalf("loaded plans: default %+v, team %+v, grace %s", ps.Default(), team, loaded.BillingGracePeriod)
	}
	cfg = testConfig("")
	cfg.BillingPlans = append(cfg.BillingPlans, config.PlanConfig{Name: "pro"})
	if _, err := billing.NewPlans(cfg); err == nil {
		t.Fatal("a duplicate plan was accepted")
	}
}

func TestCheckoutBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ws := e.workspace(t)
	for _, tc := range []struct {
		plan, success, id string
	}{
		{"gold", "https://a.example/ok", "billing_unknown_plan"},
		{"enterprise", "https://a.example/ok", "billing_plan_not_for_sale"},
		{"pro", "javascript:alert(1)", "billing_bad_return_url"},
	} {
		_, err := e.svc.Checkout(ctx, billing.CheckoutParams{WorkspaceID: ws, Plan: tc.plan, SuccessURL: tc.success, CancelURL: "https://a.example/c"})
		if errID(err) != tc.id || httpx.StatusOf(err) != http.StatusBadRequest {
			t.Fatalf("%s: %v, want %s", tc.plan, err, tc.id)
		}
	}
	if st, _ := e.svc.Status(ctx, ws); st.CustomerID != "" {
		t.Fatal("a refused checkout created a customer")
	}
	if _, err := e.svc.Portal(ctx, ws, "https://a.example/r"); errID(err) != "billing_no_customer" {
		t.Fatalf("portal without a customer: %v", err)
	}
	// Stripe unreachable: a clear 502 and nothing stored.
	cfg := testConfig("http://127.0.0.1:1")
	down, err := billing.New(billing.Options{Config: cfg, Pool: tenanttest.Get(t).Pool, HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = down.Checkout(ctx, billing.CheckoutParams{WorkspaceID: ws, Plan: "pro", SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/c"})
	if errID(err) != "billing_provider_unavailable" || httpx.StatusOf(err) != http.StatusBadGateway {
		t.Fatalf("stripe down: %v", err)
	}
	if st, _ := e.svc.Status(ctx, ws); st.CustomerID != "" {
		t.Fatal("a failed checkout left a customer behind")
	}
}

// Isolation: one workspace's Stripe events never change another's plan,
// whatever the event's metadata says.
func TestWebhookIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.workspace(t), e.workspace(t)
	customerA, subA := upgrade(t, e, a, false)
	// A's subscription event naming B in its metadata changes A only.
	e.mustPost(t, evtID(), "customer.subscription.updated", e.clock.now().Add(time.Minute), subscription(subA, customerA, "active", "price_pro", b))
	if got := e.plan(t, b); got != "free" {
		t.Fatalf("workspace B moved to %q by A's event", got)
	}
	// A customer nobody created, pointing at B: acknowledged, nothing changes.
	e.mustPost(t, evtID(), "customer.subscription.created", e.clock.now(), subscription("sub_forged", "cus_forged", "active", "price_pro", b))
	if got := e.plan(t, b); got != "free" {
		t.Fatalf("workspace B moved to %q by an unknown customer", got)
	}
	// A checkout completed for B with A's customer does not hand A's
	// customer to B.
	e.mustPost(t, evtID(), "checkout.session.completed", e.clock.now(), map[string]any{"id": "cs_x", "object": "checkout.session",
		"client_reference_id": b.String(), "customer": customerA, "subscription": subA, "payment_status": "paid",
		"metadata": map[string]string{"plan": "pro"}})
	if got := e.plan(t, b); got != "free" {
		t.Fatalf("workspace B moved to %q by A's checkout", got)
	}
	if st, _ := e.svc.Status(context.Background(), b); st.CustomerID != "" {
		t.Fatalf("workspace B got customer %q", st.CustomerID)
	}
	if got := e.plan(t, a); got != "pro" {
		t.Fatalf("workspace A is on %q", got)
	}
}

func TestOverageCents(t *testing.T) {
	t.Parallel()
	pro := config.PlanConfig{IncludedMAU: 25000, OverageCentsPer1000: 500}
	for _, tc := range []struct{ mau, want int64 }{{0, 0}, {25000, 0}, {25001, 500}, {26000, 500}, {26001, 1000}, {125000, 50000}} {
		if got := billing.OverageCents(pro, tc.mau); got != tc.want {
			t.Errorf("OverageCents(%d) = %d, want %d", tc.mau, got, tc.want)
		}
	}
	if got := billing.OverageCents(config.PlanConfig{IncludedMAU: 10}, 1000); got != 0 {
		t.Errorf("a plan without overage price charges %d", got)
	}
}

// The operator's default workspace (the console project's) has no quotas.
func TestDefaultWorkspaceIsExempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	def, err := e.reg.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the Free test plan allows 1
		if _, err := e.project(t, def); err != nil {
			t.Fatalf("project in the default workspace: %v", err)
		}
	}
	if err := e.svc.AllowProject(ctx, def); err != nil {
		t.Fatal(err)
	}
}
