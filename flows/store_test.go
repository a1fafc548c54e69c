package flows_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

func TestFlowStoreRoundTripAndIsolation(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	f := flows.New(flows.NewParams{Kind: flows.KindLogin, Type: flows.TypeBrowser, BaseURL: "http://x", RequestURL: "http://x/self-service/login/browser", Now: time.Now()})
	f.CSRFHash = flows.CSRFHash(make([]byte, 32))
	f.Internal = map[string]json.RawMessage{"webauthn": json.RawMessage(`{"challenge":"c"}`)}
	flows.AddCSRFNode(f, make([]byte, 32))
	if err := env.DB.InTx(ctx, a, func(tx tenant.Tx) error { return flows.CreateFlow(ctx, tx, f) }); err != nil {
		t.Fatal(err)
	}
	var got *flows.Flow
	err := env.DB.InTx(ctx, a, func(tx tenant.Tx) (err error) {
		got, err = flows.GetFlow(ctx, tx, flows.KindLogin, f.ID, true)
		if err != nil {
			return err
		}
		got.State = flows.StatePassedChallenge
		got.UI.AddMessage(flows.Message(flows.ErrValidationInvalidCredentials))
		return flows.UpdateFlow(ctx, tx, got)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != flows.KindLogin || got.Type != flows.TypeBrowser || string(got.Internal["webauthn"]) != `{"challenge": "c"}` && string(got.Internal["webauthn"]) != `{"challenge":"c"}` ||
		got.UI.Find("csrf_token", "") == nil || !got.ExpiresAt.Equal(f.ExpiresAt) || *got.Refresh != false {
		t.Fatalf("round trip = %+v", got)
	}
	_ = env.DB.InTx(ctx, a, func(tx tenant.Tx) (err error) {
		got, err = flows.GetFlow(ctx, tx, flows.KindLogin, f.ID, false)
		return err
	})
	if got.State != flows.StatePassedChallenge || len(got.UI.Messages) != 1 {
		t.Fatalf("update lost: %+v", got)
	}
	// Another kind, another project: not found.
	for name, tc := range map[string]struct {
		p *tenant.Project
		k flows.Kind
	}{"other kind": {a, flows.KindRegistration}, "other project": {b, flows.KindLogin}} {
		err := env.DB.InTx(ctx, tc.p, func(tx tenant.Tx) error {
			_, err := flows.GetFlow(ctx, tx, tc.k, f.ID, false)
			return err
		})
		if !errx.Has(err, errx.NotFound) {
			t.Errorf("%s: err = %v, want NotFound", name, err)
		}
	}
	if _, err := flows.ParseFlowID("nope"); !errx.Has(err, errx.Invalid) {
		t.Errorf("ParseFlowID(nope) = %v", err)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	base := "http://acme.localhost:4433"
	w := httptest.NewRecorder()
	init := httptest.NewRequest("GET", "/self-service/login/browser", nil)
	secret := flows.EnsureCSRF(w, init, base)
	ck := w.Result().Cookies()
	if len(ck) != 1 || ck[0].Name != flows.CSRFCookieName(base) || !strings.HasPrefix(ck[0].Name, "csrf_token_") || len(ck[0].Name) != len("csrf_token_")+64 ||
		!ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode || ck[0].Secure || ck[0].Path != "/" {
		t.Fatalf("csrf cookie = %+v", ck)
	}
	if flows.CSRFCookieName(base) == flows.CSRFCookieName("http://other.localhost:4433") {
		t.Fatal("two projects share a CSRF cookie name")
	}
	f := flows.New(flows.NewParams{Kind: flows.KindLogin, Type: flows.TypeBrowser, BaseURL: base, Now: time.Now()})
	f.CSRFHash = flows.CSRFHash(secret)
	t1, t2 := flows.MaskCSRF(secret), flows.MaskCSRF(secret)
	if t1 == t2 {
		t.Fatal("masked tokens repeat")
	}
	submit := func(cookie bool, token, header string) error {
		r := httptest.NewRequest("POST", "/self-service/login", nil)
		if cookie {
			r.AddCookie(ck[0])
		}
		if header != "" {
			r.Header.Set(flows.HeaderCSRFToken, header)
		}
		return flows.CheckSubmit(r, base, f, token)
	}
	if err := submit(true, t1, ""); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if err := submit(true, "", t2); err != nil {
		t.Fatalf("valid header token refused: %v", err)
	}
	for name, tc := range map[string]struct {
		cookie        bool
		token, reason string
	}{
		"no cookie":   {false, t1, flows.CSRFNoHeader},
		"no token":    {true, "", flows.CSRFNoToken},
		"wrong token": {true, flows.MaskCSRF(make([]byte, 32)), flows.CSRFMismatch},
		"garbage":     {true, "!!!", flows.CSRFMismatch},
	} {
		err := submit(tc.cookie, tc.token, "")
		var xe *errx.Error
		if !errors.As(err, &xe) || xe.Code != errx.Forbidden || xe.ID != "security_csrf_violation" || xe.Details["reject_reason"] != tc.reason {
			t.Errorf("%s: err = %#v", name, err)
		}
	}
	// Another browser's cookie with its own valid token does not fit this flow.
	w2 := httptest.NewRecorder()
	other := flows.EnsureCSRF(w2, init, base)
	r := httptest.NewRequest("POST", "/", nil)
	r.AddCookie(w2.Result().Cookies()[0])
	if err := flows.CheckSubmit(r, base, f, flows.MaskCSRF(other)); err == nil {
		t.Error("another browser's CSRF pair accepted for this flow")
	}
	if err := flows.CheckFlowCookie(r, base, f); err == nil {
		t.Error("another browser may read the flow")
	}
	// The same browser keeps its secret on the next init; path-routed
	// projects scope the cookie to their prefix.
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(ck[0])
	if got := flows.EnsureCSRF(httptest.NewRecorder(), r, base); string(got) != string(secret) {
		t.Error("secret rotated on a second init")
	}
	w3 := httptest.NewRecorder()
	flows.EnsureCSRF(w3, init, "https://id.example.com/p/acme")
	if c := w3.Result().Cookies()[0]; c.Path != "/p/acme" || !c.Secure {
		t.Errorf("path-routed csrf cookie = %+v", c)
	}
	// API flows: no CSRF, but browsers are refused.
	api := flows.New(flows.NewParams{Kind: flows.KindLogin, Type: flows.TypeAPI, BaseURL: base, Now: time.Now()})
	if err := flows.CheckSubmit(httptest.NewRequest("POST", "/", nil), base, api, ""); err != nil {
		t.Errorf("API flow CSRF-checked: %v", err)
	}
	r = httptest.NewRequest("POST", "/", nil)
	r.AddCookie(&http.Cookie{Name: "__cf_bm", Value: "x"})
	if msg := flows.CheckAPIRequest(r); msg != nil {
		t.Errorf("Cloudflare cookie refused: %v", msg.Text)
	}
	r.AddCookie(&http.Cookie{Name: "session", Value: "x"})
	if msg := flows.CheckAPIRequest(r); msg == nil || msg.ID != 4000001 {
		t.Errorf("cookie on API flow accepted: %+v", msg)
	}
	r = httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Origin", "https://evil.example")
	if msg := flows.CheckAPIRequest(r); msg == nil {
		t.Error("Origin on API flow accepted")
	}
}

func TestSelfServiceErrors(t *testing.T) {
	t.Parallel()
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	deps := servertest.Deps(t)
	router := server.APIRouter(deps)
	store := flows.Errors{DB: deps.DB}
	id, err := store.Save(context.Background(), a, flows.CSRFError(httptest.NewRequest("GET", "/", nil), flows.CSRFNoToken), "req-9")
	if err != nil {
		t.Fatal(err)
	}
	get := func(p *tenant.Project, q string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/self-service/errors?id="+q, nil)
		r.Host = p.Slug + ".localhost:4433"
		w := httptest.NewRecorder()
		router.ServeHTTP(w, r)
		openapitest.Check(t, r, w)
		return w
	}
	w := get(a, id.String())
	if w.Code != 200 {
		t.Fatalf("GET error = %d %s", w.Code, w.Body.String())
	}
	var se struct {
		ID    string `json:"id"`
		Error struct {
			ID      string         `json:"id"`
			Code    int            `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &se); err != nil || se.ID != id.String() || se.Error.ID != "security_csrf_violation" ||
		se.Error.Code != 403 || se.Error.Details["reject_reason"] != flows.CSRFNoToken || se.CreatedAt.IsZero() {
		t.Fatalf("stored error = %s", w.Body.String())
	}
	if w := get(b, id.String()); w.Code != 404 {
		t.Fatalf("project B reads A's error: %d", w.Code)
	}
	for _, q := range []string{uuid.NewString(), "garbage", ""} {
		if w := get(a, q); w.Code != 404 {
			t.Errorf("id %q: %d", q, w.Code)
		}
	}
	if w := get(a, "stub:500"); w.Code != 200 || !strings.Contains(w.Body.String(), `"code":500`) {
		t.Errorf("stub:500 = %d %s", w.Code, w.Body.String())
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	p := tenanttest.NewProject(t).Project
	var c flows.Config
	_ = env.DB.InTx(ctx, p, func(tx tenant.Tx) (err error) { c, err = flows.LoadConfig(ctx, tx); return err })
	if c.Lifespan() != time.Hour || !c.RegistrationEnabled || c.Limit("login:identifier").Burst != 10 || c.UIURL("login", "http://b") != "http://b/ui/login" {
		t.Fatalf("defaults = %+v", c)
	}
	c.AllowedReturnURLs = []string{"ftp://x"}
	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error { return flows.SaveConfig(ctx, tx, c) })
	if !errx.Has(err, errx.Invalid) {
		t.Fatalf("bad allow-list saved: %v", err)
	}
	c.AllowedReturnURLs = []string{"https://*.example.com/app"}
	c.UI = map[string]string{"login": "{base}/auth/login"}
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error { return flows.SaveConfig(ctx, tx, c) }); err != nil {
		t.Fatal(err)
	}
	_ = env.DB.InTx(ctx, p, func(tx tenant.Tx) (err error) { c, err = flows.LoadConfig(ctx, tx); return err })
	if c.UIURL("login", "http://b") != "http://b/auth/login" || len(c.AllowedReturnURLs) != 1 {
		t.Fatalf("saved = %+v", c)
	}
}
