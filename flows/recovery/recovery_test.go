package recovery_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

const (
	oldPassword = "correct horse battery"
	newPassword = "a brand new staple"
)

func login(s *codetest.Site, c *http.Client, email, pw string) codetest.Resp {
	r := s.Call(c, "GET", "/self-service/login/api", nil, nil)
	return s.Call(c, "POST", codetest.Action(r.JSON(s.T)), map[string]any{"method": "password", "identifier": email, "password": pw}, nil)
}

// startRecovery opens an API recovery flow and submits addr.
func startRecovery(t *testing.T, s *codetest.Site, c *http.Client, addr string) map[string]any {
	t.Helper()
	r := s.Call(c, "GET", "/self-service/recovery/api", nil, nil)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	if f["state"] != "choose_method" || f["type"] != "api" {
		t.Fatalf("recovery flow = %s", r.Body)
	}
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "email": addr}, nil)
	codetest.Want(t, r, 200)
	return r.JSON(t)
}

func TestRecoveryByCodeThenNewPassword(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, oldPassword)
	identityID := reg["identity"].(map[string]any)["id"].(string)
	codetest.WaitMail(t, addr, 1) // the verification mail
	codetest.Want(t, s.Call(c, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": reg["session_token"].(string)}), 200)

	f := startRecovery(t, s, c, addr)
	if f["state"] != "sent_email" || !codetest.HasID(f, 1060003) {
		t.Fatalf("sent = %v", f)
	}
	mail := codetest.WaitMail(t, addr, 2)
	if mail.Subject != "Recover access to your account" {
		t.Fatalf("subject = %q", mail.Subject)
	}
	cd := codetest.CodeOf(t, mail)
	wrong := "000000"
	if cd == wrong {
		wrong = "111111"
	}
	r := s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "code": wrong}, nil)
	codetest.Want(t, r, 200)
	if !codetest.HasID(r.JSON(t), 4060006) {
		t.Fatalf("wrong code = %s", r.Body)
	}
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	done := r.JSON(t)
	cw := done["continue_with"].([]any)
	tokenCW, settingsCW := cw[0].(map[string]any), cw[1].(map[string]any)
	token, _ := tokenCW["ory_session_token"].(string)
	if done["state"] != "passed_challenge" || tokenCW["action"] != "set_ory_session_token" || token == "" || settingsCW["action"] != "show_settings_ui" {
		t.Fatalf("recovered = %s", r.Body)
	}
	sid := settingsCW["flow"].(map[string]any)["id"].(string)
	hdr := map[string]string{"X-Session-Token": token}
	// The sessions from before the recovery are revoked.
	codetest.Want(t, s.Call(c, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": reg["session_token"].(string)}), 401)
	r = s.Call(c, "GET", "/sessions/whoami", nil, hdr)
	codetest.Want(t, r, 200)
	if m := r.JSON(t)["authentication_methods"].([]any)[0].(map[string]any); m["method"] != "code_recovery" {
		t.Fatalf("session methods = %s", r.Body)
	}
	// The code is single use.
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 400)

	r = s.Call(c, "GET", "/self-service/settings/flows?id="+sid, nil, hdr)
	codetest.Want(t, r, 200)
	sf := r.JSON(t)
	if !codetest.HasID(sf, 1060001) || sf["identity"].(map[string]any)["id"] != identityID {
		t.Fatalf("settings flow = %s", r.Body)
	}
	r = s.Call(c, "POST", codetest.Action(sf), map[string]any{"method": "password", "password": newPassword}, hdr)
	codetest.Want(t, r, 200)

	codetest.Want(t, login(s, c, addr, newPassword), 200)
	r = login(s, c, addr, oldPassword)
	codetest.Want(t, r, 400)
	if !codetest.HasID(r.JSON(t), 4000006) {
		t.Fatalf("old password = %s", r.Body)
	}
	// Receiving the code proved the address.
	r = s.Call(c, "GET", "/admin/identities/"+identityID, nil, map[string]string{"Authorization": "Bearer " + s.Project.APIKey})
	if va := r.JSON(t)["verifiable_addresses"].([]any)[0].(map[string]any); va["verified"] != true {
		t.Fatalf("address = %v", va)
	}
}

func TestRecoveryUnknownAddressAnswersAlike(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	known, unknown := codetest.Address(t), codetest.Address(t)
	s.Register(c, known, oldPassword)
	a, b := startRecovery(t, s, c, known), startRecovery(t, s, c, unknown)
	strip := func(f map[string]any) string {
		var parts []string
		parts = append(parts, f["state"].(string))
		for _, id := range codetest.MessageIDs(f) {
			parts = append(parts, string(rune(id)))
		}
		for _, n := range f["ui"].(map[string]any)["nodes"].([]any) {
			a := n.(map[string]any)["attributes"].(map[string]any)
			parts = append(parts, a["name"].(string)+":"+a["type"].(string))
		}
		return strings.Join(parts, "|")
	}
	if strip(a) != strip(b) {
		t.Fatalf("answers differ:\n%s\n%s", strip(a), strip(b))
	}
	if m := codetest.WaitMail(t, unknown, 1); m.Subject != "Account access attempted" || regexp.MustCompile(`\d{6}`).MatchString(m.Text) {
		t.Fatalf("unknown address mail = %q %q", m.Subject, m.Text)
	}
	r := s.Call(c, "POST", codetest.Action(b), map[string]any{"method": "code", "code": "123456"}, nil)
	codetest.Want(t, r, 200)
	if !codetest.HasID(r.JSON(t), 4060006) {
		t.Fatalf("code for unknown address = %s", r.Body)
	}
	// Signed in, recovery is refused.
	tok := s.Register(c, codetest.Address(t), oldPassword)["session_token"].(string)
	r = s.Call(c, "GET", "/self-service/recovery/api", nil, map[string]string{"X-Session-Token": tok})
	codetest.Want(t, r, 400)
}

