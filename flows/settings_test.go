package flows_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/tenant"
)

// register signs up through the API and returns the session token.
func (s *site) register(c *http.Client, email, password string) string {
	s.t.Helper()
	r := s.call(c, "GET", "/self-service/registration/api", nil, nil)
	action := r.json(s.t)["ui"].(map[string]any)["action"].(string)
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": email}, "password": password}, nil)
	want(s.t, r, 200)
	return r.json(s.t)["session_token"].(string)
}

func nodeGroup(t *testing.T, flow map[string]any, name string) string {
	t.Helper()
	for _, n := range flow["ui"].(map[string]any)["nodes"].([]any) {
		nm := n.(map[string]any)
		if nm["attributes"].(map[string]any)["name"] == name {
			return nm["group"].(string)
		}
	}
	return ""
}

func TestSettingsProfileAndPassword(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}
	tok := s.register(c, "set@example.com", "first good password")
	hdr := map[string]string{"X-Session-Token": tok}

	want(t, s.call(c, "GET", "/self-service/settings/api", nil, nil), 401)
	r := s.call(c, "GET", "/self-service/settings/api", nil, hdr)
	want(t, r, 200)
	f := r.json(t)
	if f["state"] != "show_form" || f["identity"].(map[string]any)["traits"].(map[string]any)["email"] != "set@example.com" ||
		nodeValue(t, f, "traits.email") != "set@example.com" || nodeGroup(t, f, "traits.email") != "profile" || nodeGroup(t, f, "password") != "password" {
		t.Fatalf("settings flow = %s", r.body)
	}
	action := f["ui"].(map[string]any)["action"].(string)
	id := f["id"].(string)

	// Another identity cannot read or use this flow.
	other := map[string]string{"X-Session-Token": s.register(c, "intruder@example.com", "a very different secret")}
	r = s.call(c, "GET", "/self-service/settings/flows?id="+id, nil, other)
	want(t, r, 403)
	r = s.call(c, "POST", action, map[string]any{"method": "profile", "traits": map[string]any{"email": "set@example.com"}}, other)
	want(t, r, 403)
	want(t, s.call(c, "GET", "/self-service/settings/flows?id="+id, nil, hdr), 200)

	// A non-privileged change (name) succeeds.
	r = s.call(c, "POST", action, map[string]any{"method": "profile", "traits": map[string]any{"email": "set@example.com", "name": map[string]any{"first": "Sam"}}}, hdr)
	want(t, r, 200)
	f = r.json(t)
	if f["state"] != "success" || !hasID(messageIDs(f), 1050001) || nodeValue(t, f, "traits.name.first") != "Sam" {
		t.Fatalf("profile saved = %s", r.body)
	}
	// Invalid traits: 400 with the message on the node.
	r = s.call(c, "POST", action, map[string]any{"method": "profile", "traits": map[string]any{"email": "not-an-email"}}, hdr)
	want(t, r, 400)
	if len(messageIDs(r.json(t))) == 0 {
		t.Fatalf("invalid traits = %s", r.body)
	}
	// Password change within the privileged window.
	r = s.call(c, "POST", action, map[string]any{"method": "password", "password": "second good password"}, hdr)
	want(t, r, 200)
	r = s.call(c, "GET", "/self-service/login/api", nil, nil)
	r = s.call(c, "POST", r.json(t)["ui"].(map[string]any)["action"].(string), map[string]any{"method": "password", "identifier": "set@example.com", "password": "second good password"}, nil)
	want(t, r, 200)

	// An old login may not change the password or the email…
	err := s.db.InTx(context.Background(), s.project, func(tx tenant.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE sessions SET authenticated_at = authenticated_at - interval '1 hour'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []map[string]any{
		{"method": "password", "password": "third good password"},
		{"method": "profile", "traits": map[string]any{"email": "new@example.com"}},
	} {
		r = s.call(c, "POST", action, body, hdr)
		want(t, r, 403)
		m := r.json(t)
		if m["error"].(map[string]any)["id"] != "session_refresh_required" || !strings.Contains(m["redirect_browser_to"].(string), "/self-service/login/browser?refresh=true") {
			t.Fatalf("old session change = %s", r.body)
		}
	}
	// …but may still change a plain trait.
	r = s.call(c, "POST", action, map[string]any{"method": "profile", "traits": map[string]any{"email": "set@example.com", "name": map[string]any{"first": "Samantha"}}}, hdr)
	want(t, r, 200)
	r = s.call(c, "POST", action, map[string]any{"method": "totp"}, hdr)
	want(t, r, 400)
	if !hasID(messageIDs(r.json(t)), 4010004) {
		t.Fatalf("unknown settings method = %s", r.body)
	}
	// A browser without a session is sent to login.
	r = s.call(s.client(), "GET", "/self-service/settings/browser", nil, nil)
	want(t, r, 303)
	if r.header.Get("Location") != s.base+"/self-service/login/browser" {
		t.Fatalf("Location = %s", r.header.Get("Location"))
	}
}

// TestSettingsBrowserJSONContinueWith: a browser JSON settings submit
// answers the flow with continue_with redirect_browser_to, as Kratos does
// (the flow's return_to, else the settings UI with the flow); the item is
// transient, not stored with the flow.
func TestSettingsBrowserJSONContinueWith(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	r := s.call(c, "GET", "/self-service/registration/browser", nil, jsonHdr)
	want(t, r, 200)
	rf := r.json(t)
	r = s.call(c, "POST", rf["ui"].(map[string]any)["action"].(string), map[string]any{"method": "password",
		"traits": map[string]any{"email": "cw@example.com"}, "password": "a settings password", "csrf_token": nodeValue(t, rf, "csrf_token")}, jsonHdr)
	want(t, r, 200)

	r = s.call(c, "GET", "/self-service/settings/browser", nil, jsonHdr)
	want(t, r, 200)
	f := r.json(t)
	id := f["id"].(string)
	r = s.call(c, "POST", f["ui"].(map[string]any)["action"].(string), map[string]any{"method": "profile",
		"traits": map[string]any{"email": "cw@example.com", "name": map[string]any{"first": "Cee"}}, "csrf_token": nodeValue(t, f, "csrf_token")}, jsonHdr)
	want(t, r, 200)
	done := r.json(t)
	cw, _ := done["continue_with"].([]any)
	if done["state"] != "success" || len(cw) != 1 {
		t.Fatalf("settings answer = %s", r.body)
	}
	item := cw[0].(map[string]any)
	if item["action"] != "redirect_browser_to" || item["redirect_browser_to"] != s.base+"/ui/settings?flow="+id {
		t.Fatalf("continue_with = %v", item)
	}
	r = s.call(c, "GET", "/self-service/settings/flows?id="+id, nil, jsonHdr)
	want(t, r, 200)
	if _, ok := r.json(t)["continue_with"]; ok {
		t.Fatalf("continue_with was stored with the flow: %s", r.body)
	}
}
