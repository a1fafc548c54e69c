package flows_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
)

func patchOf(t *testing.T, body string) flows.AdminConfigPatch {
	t.Helper()
	var p flows.AdminConfigPatch
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("patch %s: %v", body, err)
	}
	return p
}

// A refused patch names its field and changes nothing; an accepted one
// changes only what it names.
func TestAdminConfigPatch(t *testing.T) {
	for _, c := range []struct{ body, field string }{
		{`{"password":{"min_length":5}}`, "password.min_length"},
		{`{"flow_lifespan_minutes":0}`, "flow_lifespan_minutes"},
		{`{"session":{"max_lifespan_minutes":10}}`, "session.max_lifespan_minutes"},
		{`{"session":{"lifespan_minutes":0}}`, "session.lifespan_minutes"},
		{`{"default_browser_return_url":"javascript:alert(1)"}`, "default_browser_return_url"},
		{`{"allowed_return_urls":["ftp://x.example.com"]}`, "allowed_return_urls"},
		{`{"verification":{"use":"sms"}}`, "verification.use"},
		{`{"limits":{"login:ip":{"rate":1,"period_seconds":0,"burst":1}}}`, "limits.login:ip.period_seconds"},
		{`{"registration_enabled":false,"limits":{"made:up":{"rate":1,"period_seconds":1,"burst":1}}}`, "limits.made:up"},
	} {
		cfg, sess := flows.DefaultConfig(), session.DefaultConfig()
		err := patchOf(t, c.body).Apply(&cfg, &sess)
		var xe *errx.Error
		if !errx.Has(err, errx.Invalid) || !errors.As(err, &xe) || xe.Details["field"] != c.field {
			t.Errorf("%s: err = %v, want field %s", c.body, err, c.field)
		}
		if !reflect.DeepEqual(cfg, flows.DefaultConfig()) || !reflect.DeepEqual(sess, session.DefaultConfig()) {
			t.Errorf("%s: a refused patch changed the config", c.body)
		}
	}

	cfg, sess := flows.DefaultConfig(), session.DefaultConfig()
	err := patchOf(t, `{"password":{"min_length":14,"common_password_check":false},"session":{"lifespan_minutes":90},
		"recovery":{"use":"link","revoke_active_sessions":false},"limits":{"login:ip":{"rate":7,"period_seconds":30,"burst":9}}}`).Apply(&cfg, &sess)
	if err != nil {
		t.Fatal(err)
	}
	v := flows.AdminView(cfg, sess)
	if v.Password.MinLength != 14 || v.Password.CommonPasswordCheck || !v.Password.IdentifierSimilarityCheck {
		t.Errorf("password = %+v", v.Password)
	}
	if time.Duration(sess.Lifespan) != 90*time.Minute || !sess.Sliding || v.Session.MaxLifespanMinutes != 30*24*60 {
		t.Errorf("session = %+v", v.Session)
	}
	if v.Recovery.Use != "link" || v.Recovery.RevokeActiveSessions || v.Verification.Use != "code" {
		t.Errorf("recovery = %+v, verification = %+v", v.Recovery, v.Verification)
	}
	if l := cfg.Limit("login:ip"); l.Rate != 7 || l.Period != 30*time.Second || l.Burst != 9 {
		t.Errorf("login:ip = %+v", l)
	}
	if l := cfg.Limit("login:identifier"); l != flows.DefaultLimits()["login:identifier"] {
		t.Errorf("an unnamed limit changed: %+v", l)
	}
	if !cfg.RegistrationEnabled || cfg.LifespanMinutes != 60 {
		t.Errorf("unnamed settings changed: %+v", cfg)
	}
}
