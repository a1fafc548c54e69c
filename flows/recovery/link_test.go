package recovery_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
)

func recoveryByLink(c *flows.Config) { c.Recovery.Use = flows.MethodLink }

// tokenOf is the token parameter of a link.
func tokenOf(t *testing.T, link string) (flowID, token string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("flow"), u.Query().Get("token")
}

func TestRecoveryByMailedLinkInBrowser(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	s.Configure(recoveryByLink)
	api := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(api, addr, oldPassword)
	codetest.WaitMail(t, addr, 1) // the verification mail
	oldToken := reg["session_token"].(string)

	b := codetest.Client()
	jsonHdr := map[string]string{"Accept": "application/json"}
	r := s.Call(b, "GET", "/self-service/recovery/browser", nil, jsonHdr)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	if f["active"] != "link" || codetest.NodeValue(f, "method") != "link" {
		t.Fatalf("recovery flow = %s", r.Body)
	}
	csrf := codetest.NodeValue(f, "csrf_token").(string)
	// The code method is not offered.
	r = s.Call(b, "POST", codetest.Action(f), url.Values{"method": {"code"}, "email": {addr}, "csrf_token": {csrf}}, jsonHdr)
	codetest.Want(t, r, 400)
	if !codetest.HasID(r.JSON(t), 4010005) {
		t.Fatalf("code method = %s", r.Body)
	}
	r = s.Call(b, "POST", codetest.Action(f), url.Values{"method": {"link"}, "email": {addr}, "csrf_token": {csrf}}, jsonHdr)
	codetest.Want(t, r, 200)
	if sent := r.JSON(t); sent["state"] != "sent_email" || !codetest.HasID(sent, 1060002) || codetest.NodeValue(sent, "email") != addr {
		t.Fatalf("sent = %s", r.Body)
	}
	mail := codetest.WaitMail(t, addr, 2)
	if mail.Subject != "Recover access to your account" {
		t.Fatalf("subject = %q", mail.Subject)
	}
	link := codetest.LinkOf(t, mail, s.Base+"/self-service/recovery?")
	flowID, token := tokenOf(t, link)
	if flowID != f["id"] || len(token) < 43 {
		t.Fatalf("link = %s", link)
	}
	// Another project does not know the flow; a wrong token is refused.
	other := codetest.NewSite(t)
	codetest.Want(t, other.Call(codetest.Client(), "GET", strings.Replace(link, s.Base, other.Base, 1), nil, map[string]string{"Accept": "application/json"}), 404)
	r = s.Call(b, "GET", "/self-service/recovery?"+url.Values{"flow": {flowID}, "token": {token[:40]}}.Encode(), nil, jsonHdr)
	codetest.Want(t, r, 200)
	if !codetest.HasID(r.JSON(t), 4060004) {
		t.Fatalf("wrong token = %s", r.Body)
	}

	// The link opened in a fresh browser (no cookies) signs in and leads
	// into settings.
	fresh := codetest.Client()
	r = s.Call(fresh, "GET", link, nil, nil)
	codetest.Want(t, r, 303)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, s.Base+"/ui/settings?flow=") {
		t.Fatalf("Location = %s", loc)
	}
	r = s.Call(fresh, "GET", "/sessions/whoami", nil, nil)
	codetest.Want(t, r, 200)
	if m := r.JSON(t)["authentication_methods"].([]any)[0].(map[string]any); m["method"] != "code_recovery" {
		t.Fatalf("session = %s", r.Body)
	}
	// Other sessions are revoked (the default).
	codetest.Want(t, s.Call(api, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": oldToken}), 401)

	r = s.Call(fresh, "GET", "/self-service/settings/flows?id="+strings.TrimPrefix(loc, s.Base+"/ui/settings?flow="), nil, nil)
	codetest.Want(t, r, 200)
	sf := r.JSON(t)
	if !codetest.HasID(sf, 1060001) {
		t.Fatalf("settings flow = %s", r.Body)
	}
	r = s.Call(fresh, "POST", codetest.Action(sf), map[string]any{"method": "password", "password": newPassword, "csrf_token": codetest.NodeValue(sf, "csrf_token")}, jsonHdr)
	codetest.Want(t, r, 200)
	codetest.Want(t, login(s, api, addr, newPassword), 200)

	// The link is single use.
	again := codetest.Client()
	r = s.Call(again, "GET", link, nil, jsonHdr)
	codetest.Want(t, r, 200)
	if !codetest.HasID(r.JSON(t), 4060001) {
		t.Fatalf("second use = %s", r.Body)
	}
	codetest.Want(t, s.Call(again, "GET", "/sessions/whoami", nil, nil), 401)
}

func TestRecoveryLinkAPIFlowAndUnknownAddress(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	s.Configure(func(c *flows.Config) {
		recoveryByLink(c)
		keep := false
		c.Recovery.RevokeActiveSessions = &keep
	})
	c := &http.Client{}
	known, unknown := codetest.Address(t), codetest.Address(t)
	oldToken := s.Register(c, known, oldPassword)["session_token"].(string)
	codetest.WaitMail(t, known, 1) // the verification mail: the recovery mail is then the newest
	submit := func(addr string) map[string]any {
		r := s.Call(c, "GET", "/self-service/recovery/api", nil, nil)
		codetest.Want(t, r, 200)
		r = s.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "link", "email": addr}, nil)
		codetest.Want(t, r, 200)
		return r.JSON(t)
	}
	a, u := submit(known), submit(unknown)
	if a["state"] != u["state"] || !codetest.HasID(a, 1060002) || !codetest.HasID(u, 1060002) {
		t.Fatalf("answers differ: %v / %v", a, u)
	}
	if m := codetest.WaitMail(t, unknown, 1); m.Subject != "Account access attempted" || strings.Contains(m.Text, "token=") {
		t.Fatalf("unknown address mail = %q %s", m.Subject, m.Text)
	}
	link := codetest.LinkOf(t, codetest.WaitMail(t, known, 2), s.Base+"/self-service/recovery?")
	// A token of one flow does not work on another.
	_, token := tokenOf(t, link)
	r := s.Call(c, "GET", "/self-service/recovery?"+url.Values{"flow": {u["id"].(string)}, "token": {token}}.Encode(), nil, nil)
	codetest.Want(t, r, 200)
	if !codetest.HasID(r.JSON(t), 4060004) {
		t.Fatalf("token on another flow = %s", r.Body)
	}
	r = s.Call(c, "GET", link, nil, nil)
	codetest.Want(t, r, 200)
	done := r.JSON(t)
	cw := done["continue_with"].([]any)
	if done["state"] != "passed_challenge" || cw[0].(map[string]any)["action"] != "set_ory_session_token" || cw[1].(map[string]any)["action"] != "show_settings_ui" {
		t.Fatalf("recovered = %s", r.Body)
	}
	// revoke_active_sessions is off: the old session lives on.
	codetest.Want(t, s.Call(c, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": oldToken}), 200)
}

func TestAdminRecoveryLink(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	other := codetest.NewSite(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, oldPassword)
	identityID := reg["identity"].(map[string]any)["id"].(string)
	admin := func(site *codetest.Site, key string, body any) codetest.Resp {
		return site.Call(c, "POST", "/admin/recovery/link", body, map[string]string{"Authorization": "Bearer " + key})
	}
	codetest.Want(t, admin(other, other.Project.APIKey, map[string]any{"identity_id": identityID}), 404)
	codetest.Want(t, admin(s, other.Project.APIKey, map[string]any{"identity_id": identityID}), 401)
	codetest.Want(t, admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID, "flow_type": "api"}), 400)
	codetest.Want(t, admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID, "expires_in": "soon"}), 400)
	codetest.Want(t, admin(s, s.Project.APIKey, map[string]any{}), 400)

	r := admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID, "expires_in": "30m"})
	codetest.Want(t, r, 200)
	out := r.JSON(t)
	link := out["recovery_link"].(string)
	exp, err := time.Parse(time.RFC3339Nano, out["expires_at"].(string))
	if !strings.HasPrefix(link, s.Base+"/self-service/recovery?") || err != nil || time.Until(exp) < 29*time.Minute || time.Until(exp) > 31*time.Minute {
		t.Fatalf("admin link = %s", r.Body)
	}
	// The link is useless in another project.
	codetest.Want(t, other.Call(codetest.Client(), "GET", strings.Replace(link, s.Base, other.Base, 1), nil, map[string]string{"Accept": "application/json"}), 404)

	b := codetest.Client()
	r = s.Call(b, "GET", link, nil, nil)
	codetest.Want(t, r, 303)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, s.Base+"/ui/settings?flow=") {
		t.Fatalf("Location = %s", loc)
	}
	r = s.Call(b, "GET", "/sessions/whoami", nil, nil)
	codetest.Want(t, r, 200)
	if r.JSON(t)["identity"].(map[string]any)["id"] != identityID {
		t.Fatalf("whoami = %s", r.Body)
	}
	// Used once.
	r = s.Call(codetest.Client(), "GET", link, nil, map[string]string{"Accept": "application/json"})
	codetest.Want(t, r, 200)
	if !codetest.HasID(r.JSON(t), 4060001) {
		t.Fatalf("second use = %s", r.Body)
	}

	// An expired link signs nobody in: the browser is sent to a new flow.
	r = admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID, "expires_in": "1s"})
	codetest.Want(t, r, 200)
	expired := r.JSON(t)["recovery_link"].(string)
	time.Sleep(1100 * time.Millisecond)
	late := codetest.Client()
	r = s.Call(late, "GET", expired, nil, nil)
	codetest.Want(t, r, 303)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, s.Base+"/ui/recovery?flow=") || strings.Contains(expired, strings.TrimPrefix(loc, s.Base+"/ui/recovery?flow=")) {
		t.Fatalf("expired link Location = %s", loc)
	}
	codetest.Want(t, s.Call(late, "GET", "/sessions/whoami", nil, nil), 401)
}
