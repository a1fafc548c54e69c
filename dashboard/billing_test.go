package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/billing/billingtest"
	"github.com/lanyard-id/lanyard/dashboard"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

const billingWhsec = "whsec_dashboard_test"

// billingNow is the billing clock of these tests: 10 November 2026.
var billingNow = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

// newBillingEnv is newEnv with billing on against stripe-mock, its clock
// at billingNow. The Free plan allows 5 MAU (hard cap), 3 projects, 2
// hooks and no JavaScript actions; Pro 2 MAU then overage.
func newBillingEnv(t *testing.T) (*env, *billing.Service) {
	t.Helper()
	d := servertest.Deps(t)
	cfg := config.Default()
	cfg.StripeSecretKey = "sk_test_123"
	cfg.StripeWebhookSecret = billingWhsec
	cfg.StripeAPIBase = billingtest.StripeMock(t)
	cfg.BillingPlans = []config.PlanConfig{
		{Name: "free", Title: "Free", IncludedMAU: 5, HardMAUCap: true, ProjectLimit: 3, Features: config.PlanFeatures{Hooks: 2, AuditRetentionDays: 7}},
		{Name: "pro", Title: "Pro", StripePriceID: "price_pro", StripeMeteredPriceID: "price_pro_mau", IncludedMAU: 2, ProjectLimit: 10,
			MonthlyPriceCents: 2500, OverageCentsPer1000: 500, Features: config.PlanFeatures{Hooks: 25, JSActions: true, CustomDomains: true}},
		{Name: "enterprise", Title: "Enterprise", Features: config.PlanFeatures{JSActions: true}},
	}
	svc, err := billing.New(billing.Options{Config: cfg, Pool: tenanttest.Get(t).Pool, Logger: d.Log, Clock: func() time.Time { return billingNow }})
	if err != nil {
		t.Fatal(err)
	}
	d.Billing = svc
	consoleOnce.Lock()
	console, err := dashboard.EnsureConsole(context.Background(), d.Registry, d.Config.DashboardBaseURL())
	consoleOnce.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, d: d, router: dashboard.Router(d), api: server.APIRouter(d), console: console}, svc
}

// active records identity id as active in project pid at at.
func (e *env) active(svc *billing.Service, pid string, id uuid.UUID, at time.Time) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.d.Registry.ByID(ctx, uuid.MustParse(pid))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.d.DB.InTx(ctx, p, func(tx tenant.Tx) error { return svc.RecordActive(ctx, tx, id, at) }); err != nil {
		e.t.Fatal(err)
	}
}

type usageDay struct {
	Date   string `json:"date"`
	Active int64  `json:"active"`
	MAU    int64  `json:"mau"`
}

func (e *env) usage(ws, query, bearer string) (string, []usageDay) {
	e.t.Helper()
	r := e.call("GET", "/api/v1/workspaces/"+ws+"/billing/usage"+query, nil, bearer)
	want(e.t, r, 200)
	var out struct {
		Month string     `json:"month"`
		Days  []usageDay `json:"days"`
	}
	decode(e.t, r.body, &out)
	return out.Month, out.Days
}