func TestAdminRecoveryCode(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	other := codetest.NewSite(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	identityID := s.Register(c, addr, oldPassword)["identity"].(map[string]any)["id"].(string)
	admin := func(site *codetest.Site, key string, body any) codetest.Resp {
		return site.Call(c, "POST", "/admin/recovery/code", body, map[string]string{"Authorization": "Bearer " + key})
	}
	// Another project neither knows the identity nor accepts its key here.
	codetest.Want(t, admin(other, other.Project.APIKey, map[string]any{"identity_id": identityID}), 404)
	codetest.Want(t, admin(s, other.Project.APIKey, map[string]any{"identity_id": identityID}), 401)
	codetest.Want(t, admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID, "bogus": 1}), 400)

	// API flow.
	r := admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID, "flow_type": "api", "expires_in": "15m"})
	codetest.Want(t, r, 201)
	out := r.JSON(t)
	link, cd := out["recovery_link"].(string), out["recovery_code"].(string)
	if !strings.HasPrefix(link, s.Base+"/ui/recovery?flow=") || len(cd) != 6 || out["expires_at"] == nil {
		t.Fatalf("admin code = %s", r.Body)
	}
	flowID := strings.TrimPrefix(link, s.Base+"/ui/recovery?flow=")
	// The code is useless in another project.
	codetest.Want(t, other.Call(c, "POST", "/self-service/recovery?flow="+flowID, map[string]any{"method": "code", "code": cd}, nil), 404)
	r = s.Call(c, "GET", "/self-service/recovery/flows?id="+flowID, nil, nil)
	codetest.Want(t, r, 200)
	if r.JSON(t)["state"] != "sent_email" {
		t.Fatalf("admin flow = %s", r.Body)
	}
	r = s.Call(c, "POST", "/self-service/recovery?flow="+flowID, map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	if r.JSON(t)["state"] != "passed_challenge" {
		t.Fatalf("admin code used = %s", r.Body)
	}

	// Browser flow: the user's browser opens the link, submits the form and
	// lands in settings with a session.
	r = admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID})
	codetest.Want(t, r, 201)
	out = r.JSON(t)
	flowID = strings.TrimPrefix(out["recovery_link"].(string), s.Base+"/ui/recovery?flow=")
	b := codetest.Client()
	r = s.Call(b, "GET", "/self-service/recovery/flows?id="+flowID, nil, nil)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	form := url.Values{"method": {"code"}, "code": {out["recovery_code"].(string)}, "csrf_token": {codetest.NodeValue(f, "csrf_token").(string)}}
	r = s.Call(b, "POST", codetest.Action(f), form, nil)
	codetest.Want(t, r, 303)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, s.Base+"/ui/settings?flow=") {
		t.Fatalf("Location = %s", loc)
	}
	codetest.Want(t, s.Call(b, "GET", "/sessions/whoami", nil, nil), 200)
	r = s.Call(b, "GET", "/self-service/settings/flows?id="+strings.TrimPrefix(loc, s.Base+"/ui/settings?flow="), nil, nil)
	codetest.Want(t, r, 200)
	sf := r.JSON(t)
	r = s.Call(b, "POST", codetest.Action(sf), map[string]any{"method": "password", "password": newPassword, "csrf_token": codetest.NodeValue(sf, "csrf_token")},
		map[string]string{"Accept": "application/json"})
	codetest.Want(t, r, 200)
	codetest.Want(t, login(s, c, addr, newPassword), 200)

	// A JSON browser client gets 422 browser_location_change_required to
	// the settings UI (use_continue_with_transitions off, as in Kratos).
	r = admin(s, s.Project.APIKey, map[string]any{"identity_id": identityID})
	out = r.JSON(t)
	flowID = strings.TrimPrefix(out["recovery_link"].(string), s.Base+"/ui/recovery?flow=")
	j := codetest.Client()
	jsonHdr := map[string]string{"Accept": "application/json"}
	f = s.Call(j, "GET", "/self-service/recovery/flows?id="+flowID, nil, jsonHdr).JSON(t)
	r = s.Call(j, "POST", codetest.Action(f), map[string]any{"method": "code", "code": out["recovery_code"], "csrf_token": codetest.NodeValue(f, "csrf_token")}, jsonHdr)
	codetest.Want(t, r, 422)
	body := r.JSON(t)
	if body["error"].(map[string]any)["id"] != "browser_location_change_required" ||
		!strings.HasPrefix(body["redirect_browser_to"].(string), s.Base+"/ui/settings?flow=") {
		t.Fatalf("JSON browser recovery = %s", r.Body)
	}
	codetest.Want(t, s.Call(j, "GET", "/sessions/whoami", nil, nil), 200)
}
