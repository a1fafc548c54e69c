package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
)

func call(t *testing.T, method, url string, body any) (int, map[string]any) {
	t.Helper()
	code, m, _ := callChecked(t, method, url, body)
	return code, m
}

// callChecked is call that also checks the answer against the OpenAPI
// document; check runs the check.
func callChecked(t *testing.T, method, url string, body any) (int, map[string]any, func()) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d %q", method, url, res.StatusCode, raw)
	}
	return res.StatusCode, m, func() { openapitest.CheckResponse(t, req, res.StatusCode, res.Header, raw) }
}

// Acceptance 4: a Free workspace past its MAU cap refuses registrations
// with a 403 in the Kratos envelope and a message; existing users still
// sign in. Registrations and logins count as MAU through the flows.
func TestRegistrationCapThroughFlows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ws := e.workspace(t)
	p, err := e.project(t, ws)
	if err != nil {
		t.Fatal(err)
	}
	d := servertest.Deps(t)
	d.Billing = e.svc
	srv := httptest.NewServer(server.APIRouter(d))
	t.Cleanup(srv.Close)
	base := srv.URL + "/p/" + p.Slug
	register := func(email string) (int, map[string]any, func()) {
		_, f := call(t, "GET", base+"/self-service/registration/api", nil)
		action := f["ui"].(map[string]any)["action"].(string)
		return callChecked(t, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": email}, "password": "a long good password 1"})
	}
	for i := range 5 { // the Free test plan's cap is 5 MAU
		if code, body, _ := register(fmt.Sprintf("u%d@example.com", i)); code != http.StatusOK {
			t.Fatalf("registration %d: %d %v", i, code, body)
		}
	}
	u, err := e.svc.MAU(context.Background(), ws, e.clock.now())
	if err != nil || u.Total != 5 {
		t.Fatalf("MAU after 5 registrations = %v, %v", u, err)
	}
	code, body, check := register("late@example.com")
	if code != http.StatusForbidden {
		t.Fatalf("registration past the cap: %d %v", code, body)
	}
	env := body["error"].(map[string]any)
	if env["id"] != "billing_mau_limit" || env["reason"] == "" || env["code"] != float64(403) {
		t.Fatalf("envelope = %v", env)
	}
	check()
	// An existing user signs in.
	_, f := call(t, "GET", base+"/self-service/login/api", nil)
	action := f["ui"].(map[string]any)["action"].(string)
	code, body = call(t, "POST", action, map[string]any{"method": "password", "identifier": "u0@example.com", "password": "a long good password 1"})
	if code != http.StatusOK || body["session_token"] == nil {
		t.Fatalf("login of an existing user: %d %v", code, body)
	}
	// Another workspace's project is not affected by this one's cap.
	ws2 := e.workspace(t)
	p2, err := e.project(t, ws2)
	if err != nil {
		t.Fatal(err)
	}
	_, f = call(t, "GET", srv.URL+"/p/"+p2.Slug+"/self-service/registration/api", nil)
	code, body = call(t, "POST", f["ui"].(map[string]any)["action"].(string),
		map[string]any{"method": "password", "traits": map[string]any{"email": "other@example.com"}, "password": "a long good password 1"})
	if code != http.StatusOK {
		t.Fatalf("registration in another workspace: %d %v", code, body)
	}
}

// After a downgrade the projects over the plan's limit keep their data and
// serve reads, but their admin API refuses writes with a 403 that says
// why; the oldest project stays writable. Isolation: one project's key
// cannot write to another project either way.
func TestOverLimitProjectsAreReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ws := e.workspace(t)
	customer, sub := upgrade(t, e, ws, false)
	var keys []string
	var slugs []string
	for range 2 {
		c, err := e.reg.Create(context.Background(), tenant.CreateParams{Name: "p", WorkspaceID: ws})
		if err != nil {
			t.Fatal(err)
		}
		keys, slugs = append(keys, c.APIKey), append(slugs, c.Project.Slug)
	}
	d := servertest.Deps(t)
	d.Billing = e.svc
	srv := httptest.NewServer(server.APIRouter(d))
	t.Cleanup(srv.Close)
	admin := func(i, keyOf int, method, path string, body any) (int, map[string]any, func()) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+"/p/"+slugs[i]+path, rd)
		req.Header.Set("Authorization", "Bearer "+keys[keyOf])
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return res.StatusCode, m, func() { openapitest.CheckResponse(t, req, res.StatusCode, res.Header, raw) }
	}
	identity := func(email string) map[string]any {
		return map[string]any{"schema_id": "default", "traits": map[string]any{"email": email}}
	}
	for i := range 2 {
		if code, body, _ := admin(i, i, "POST", "/admin/identities", identity(fmt.Sprintf("before%d@example.com", i))); code != http.StatusCreated {
			t.Fatalf("project %d on Pro: %d %v", i, code, body)
		}
	}
	e.mustPost(t, evtID(), "customer.subscription.deleted", e.clock.now().Add(time.Minute), subscription(sub, customer, "canceled", "price_pro", ws))
	// The Free test plan allows 1 project: the older one stays writable.
	code, body, _ := admin(0, 0, "POST", "/admin/identities", identity("after0@example.com"))
	if code != http.StatusCreated {
		t.Fatalf("oldest project after the downgrade: %d %v", code, body)
	}
	code, body, check := admin(1, 1, "POST", "/admin/identities", identity("after1@example.com"))
	if code != http.StatusForbidden || body["error"].(map[string]any)["id"] != "billing_project_read_only" {
		t.Fatalf("newer project after the downgrade: %d %v", code, body)
	}
	check()
	// Reads still work and the data is intact.
	code, _, _ = admin(1, 1, "GET", "/admin/identities", nil)
	if code != http.StatusOK {
		t.Fatalf("read of a read-only project: %d", code)
	}
	if code, _, _ := admin(1, 0, "GET", "/admin/identities", nil); code != http.StatusUnauthorized {
		t.Fatalf("project 0's key on project 1: %d", code)
	}
}

// The webhook is served by the dashboard router as documented.
func TestWebhookOnDashboardRouter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ws := e.workspace(t)
	customer, sub := upgrade(t, e, ws, false)
	d := servertest.Deps(t)
	d.Billing = e.svc
	srv := httptest.NewServer(server.DashboardRouter(d))
	t.Cleanup(srv.Close)
	e.srv = srv
	for _, secret := range []string{whsec, "whsec_wrong"} {
		obj, _ := json.Marshal(subscription(sub, customer, "active", "price_pro", ws))
		payload := fmt.Sprintf(`{"id":%q,"object":"event","created":%d,"type":"customer.subscription.updated","data":{"object":%s}}`, evtID(), time.Now().Unix(), obj)
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret})
		req, _ := http.NewRequest("POST", srv.URL+billing.WebhookPath, strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", signed.Header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := http.StatusOK
		if secret != whsec {
			want = http.StatusBadRequest
		}
		if res.StatusCode != want {
			t.Fatalf("secret %s: %d %s", secret, res.StatusCode, raw)
		}
		openapitest.CheckResponse(t, req, res.StatusCode, res.Header, raw)
	}
}
