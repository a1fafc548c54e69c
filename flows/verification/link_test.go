package verification_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/tenant"
)

func useLink(c *flows.Config) { c.Verification.Use = flows.MethodLink }

func TestRegisterThenVerifyWithMailedLinkToken(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	s.Configure(useLink)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, password)
	vf := verificationCW(t, reg)
	identityID := reg["identity"].(map[string]any)["id"].(string)

	mail := codetest.WaitMail(t, addr, 1)
	if mail.Subject != "Please verify your email address" {
		t.Fatalf("subject = %q", mail.Subject)
	}
	link := codetest.LinkOf(t, mail, s.Base+"/self-service/verification?")
	u, _ := url.Parse(link)
	token := u.Query().Get("token")
	if u.Query().Get("flow") != vf["id"] || len(token) < 43 || u.Query().Get("code") != "" {
		t.Fatalf("link = %s", link)
	}
	// Only the SHA-256 of the token is stored.
	var stored []byte
	err := s.Deps.DB.InTx(context.Background(), s.Project.Project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT token_hash FROM selfservice_link_tokens WHERE flow_id = $1`, vf["id"]).Scan(&stored)
	})
	if sum := sha256.Sum256([]byte(token)); err != nil || string(stored) != string(sum[:]) {
		t.Fatalf("stored token = %x, %v; want its SHA-256", stored, err)
	}

	r := s.Call(c, "GET", "/self-service/verification/flows?id="+vf["id"].(string), nil, nil)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	if f["state"] != "sent_email" || f["active"] != "link" || !codetest.HasID(f, 1080001) || codetest.NodeValue(f, "email") != addr {
		t.Fatalf("flow after registration = %s", r.Body)
	}
	// The token is useless in another project, and a wrong token is refused.
	other := codetest.NewSite(t)
	codetest.Want(t, other.Call(c, "GET", "/self-service/verification?"+url.Values{"flow": {vf["id"].(string)}, "token": {token}}.Encode(), nil, nil), 404)
	r = s.Call(c, "GET", "/self-service/verification?"+url.Values{"flow": {vf["id"].(string)}, "token": {token + "x"}}.Encode(), nil, nil)
	codetest.Want(t, r, 200)
	if f := r.JSON(t); !codetest.HasID(f, 4070001) || f["state"] != "sent_email" {
		t.Fatalf("wrong token = %s", r.Body)
	}
	// Sending a code is not this project's method.
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "email": addr}, nil)
	codetest.Want(t, r, 400)
	if !codetest.HasID(r.JSON(t), 4010006) {
		t.Fatalf("code method = %s", r.Body)
	}

	r = s.Call(c, "GET", link, nil, nil)
	codetest.Want(t, r, 200)
	f = r.JSON(t)
	if f["state"] != "passed_challenge" || !codetest.HasID(f, 1080002) {
		t.Fatalf("verified = %s", r.Body)
	}
	got := adminIdentity(t, s, identityID)["verifiable_addresses"].([]any)[0].(map[string]any)
	if got["verified"] != true || got["status"] != "completed" || got["verified_at"] == nil {
		t.Fatalf("address = %v", got)
	}
	// Single use: the token cannot verify anything again.
	err = s.Deps.DB.InTx(context.Background(), s.Project.Project, func(tx tenant.Tx) error {
		var used bool
		if err := tx.QueryRow(context.Background(), `SELECT used_at IS NOT NULL FROM selfservice_link_tokens WHERE flow_id = $1`, vf["id"]).Scan(&used); err != nil || !used {
			t.Errorf("token used = %v, %v", used, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerificationLinkByFormAndBrowser(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	s.Configure(useLink)
	c := &http.Client{}
	known, unknown := codetest.Address(t), codetest.Address(t)
	s.Register(c, known, password)
	codetest.WaitMail(t, known, 1)

	// A browser asks again for its address, then opens the link.
	b := codetest.Client()
	jsonHdr := map[string]string{"Accept": "application/json"}
	send := func(addr string) map[string]any {
		r := s.Call(b, "GET", "/self-service/verification/browser", nil, jsonHdr)
		codetest.Want(t, r, 200)
		f := r.JSON(t)
		if f["active"] != "link" || codetest.NodeValue(f, "method") != "link" {
			t.Fatalf("new flow = %s", r.Body)
		}
		r = s.Call(b, "POST", codetest.Action(f), url.Values{"method": {"link"}, "email": {addr}, "csrf_token": {codetest.NodeValue(f, "csrf_token").(string)}}, jsonHdr)
		codetest.Want(t, r, 200)
		return r.JSON(t)
	}
	a, u := send(known), send(unknown)
	for _, f := range []map[string]any{a, u} {
		if f["state"] != "sent_email" || !codetest.HasID(f, 1080001) {
			t.Fatalf("sent = %v", f)
		}
	}
	if m := codetest.WaitMail(t, unknown, 1); strings.Contains(m.Text, "token=") {
		t.Fatalf("mail to an unknown address carries a link: %s", m.Text)
	}
	mail := codetest.WaitMail(t, known, 2)
	link := codetest.LinkOf(t, mail, s.Base+"/self-service/verification?")
	if !strings.Contains(link, "flow="+a["id"].(string)) {
		t.Fatalf("link %s is not for flow %s", link, a["id"])
	}
	r := s.Call(b, "GET", link, nil, nil)
	codetest.Want(t, r, 303)
	if r.Header.Get("Location") != s.Base+"/ui/verification?flow="+a["id"].(string) {
		t.Fatalf("Location = %s", r.Header.Get("Location"))
	}
	r = s.Call(b, "GET", "/self-service/verification/flows?id="+a["id"].(string), nil, nil)
	if f := r.JSON(t); f["state"] != "passed_challenge" || !codetest.HasID(f, 1080002) {
		t.Fatalf("after link = %s", r.Body)
	}
}

func TestVerificationMailLimitPerRecipient(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	s.Configure(func(c *flows.Config) {
		c.Limits["verification:mail"] = ratelimit.Limit{Rate: 2, Period: time.Hour, Burst: 2}
	})
	c := &http.Client{}
	known, unknown := codetest.Address(t), codetest.Address(t)
	s.Register(c, known, password) // the registration's mail counts: one left
	codetest.WaitMail(t, known, 1)
	ask := func(addr string) codetest.Resp {
		r := s.Call(c, "GET", "/self-service/verification/api", nil, nil)
		codetest.Want(t, r, 200)
		return s.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "code", "email": addr}, nil)
	}
	codetest.Want(t, ask(known), 200)
	r := ask(known)
	codetest.Want(t, r, 429)
	body := r.JSON(t)
	if e := body["error"].(map[string]any); e["id"] != "self_service_rate_limited" || !strings.Contains(e["reason"].(string), "verification mails to this address") {
		t.Fatalf("limited = %s", r.Body)
	}
	// An unknown address is counted and refused alike.
	codetest.Want(t, ask(unknown), 200)
	codetest.Want(t, ask(unknown), 200)
	r2 := ask(unknown)
	codetest.Want(t, r2, 429)
	if a, b := r.JSON(t)["error"].(map[string]any)["reason"], r2.JSON(t)["error"].(map[string]any)["reason"]; strings.Split(a.(string), ".")[0] != strings.Split(b.(string), ".")[0] {
		t.Fatalf("answers differ: %q vs %q", a, b)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(codetest.Inbox(t, known)); n != 2 {
		t.Fatalf("%d mails to the known address, want 2", n)
	}
	if n := len(codetest.Inbox(t, unknown)); n != 2 {
		t.Fatalf("%d mails to the unknown address, want 2", n)
	}
}

func TestRequireVerifiedAddressRefusesLoginUntilVerified(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	other := codetest.NewSite(t)
	s.Configure(func(c *flows.Config) { c.Login.RequireVerifiedAddress = true })
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, password)
	loginAs := func(site *codetest.Site, who, pw string) codetest.Resp {
		r := site.Call(c, "GET", "/self-service/login/api", nil, nil)
		return site.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "password", "identifier": who, "password": pw}, nil)
	}
	login := func(site *codetest.Site, pw string) codetest.Resp { return loginAs(site, addr, pw) }
	r := login(s, password)
	codetest.Want(t, r, 400)
	f := r.JSON(t)
	if !codetest.HasID(f, 4000010) || f["ui"].(map[string]any)["messages"].([]any)[0].(map[string]any)["text"] != "Account not active yet. Did you forget to verify your email address?" {
		t.Fatalf("unverified login = %s", r.Body)
	}
	// A wrong password still says only that.
	r = login(s, "not the password at all")
	codetest.Want(t, r, 400)
	if f := r.JSON(t); codetest.HasID(f, 4000010) || !codetest.HasID(f, 4000006) {
		t.Fatalf("wrong password = %s", r.Body)
	}
	// An unverified identity of a project without the option signs in.
	addr2 := codetest.Address(t)
	other.Register(c, addr2, password)
	codetest.Want(t, loginAs(other, addr2, password), 200)

	vf := verificationCW(t, reg)
	cd := codetest.CodeOf(t, codetest.WaitMail(t, addr, 1))
	r = s.Call(c, "POST", "/self-service/verification?flow="+vf["id"].(string), map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	if r.JSON(t)["state"] != "passed_challenge" {
		t.Fatalf("verify = %s", r.Body)
	}
	codetest.Want(t, login(s, password), 200)
}