func TestBillingOverviewAndDailyUsage(t *testing.T) {
	t.Parallel()
	e, svc := newBillingEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	pa, _, _ := e.newProject(a, ws, "alpha")
	pb, _, _ := e.newProject(a, ws, "beta")
	i1, i2, i3 := uuid.New(), uuid.New(), uuid.New()
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	e.active(svc, pa, i1, time.Date(2026, 10, 15, 9, 0, 0, 0, time.UTC)) // last month
	e.active(svc, pa, i1, day(1, 10))
	e.active(svc, pa, i1, day(3, 8)) // again: active that day, not a new MAU
	e.active(svc, pa, i2, day(3, 9))
	e.active(svc, pa, i2, day(3, 23)) // twice the same day counts once
	e.active(svc, pb, i3, time.Date(2026, 11, 5, 23, 59, 59, 0, time.UTC))

	r := e.call("GET", "/api/v1/workspaces/"+ws+"/billing", nil, a.token)
	want(t, r, 200)
	var o struct {
		Enabled bool `json:"enabled"`
		Plan    struct {
			Name        string `json:"name"`
			IncludedMAU int64  `json:"included_mau"`
			Features    struct {
				Hooks     int  `json:"hooks"`
				JSActions bool `json:"js_actions"`
			} `json:"features"`
		} `json:"plan"`
		SubscriptionStatus string `json:"subscription_status"`
		Period             struct{ Start, End time.Time }
		MAU                struct {
			Total    int64 `json:"total"`
			Projects []struct {
				ProjectID string `json:"project_id"`
				Name      string `json:"name"`
				MAU       int64  `json:"mau"`
			} `json:"projects"`
		} `json:"mau"`
		Overage        int64            `json:"projected_overage_cents"`
		Currency       string           `json:"currency"`
		Plans          []map[string]any `json:"plans"`
		CustomerPortal bool             `json:"customer_portal"`
	}
	decode(t, r.body, &o)
	if !o.Enabled || o.Plan.Name != "free" || o.Plan.IncludedMAU != 5 || o.Plan.Features.Hooks != 2 || o.Plan.Features.JSActions ||
		o.SubscriptionStatus != "" || o.Currency != "usd" || o.CustomerPortal || len(o.Plans) != 3 || o.Overage != 0 {
		t.Fatalf("overview = %s", r.body)
	}
	if !o.Period.Start.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !o.Period.End.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("period = %v - %v, want the calendar month", o.Period.Start, o.Period.End)
	}
	if o.MAU.Total != 3 || len(o.MAU.Projects) != 2 || o.MAU.Projects[0].ProjectID != pa || o.MAU.Projects[0].MAU != 2 ||
		o.MAU.Projects[1].ProjectID != pb || o.MAU.Projects[1].MAU != 1 || o.MAU.Projects[1].Name != "beta" {
		t.Fatalf("mau = %s", r.body)
	}

	// Day by day: active that day, and the month's cumulative MAU.
	month, days := e.usage(ws, "", a.token)
	if month != "2026-11" || len(days) != 10 {
		t.Fatalf("usage = %s %v, want the 10 days of November so far", month, days)
	}
	wantDays := map[int]usageDay{1: {"2026-11-01", 1, 1}, 2: {"2026-11-02", 0, 1}, 3: {"2026-11-03", 2, 2}, 4: {"2026-11-04", 0, 2},
		5: {"2026-11-05", 1, 3}, 10: {"2026-11-10", 0, 3}}
	for d, w := range wantDays {
		if got := days[d-1]; got != w {
			t.Errorf("day %d = %+v, want %+v", d, got, w)
		}
	}
	month, days = e.usage(ws, "?month=2026-10", a.token)
	if month != "2026-10" || len(days) != 31 || days[14] != (usageDay{"2026-10-15", 1, 1}) || days[13].MAU != 0 || days[30].MAU != 1 {
		t.Fatalf("October = %s %v", month, days)
	}
	if _, days = e.usage(ws, "?month=2027-01", a.token); len(days) != 0 {
		t.Fatalf("a future month has days: %v", days)
	}
	for _, bad := range []string{"2026-13", "nov", "2026-1", "2026-11-01", "0000-01"} {
		if er := wantError(t, e.call("GET", "/api/v1/workspaces/"+ws+"/billing/usage?month="+bad, nil, a.token), 400); er["id"] != "invalid_month" {
			t.Errorf("month %q: %v", bad, er)
		}
	}

	// On a plan with overage, the MAU past the allowance is priced.
	if err := svc.SetManualPlan(context.Background(), uuid.MustParse(ws), "pro"); err != nil {
		t.Fatal(err)
	}
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/billing", nil, a.token)
	want(t, r, 200)
	decode(t, r.body, &o)
	if o.Plan.Name != "pro" || o.Overage != 500 {
		t.Fatalf("pro overview: plan %s, overage %d; %s", o.Plan.Name, o.Overage, r.body)
	}
}

// signedEvent posts a Stripe event signed with the endpoint secret to the
// dashboard's webhook endpoint.
func (e *env) signedEvent(typ string, object map[string]any) {
	e.t.Helper()
	obj, _ := json.Marshal(object)
	payload := fmt.Sprintf(`{"id":"evt_%s","object":"event","api_version":%q,"created":%d,"type":%q,"data":{"object":%s}}`,
		strings.ReplaceAll(uuid.NewString(), "-", ""), stripe.APIVersion, time.Now().Unix(), typ, obj)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: billingWhsec, Timestamp: time.Now()})
	r := e.callWith("POST", billing.WebhookPath, payload, func(req *http.Request) { req.Header.Set("Stripe-Signature", signed.Header) })
	want(e.t, r, 200)
}

