package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// The admin SMTP endpoints with project API keys: a key reaches only its
// own project's settings, the password is never read back, and a test send
// through a server that does not answer reports the SMTP error.
func TestCourierSMTPAdminAndIsolation(t *testing.T) {
	t.Parallel()
	d := servertest.Deps(t)
	h := server.APIRouter(d)
	a, b := tenanttest.NewProject(t), tenanttest.NewProject(t)

	w := doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey})
	if w.Code != 404 || !strings.Contains(w.Body.String(), "platform's SMTP server") {
		t.Fatalf("no settings: %d %s", w.Code, w.Body)
	}
	w = doChecked(t, h, req{method: "PUT", host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey,
		body: `{"host":"smtp.a.test","port":587,"username":"u","password":"pw-a-secret"}`})
	if w.Code != 200 || strings.Contains(w.Body.String(), "pw-a-secret") {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	var st struct {
		Host        string `json:"host"`
		Security    string `json:"security"`
		HasPassword bool   `json:"has_password"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &st)
	if st.Host != "smtp.a.test" || st.Security != "starttls" || !st.HasPassword {
		t.Fatalf("saved = %s", w.Body)
	}
	for name, r := range map[string]struct {
		req    req
		status int
	}{
		"A key reads B":      {req{host: host(b.Project), path: "/admin/courier/smtp", key: a.APIKey}, 401},
		"A key saves into B": {req{method: "PUT", host: host(b.Project), path: "/admin/courier/smtp", key: a.APIKey, body: `{"host":"x.test","port":25}`}, 401},
		"A key deletes B":    {req{method: "DELETE", host: host(b.Project), path: "/admin/courier/smtp", key: a.APIKey}, 401},
		"A key tests B":      {req{method: "POST", host: host(b.Project), path: "/admin/courier/smtp/test", key: a.APIKey, body: `{"to":"x@b.test"}`}, 401},
		"no key":             {req{host: host(a.Project), path: "/admin/courier/smtp"}, 401},
		"B has none":         {req{host: host(b.Project), path: "/admin/courier/smtp", key: b.APIKey}, 404},
		"bad port":           {req{method: "PUT", host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey, body: `{"host":"x.test","port":0}`}, 400},
		"unknown field":      {req{method: "PUT", host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey, body: `{"host":"x.test","port":25,"tls":true}`}, 400},
		"bad recipient":      {req{method: "POST", host: host(a.Project), path: "/admin/courier/smtp/test", key: a.APIKey, body: `{"to":"nobody"}`}, 400},
		"no body":            {req{method: "POST", host: host(a.Project), path: "/admin/courier/smtp/test", key: a.APIKey, body: `{`}, 400},
	} {
		if w := doChecked(t, h, r.req); w.Code != r.status {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body, r.status)
		}
	}
	// Unchanged by B's attempts, and gone after a delete.
	w = doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "smtp.a.test") {
		t.Fatalf("A's settings: %d %s", w.Code, w.Body)
	}
	if w := doChecked(t, h, req{method: "DELETE", host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey}); w.Code != 204 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if w := doChecked(t, h, req{host: host(a.Project), path: "/admin/courier/smtp", key: a.APIKey}); w.Code != 404 {
		t.Fatalf("after delete: %d %s", w.Code, w.Body)
	}
	// Port 9 (discard) on loopback does not accept: the error text comes back.
	w = doChecked(t, h, req{method: "POST", host: host(a.Project), path: "/admin/courier/smtp/test", key: a.APIKey,
		body: `{"to":"x@a.test","settings":{"host":"127.0.0.1","port":9,"security":"none"}}`})
	if w.Code != 400 || !strings.Contains(w.Body.String(), "smtp_test_failed") || !strings.Contains(w.Body.String(), "smtp_error") {
		t.Fatalf("test through a closed port: %d %s", w.Code, w.Body)
	}
}
