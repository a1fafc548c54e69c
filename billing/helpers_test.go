package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/billing/billingtest"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

const whsec = "whsec_test_secret"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one test's billing service over stripe-mock, with a registry that
// enforces its project quota.
type env struct {
	svc   *billing.Service
	reg   *tenant.Registry
	clock *clock
	srv   *httptest.Server // the webhook endpoint
	proxy *recorder
}

func testConfig(base string) config.Config {
	cfg := config.Default()
	cfg.StripeSecretKey = "sk_test_123"
	cfg.StripeWebhookSecret = whsec
	cfg.StripeAPIBase = base
	cfg.BillingPlans = []config.PlanConfig{
		{Name: "free", Title: "Free", IncludedMAU: 5, HardMAUCap: true, ProjectLimit: 1},
		{Name: "pro", Title: "Pro", StripePriceID: "price_pro", StripeMeteredPriceID: "price_pro_mau", IncludedMAU: 1000, ProjectLimit: 5},
		{Name: "enterprise", Title: "Enterprise"},
	}
	return cfg
}

func newEnv(t *testing.T) *env {
	t.Helper()
	te := tenanttest.Get(t)
	rec := newRecorder(t, billingtest.StripeMock(t))
	c := &clock{t: time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)}
	svc, err := billing.New(billing.Options{Config: testConfig(rec.URL), Pool: te.Pool, Clock: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if !svc.Enabled() {
		t.Fatal("billing should be on with a Stripe key")
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST(billing.WebhookPath, svc.WebhookHandler())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	reg := tenant.NewRegistry(te.DB, tenant.RegistryOptions{Quota: svc})
	return &env{svc: svc, reg: reg, clock: c, srv: srv, proxy: rec}
}

func (e *env) workspace(t *testing.T) uuid.UUID {
	t.Helper()
	ws, err := e.reg.CreateWorkspace(context.Background(), "billing "+t.Name()[:min(len(t.Name()), 40)])
	if err != nil {
		t.Fatal(err)
	}
	return ws.ID
}

func (e *env) project(t *testing.T, ws uuid.UUID) (*tenant.Project, error) {
	t.Helper()
	c, err := e.reg.Create(context.Background(), tenant.CreateParams{Name: "p", WorkspaceID: ws})
	if err != nil {
		return nil, err
	}
	return c.Project, nil
}

func (e *env) plan(t *testing.T, ws uuid.UUID) string {
	t.Helper()
	p, err := e.svc.PlanOf(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	return p.Name
}

// post sends a Stripe event signed with secret to the webhook endpoint.
func (e *env) post(t *testing.T, secret, id, typ string, created time.Time, object map[string]any) (int, string) {
	t.Helper()
	obj, _ := json.Marshal(object)
	payload := fmt.Sprintf(`{"id":%q,"object":"event","api_version":%q,"created":%d,"livemode":false,"type":%q,"data":{"object":%s}}`,
		id, stripe.APIVersion, created.Unix(), typ, obj)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret, Timestamp: time.Now()})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+billing.WebhookPath, strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) mustPost(t *testing.T, id, typ string, created time.Time, object map[string]any) {
	t.Helper()
	if code, body := e.post(t, whsec, id, typ, created, object); code != http.StatusOK {
		t.Fatalf("%s %s: status %d, body %s", typ, id, code, body)
	}
}

func evtID() string { return "evt_" + strings.ReplaceAll(uuid.NewString(), "-", "") }

func subscription(id, customer, status, price string, ws uuid.UUID) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": customer, "status": status,
		"current_period_end": time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC).Unix(),
		"metadata":           map[string]string{"workspace_id": ws.String()},
		"items":              map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "object": "subscription_item", "price": map[string]any{"id": price, "object": "price"}}}}}
}

// recorder is a reverse proxy in front of stripe-mock that records the
// meter events that reach it and can lose answers (the request reaches
// Stripe, the answer never comes back) to inject failures.
type recorder struct {
	*httptest.Server
	mu sync.Mutex
	// meter events forwarded to stripe-mock: identifier → value
	events []meterEvent
	// loseAnswers > 0: that many meter event answers are replaced by a 500
	loseAnswers atomic.Int32
	// refuse > 0: that many meter events fail before reaching Stripe
	refuse atomic.Int32
}

type meterEvent struct {
	identifier, customer, name string
	value                      int64
}

func newRecorder(t *testing.T, base string) *recorder {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/billing/meter_events" {
			rp.ServeHTTP(w, r)
			return
		}
		if rec.refuse.Load() > 0 {
			rec.refuse.Add(-1)
			http.Error(w, `{"error":{"message":"unavailable"}}`, http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		var v int64
		fmt.Sscan(form.Get("payload[value]"), &v)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		rw := httptest.NewRecorder()
		rp.ServeHTTP(rw, r)
		if rw.Code == http.StatusOK {
			rec.mu.Lock()
			rec.events = append(rec.events, meterEvent{identifier: form.Get("identifier"), customer: form.Get("payload[stripe_customer_id]"), name: form.Get("event_name"), value: v})
			rec.mu.Unlock()
		}
		if rec.loseAnswers.Load() > 0 {
			rec.loseAnswers.Add(-1)
			http.Error(w, `{"error":{"message":"lost"}}`, http.StatusInternalServerError)
			return
		}
		for k, vs := range rw.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rw.Code)
		_, _ = w.Write(rw.Body.Bytes())
	}))
	t.Cleanup(rec.Close)
	return rec
}

// billed is what Stripe bills for customer: the sum of its meter event
// values, each identifier counted once (Stripe drops duplicates).
func (r *recorder) billed(customer string) (total int64, events, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, e := range r.events {
		if e.customer != customer {
			continue
		}
		events++
		if seen[e.identifier] {
			continue
		}
		seen[e.identifier] = true
		total += e.value
	}
	return total, events, len(seen)
}