func TestBillingCheckoutPortalAndUpgrade(t *testing.T) {
	t.Parallel()
	e, _ := newBillingEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	path := "/api/v1/workspaces/" + ws + "/billing"

	// No customer yet: no portal.
	if er := wantError(t, e.call("POST", path+"/portal", map[string]any{}, a.token), 400); er["id"] != "billing_no_customer" {
		t.Fatalf("portal before any checkout: %v", er)
	}
	for _, c := range []struct {
		body map[string]any
		id   string
	}{
		{map[string]any{"plan": "gold"}, "billing_unknown_plan"},
		{map[string]any{"plan": ""}, "billing_unknown_plan"},
		{map[string]any{"plan": "free"}, "billing_plan_not_for_sale"},
		{map[string]any{"plan": "enterprise"}, "billing_plan_not_for_sale"},
		{map[string]any{"plan": "pro", "success_url": "https://evil.example/phish"}, "billing_bad_return_url"},
		{map[string]any{"plan": "pro", "cancel_url": "/relative"}, "billing_bad_return_url"},
	} {
		er := wantError(t, e.call("POST", path+"/checkout", c.body, a.token), 400)
		if er["id"] != c.id || er["reason"] == "" {
			t.Errorf("checkout %v: %v, want %s", c.body, er, c.id)
		}
	}
	wantError(t, e.call("POST", path+"/checkout", `{"plan":"pro","coupon":"x"}`, a.token), 400)

	r := e.call("POST", path+"/checkout", map[string]any{"plan": "pro", "success_url": e.d.Config.DashboardBaseURL() + "/done"}, a.token)
	want(t, r, 200)
	if str(r.json(t), "url") == "" {
		t.Fatalf("checkout: %s", r.body)
	}
	// The customer now exists: the portal opens.
	r = e.call("GET", path, nil, a.token)
	want(t, r, 200)
	if r.json(t)["customer_portal"] != true {
		t.Fatalf("customer_portal after checkout: %s", r.body)
	}
	r = e.call("POST", path+"/portal", map[string]any{}, a.token)
	want(t, r, 200)
	if str(r.json(t), "url") == "" {
		t.Fatalf("portal: %s", r.body)
	}
	want(t, e.call("POST", path+"/portal", nil, a.token), 200) // no body: the default return URL

	// Both writes are in the audit log.
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit", nil, a.token)
	want(t, r, 200)
	seen := map[string]bool{}
	for _, it := range r.items(t) {
		seen[str(it.(map[string]any), "action")] = true
	}
	if !seen["billing.checkout"] || !seen["billing.portal"] {
		t.Fatalf("audit log lacks the billing actions: %s", r.body)
	}

	// Stripe's signed subscription event puts the workspace on Pro with
	// the subscription's period.
	var customer string
	if err := tenanttest.Get(t).Pool.QueryRow(context.Background(), `SELECT stripe_customer_id FROM platform.workspace_billing WHERE workspace_id = $1`, ws).Scan(&customer); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	e.signedEvent("customer.subscription.created", map[string]any{"id": "sub_" + uuid.NewString()[:8], "object": "subscription", "customer": customer,
		"status": "active", "current_period_end": end.Unix(),
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "object": "subscription_item", "price": map[string]any{"id": "price_pro", "object": "price"}}}}})
	r = e.call("GET", path, nil, a.token)
	want(t, r, 200)
	var o struct {
		Plan               struct{ Name string }
		SubscriptionStatus string     `json:"subscription_status"`
		CurrentPeriodEnd   *time.Time `json:"current_period_end"`
		Period             struct{ Start, End time.Time }
	}
	decode(t, r.body, &o)
	if o.Plan.Name != "pro" || o.SubscriptionStatus != "active" || o.CurrentPeriodEnd == nil || !o.Period.End.Equal(end) ||
		!o.Period.Start.Equal(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("after the subscription event: %s", r.body)
	}
}

