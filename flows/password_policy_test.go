package flows_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/tenant"
)

// nodeMessages returns the messages of an input node.
func nodeMessages(t *testing.T, flow map[string]any, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, n := range flow["ui"].(map[string]any)["nodes"].([]any) {
		nm := n.(map[string]any)
		if nm["attributes"].(map[string]any)["name"] != name {
			continue
		}
		for _, m := range nm["messages"].([]any) {
			out = append(out, m.(map[string]any))
		}
	}
	return out
}

// wantPasswordMessage checks a 400 flow carrying exactly one message, id,
// on the password node.
func wantPasswordMessage(t *testing.T, r resp, id float64, text string) map[string]any {
	t.Helper()
	want(t, r, 400)
	f := r.json(t)
	ms := nodeMessages(t, f, "password")
	if len(ms) != 1 || ms[0]["id"] != id || ms[0]["type"] != "error" || (text != "" && ms[0]["text"] != text) {
		t.Fatalf("password node messages = %v; flow %s", ms, r.body)
	}
	return ms[0]
}

func (s *site) setPasswordPolicy(p flows.PasswordSettings) {
	s.t.Helper()
	ctx := context.Background()
	err := s.db.InTx(ctx, s.project, func(tx tenant.Tx) error {
		c, err := flows.LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		c.Password = p
		return flows.SaveConfig(ctx, tx, c)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

const breachedText = "The password has been found in data breaches and must no longer be used."

func TestRegistrationRefusesCommonPassword(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}
	newAction := func() string {
		r := s.call(c, "GET", "/self-service/registration/api", nil, nil)
		want(t, r, 200)
		return r.json(t)["ui"].(map[string]any)["action"].(string)
	}
	action := newAction()
	for _, pw := range []string{"baseball", "QwertyUIOP", "1qaz2wsx", "trustno1"} {
		r := s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "carol@example.com"}, "password": pw}, nil)
		wantPasswordMessage(t, r, 4000034, breachedText)
		if v := nodeValue(t, r.json(t), "traits.email"); v != "carol@example.com" {
			t.Fatalf("traits not kept: %v", v)
		}
	}
	// A browser form post gets the same answer on the flow it is sent back to.
	bc := s.client()
	r := s.call(bc, "GET", "/self-service/registration/browser", nil, jsonHdr)
	want(t, r, 200)
	bf := r.json(t)
	r = s.call(bc, "POST", bf["ui"].(map[string]any)["action"].(string), map[string]any{"method": "password",
		"csrf_token": nodeValue(t, bf, "csrf_token"), "traits": map[string]any{"email": "dave@example.com"}, "password": "password1"}, jsonHdr)
	wantPasswordMessage(t, r, 4000034, breachedText)

	// Per project: a longer minimum, and the list can be turned off.
	s.setPasswordPolicy(flows.PasswordSettings{MinLength: 12})
	action = newAction()
	r = s.call(c, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": "carol@example.com"}, "password": "good secret"}, nil)
	m := wantPasswordMessage(t, r, 4000032, "The password must be at least 12 characters long, but got 11.")
	if ctx := m["context"].(map[string]any); ctx["min_length"] != 12.0 || ctx["actual_length"] != 11.0 {
		t.Fatalf("context = %v", ctx)
	}
	off := false
	s.setPasswordPolicy(flows.PasswordSettings{CommonPasswordCheck: &off})
	r = s.call(c, "POST", newAction(), map[string]any{"method": "password", "traits": map[string]any{"email": "carol@example.com"}, "password": "baseball"}, nil)
	want(t, r, 200)
}

func TestSettingsRefusesCommonPassword(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := &http.Client{}
	hdr := map[string]string{"X-Session-Token": s.register(c, "erin@example.com", "first good password")}
	r := s.call(c, "GET", "/self-service/settings/api", nil, hdr)
	want(t, r, 200)
	action := r.json(t)["ui"].(map[string]any)["action"].(string)
	r = s.call(c, "POST", action, map[string]any{"method": "password", "password": "iloveyou2"}, hdr)
	wantPasswordMessage(t, r, 4000034, breachedText)
	r = s.call(c, "POST", action, map[string]any{"method": "password", "password": "erin@example.co"}, hdr)
	wantPasswordMessage(t, r, 4000031, "The password can not be used because it is too similar to the identifier.")
	// The old password still works; a good new one is accepted.
	r = s.call(c, "POST", action, map[string]any{"method": "password", "password": "second good password"}, hdr)
	want(t, r, 200)
}