func TestBillingRolesAndIsolation(t *testing.T) {
	t.Parallel()
	e, svc := newBillingEnv(t)
	x := e.newAccount(true)
	wsX := e.personal(x)
	pX, _, _ := e.newProject(x, wsX, "x-project")
	e.active(svc, pX, uuid.New(), billingNow)
	y := e.newAccount(true)
	wsY := e.personal(y)

	viewer, admin := e.newAccount(true), e.newAccount(true)
	e.join(x, viewer, wsX, "viewer")
	e.join(x, admin, wsX, "admin")
	r := e.call("POST", "/api/v1/workspaces/"+wsX+"/tokens", map[string]any{"name": "ci", "role": "admin"}, x.token)
	want(t, r, 201)
	token := str(r.json(t), "secret")

	// Viewers, admins and tokens read billing; only owners start Checkout
	// or open the portal.
	for name, bearer := range map[string]string{"viewer": viewer.token, "admin": admin.token, "token": token} {
		want(t, e.call("GET", "/api/v1/workspaces/"+wsX+"/billing", nil, bearer), 200)
		want(t, e.call("GET", "/api/v1/workspaces/"+wsX+"/billing/usage", nil, bearer), 200)
		for _, op := range []string{"checkout", "portal"} {
			er := wantError(t, e.call("POST", "/api/v1/workspaces/"+wsX+"/billing/"+op, map[string]any{"plan": "pro"}, bearer), 403)
			if er["id"] != "insufficient_role" {
				t.Errorf("%s %s: %v", name, op, er)
			}
		}
	}

	// Another workspace's billing, or a guessed id, is 404 for every caller.
	for _, ws := range []string{wsY, uuid.NewString(), "not-a-uuid"} {
		for name, bearer := range map[string]string{"owner of X": x.token, "token of X": token} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/billing"}, {"GET", "/billing/usage"}, {"POST", "/billing/checkout"}, {"POST", "/billing/portal"},
			} {
				var body any
				if c.method == "POST" {
					body = map[string]any{"plan": "pro"}
				}
				if er := wantError(t, e.call(c.method, "/api/v1/workspaces/"+ws+c.path, body, bearer), 404); er["id"] != "workspace_not_found" {
					t.Errorf("%s %s on %s: %v", name, c.path, ws, er)
				}
			}
		}
	}
	// Y's own billing shows none of X's projects or users.
	r = e.call("GET", "/api/v1/workspaces/"+wsY+"/billing", nil, y.token)
	want(t, r, 200)
	m := r.json(t)["mau"].(map[string]any)
	if m["total"] != float64(0) || len(m["projects"].([]any)) != 0 {
		t.Fatalf("Y sees %s", r.body)
	}
	if _, days := e.usage(wsY, "", y.token); days[len(days)-1].MAU != 0 {
		t.Fatalf("Y's usage counts X's users: %v", days)
	}
	// Nothing of X's reached Stripe through Y.
	var n int
	_ = tenanttest.Get(t).Pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.workspace_billing WHERE workspace_id = $1 AND stripe_customer_id IS NOT NULL`, wsX).Scan(&n)
	if n != 0 {
		t.Fatalf("a customer was made for X by callers without the owner role")
	}
}

// With billing off (no Stripe key) the page says so, Checkout and the
// portal are refused with billing_disabled, and no feature is gated.
func TestBillingDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	pid, slug, key := e.newProject(a, ws, "self-hosted")
	r := e.call("GET", "/api/v1/workspaces/"+ws+"/billing", nil, a.token)
	want(t, r, 200)
	o := r.json(t)
	if o["enabled"] != false || o["plan"].(map[string]any)["name"] != e.d.Config.BillingDefaultPlan || o["customer_portal"] != false {
		t.Fatalf("overview with billing off: %s", r.body)
	}
	e.active(e.d.Billing, pid, uuid.New(), time.Now())
	if _, days := e.usage(ws, "", a.token); len(days) == 0 || days[len(days)-1].MAU != 1 {
		t.Fatalf("usage with billing off: %v", days)
	}
	for op, body := range map[string]any{"checkout": map[string]any{"plan": "pro"}, "portal": map[string]any{}} {
		if er := wantError(t, e.call("POST", "/api/v1/workspaces/"+ws+"/billing/"+op, body, a.token), 400); er["id"] != "billing_disabled" {
			t.Errorf("%s with billing off: %v", op, er)
		}
	}
	// Self-hosters keep JavaScript actions and any number of hooks.
	want(t, e.project("PUT", slug, "/admin/hooks", hooksWith(3, true), key), 200)
	// An operator who puts the workspace on a plan explicitly gets that
	// plan's gating.
	if err := e.d.Billing.SetManualPlan(context.Background(), uuid.MustParse(ws), "free"); err != nil {
		t.Fatal(err)
	}
	if er := wantError(t, e.project("PUT", slug, "/admin/hooks", hooksWith(0, true), key), 403); er["id"] != "billing_feature_js_actions" {
		t.Fatalf("manual free plan: %v", er)
	}
}

// hooksWith is a hooks configuration with n webhooks on registration and,
// if action, one JavaScript action on login.
func hooksWith(n int, action bool) map[string]any {
	var regs []any
	for i := range n {
		regs = append(regs, map[string]any{"hook": "web_hook", "config": map[string]any{"id": fmt.Sprintf("wh%d", i),
			"url": "http://127.0.0.1:9/hook", "method": "POST", "response": map[string]any{"ignore": true}}})
	}
	cfg := map[string]any{}
	if n > 0 {
		cfg["registration"] = map[string]any{"after": map[string]any{"hooks": regs}}
	}
	if action {
		cfg["login"] = map[string]any{"after": map[string]any{"hooks": []any{map[string]any{"hook": "action", "config": map[string]any{
			"id": "gate", "script": "export default function (event, api) { api.setMetadataPublic({ seen: true }); }"}}}}}
	}
	return cfg
}

// Feature gating: on the Free plan a JavaScript action or a third hook is
// refused with a 403 that names the plan needed, and nothing is saved; on
// Pro both are saved. Each project is gated by its own workspace's plan.
func TestHookGatingByPlan(t *testing.T) {
	t.Parallel()
	e, svc := newBillingEnv(t)
	a := e.newAccount(true)
	ws := e.personal(a)
	_, slug, key := e.newProject(a, ws, "gated")
	b := e.newAccount(true)
	wsB := e.personal(b)
	_, slugB, keyB := e.newProject(b, wsB, "paid")
	if err := svc.SetManualPlan(context.Background(), uuid.MustParse(wsB), "pro"); err != nil {
		t.Fatal(err)
	}

	r := e.project("PUT", slug, "/admin/hooks", hooksWith(1, true), key)
	er := wantError(t, r, 403)
	if er["id"] != "billing_feature_js_actions" || !strings.Contains(str(er, "reason"), "JavaScript actions need the Pro plan") {
		t.Fatalf("JS action on Free: %s", r.body)
	}
	er = wantError(t, e.project("PUT", slug, "/admin/hooks", hooksWith(3, false), key), 403)
	if er["id"] != "billing_hook_limit" || !strings.Contains(str(er, "reason"), "Pro plan") {
		t.Fatalf("3 hooks on Free: %v", er)
	}
	// Nothing was saved.
	r = e.project("GET", slug, "/admin/hooks", nil, key)
	want(t, r, 200)
	if strings.Contains(string(r.body), "wh0") || strings.Contains(string(r.body), "gate") {
		t.Fatalf("a refused configuration was stored: %s", r.body)
	}
	// Within the plan: saved.
	want(t, e.project("PUT", slug, "/admin/hooks", hooksWith(2, false), key), 200)
	// Another workspace on Pro is not held by this one's plan.
	want(t, e.project("PUT", slugB, "/admin/hooks", hooksWith(3, true), keyB), 200)
	// A key of the Free project cannot save into the Pro project.
	if r := e.project("PUT", slugB, "/admin/hooks", hooksWith(0, true), key); r.code != 401 && r.code != 404 {
		t.Fatalf("cross-project save: %d %s", r.code, r.body)
	}
	// After an upgrade the action is saved.
	if err := svc.SetManualPlan(context.Background(), uuid.MustParse(ws), "pro"); err != nil {
		t.Fatal(err)
	}
	want(t, e.project("PUT", slug, "/admin/hooks", hooksWith(2, true), key), 200)
}
