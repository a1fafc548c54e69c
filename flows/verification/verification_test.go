package verification_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) {
	if os.Getenv(faultWorkerEnv) != "" {
		runFaultWorker()
		return
	}
	tenanttest.Main(m)
}

const password = "correct horse battery"

// verificationCW returns the show_verification_ui item of a registration.
func verificationCW(t *testing.T, reg map[string]any) map[string]any {
	t.Helper()
	for _, x := range reg["continue_with"].([]any) {
		cw := x.(map[string]any)
		if cw["action"] == "show_verification_ui" {
			return cw["flow"].(map[string]any)
		}
	}
	t.Fatalf("no show_verification_ui in %v", reg["continue_with"])
	return nil
}

func adminIdentity(t *testing.T, s *codetest.Site, id string) map[string]any {
	t.Helper()
	r := s.Call(&http.Client{}, "GET", "/admin/identities/"+id, nil, map[string]string{"Authorization": "Bearer " + s.Project.APIKey})
	codetest.Want(t, r, 200)
	return r.JSON(t)
}

func TestRegisterThenVerifyWithMailedCode(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, password)
	cw := reg["continue_with"].([]any)
	if cw[0].(map[string]any)["action"] != "set_ory_session_token" {
		t.Fatalf("continue_with = %v", cw)
	}
	vf := verificationCW(t, reg)
	if vf["verifiable_address"] != addr || vf["id"] == nil || vf["url"] != nil {
		t.Fatalf("show_verification_ui flow = %v", vf)
	}
	identityID := reg["identity"].(map[string]any)["id"].(string)
	va := reg["identity"].(map[string]any)["verifiable_addresses"].([]any)[0].(map[string]any)
	if va["status"] != "sent" || va["verified"] != false {
		t.Fatalf("address after registration = %v", va)
	}
	// The answer shows the address as stored.
	stored := adminIdentity(t, s, identityID)["verifiable_addresses"].([]any)[0].(map[string]any)
	if stored["status"] != va["status"] || stored["updated_at"] != va["updated_at"] || stored["id"] != va["id"] {
		t.Fatalf("address in the answer %v, stored %v", va, stored)
	}
	mail := codetest.WaitMail(t, addr, 1)
	if mail.Subject != "Your verification code" {
		t.Fatalf("mail subject = %q", mail.Subject)
	}
	cd := codetest.CodeOf(t, mail)

	r := s.Call(c, "GET", "/self-service/verification/flows?id="+vf["id"].(string), nil, nil)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	if f["state"] != "sent_email" || f["active"] != "code" || !codetest.HasID(f, 1080003) || codetest.NodeValue(f, "email") != addr {
		t.Fatalf("verification flow = %s", r.Body)
	}
	action := codetest.Action(f)
	// Another project does not know the flow.
	other := codetest.NewSite(t)
	codetest.Want(t, other.Call(c, "GET", "/self-service/verification/flows?id="+vf["id"].(string), nil, nil), 404)
	codetest.Want(t, other.Call(c, "POST", "/self-service/verification?flow="+vf["id"].(string), map[string]any{"method": "code", "code": cd}, nil), 404)

	wrong := "000000"
	if cd == wrong {
		wrong = "111111"
	}
	r = s.Call(c, "POST", action, map[string]any{"method": "code", "code": wrong}, nil)
	codetest.Want(t, r, 200)
	if f := r.JSON(t); !codetest.HasID(f, 4070006) || f["state"] != "sent_email" {
		t.Fatalf("wrong code = %s", r.Body)
	}
	r = s.Call(c, "POST", action, map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	f = r.JSON(t)
	ui := f["ui"].(map[string]any)
	if f["state"] != "passed_challenge" || !codetest.HasID(f, 1080002) || ui["method"] != "GET" || ui["action"] != s.Base+"/" {
		t.Fatalf("verified = %s", r.Body)
	}
	// The code is used: the flow is done.
	r = s.Call(c, "POST", action, map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 400)
	if !codetest.HasID(r.JSON(t), 4070002) {
		t.Fatalf("reuse = %s", r.Body)
	}
	got := adminIdentity(t, s, identityID)["verifiable_addresses"].([]any)[0].(map[string]any)
	if got["verified"] != true || got["status"] != "completed" || got["verified_at"] == nil {
		t.Fatalf("address after verification = %v", got)
	}
}

func TestVerificationRefusesBadCodes(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, password)
	regFlow := verificationCW(t, reg)["id"].(string)
	code1 := codetest.CodeOf(t, codetest.WaitMail(t, addr, 1))

	newFlow := func(n int) (string, string) {
		t.Helper()
		r := s.Call(c, "GET", "/self-service/verification/api", nil, nil)
		codetest.Want(t, r, 200)
		f := r.JSON(t)
		// "active" names the method from the start, as in Kratos (Ory
		// Elements cannot render a verification flow without it).
		if f["state"] != "choose_method" || f["active"] != "code" {
			t.Fatalf("new flow = %s", r.Body)
		}
		r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "email": strings.ToUpper(addr)}, nil)
		codetest.Want(t, r, 200)
		if f := r.JSON(t); f["state"] != "sent_email" || !codetest.HasID(f, 1080003) {
			t.Fatalf("send = %s", r.Body)
		}
		return codetest.Action(f), codetest.CodeOf(t, codetest.WaitMail(t, addr, n))
	}
	invalid := func(action, cd, what string) {
		t.Helper()
		r := s.Call(c, "POST", action, map[string]any{"method": "code", "code": cd}, nil)
		codetest.Want(t, r, 200)
		if f := r.JSON(t); !codetest.HasID(f, 4070006) || f["state"] == "passed_challenge" {
			t.Fatalf("%s: %s", what, r.Body)
		}
	}

	actionA, codeA := newFlow(2)
	// A code of another flow is useless here.
	if code1 != codeA {
		invalid(actionA, code1, "code of another flow")
	}
	// Five wrong codes burn the flow's code.
	for i := range 5 {
		w := strings.Repeat(string(rune('0'+i)), 6)
		if w == codeA {
			w = "987654"
		}
		invalid(actionA, w, "wrong code")
	}
	invalid(actionA, codeA, "burned code")

	// An expired code.
	actionB, codeB := newFlow(3)
	flowB := strings.TrimPrefix(actionB, s.Base+"/self-service/verification?flow=")
	err := s.Deps.DB.InTx(context.Background(), s.Project.Project, func(tx tenant.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE selfservice_codes SET expires_at = now() - interval '1 second' WHERE flow_id = $1`, flowB)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	invalid(actionB, codeB, "expired code")

	// Codes are stored hashed, never in clear.
	var clear int
	_ = s.Deps.DB.InTx(context.Background(), s.Project.Project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM selfservice_codes WHERE position($1::bytea in code_hash) > 0 OR position($2::bytea in code_hash) > 0`,
			[]byte(codeA), []byte(codeB)).Scan(&clear)
	})
	if clear != 0 {
		t.Fatalf("%d codes stored in clear", clear)
	}

	// The registration's flow still takes its own code, through the mailed link.
	r := s.Call(c, "GET", "/self-service/verification?"+url.Values{"flow": {regFlow}, "code": {code1}}.Encode(), nil, nil)
	codetest.Want(t, r, 200)
	if f := r.JSON(t); f["state"] != "passed_challenge" {
		t.Fatalf("link = %s", r.Body)
	}
}

func TestVerificationUnknownAddressAnswersAlike(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	known := codetest.Address(t)
	s.Register(c, known, password)
	unknown := codetest.Address(t)
	answer := func(addr string) map[string]any {
		r := s.Call(c, "GET", "/self-service/verification/api", nil, nil)
		r = s.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "code", "email": addr}, nil)
		codetest.Want(t, r, 200)
		return r.JSON(t)
	}
	a, b := answer(known), answer(unknown)
	if a["state"] != b["state"] || len(codetest.MessageIDs(a)) != len(codetest.MessageIDs(b)) || codetest.MessageIDs(a)[0] != codetest.MessageIDs(b)[0] ||
		len(a["ui"].(map[string]any)["nodes"].([]any)) != len(b["ui"].(map[string]any)["nodes"].([]any)) {
		t.Fatalf("answers differ:\n%v\n%v", a, b)
	}
	if m := codetest.WaitMail(t, unknown, 1); m.Subject != "Someone tried to verify this email address" {
		t.Fatalf("unknown address mail = %q", m.Subject)
	}
	// A malformed address is a validation error on the email node.
	r := s.Call(c, "GET", "/self-service/verification/api", nil, nil)
	r = s.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "code", "email": "Eve <eve@example.com>"}, nil)
	codetest.Want(t, r, 400)
	if !codetest.HasID(r.JSON(t), 4000001) {
		t.Fatalf("malformed address = %s", r.Body)
	}
	// No code verifies anything for an unknown address.
	r = s.Call(c, "POST", codetest.Action(b), map[string]any{"method": "code", "code": "123456"}, nil)
	if !codetest.HasID(r.JSON(t), 4070006) {
		t.Fatalf("code for unknown address = %s", r.Body)
	}
}

func TestBrowserRegistrationVerifiesThroughMailedLink(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := codetest.Client()
	json := map[string]string{"Accept": "application/json"}
	r := s.Call(c, "GET", "/self-service/registration/browser", nil, json)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	addr := codetest.Address(t)
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "password", "traits": map[string]any{"email": addr}, "password": password,
		"csrf_token": codetest.NodeValue(f, "csrf_token")}, json)
	codetest.Want(t, r, 200)
	reg := r.JSON(t)
	if reg["continue_with"].([]any)[0].(map[string]any)["action"] != "redirect_browser_to" {
		t.Fatalf("continue_with = %v", reg["continue_with"])
	}
	vf := verificationCW(t, reg)
	if vf["url"] != s.Base+"/ui/verification?flow="+vf["id"].(string) {
		t.Fatalf("url = %v", vf["url"])
	}
	// The browser opens the flow (it is bound to its CSRF cookie then).
	r = s.Call(c, "GET", "/self-service/verification/flows?id="+vf["id"].(string), nil, nil)
	codetest.Want(t, r, 200)
	if tok, _ := codetest.NodeValue(r.JSON(t), "csrf_token").(string); tok == "" {
		t.Fatalf("no csrf token: %s", r.Body)
	}
	codetest.Want(t, s.Call(codetest.Client(), "GET", "/self-service/verification/flows?id="+vf["id"].(string), nil, nil), 403)
	// The link in the mail.
	mail := codetest.WaitMail(t, addr, 1)
	i := strings.Index(mail.Text, s.Base+"/self-service/verification?")
	if i < 0 {
		t.Fatalf("no link in %s", mail.Text)
	}
	link := strings.Fields(mail.Text[i:])[0]
	r = s.Call(c, "GET", link, nil, nil)
	codetest.Want(t, r, 303)
	if r.Header.Get("Location") != s.Base+"/ui/verification?flow="+vf["id"].(string) {
		t.Fatalf("Location = %s", r.Header.Get("Location"))
	}
	r = s.Call(c, "GET", "/self-service/verification/flows?id="+vf["id"].(string), nil, nil)
	if f := r.JSON(t); f["state"] != "passed_challenge" || !codetest.HasID(f, 1080002) {
		t.Fatalf("after link = %s", r.Body)
	}
}

// A registration mails the verification code to an identity that did not
// exist before its transaction: it refreshes no cached identity or
// session, so the project's other sessions stay cached in every process
// (a bump of the project's epochs would make them all reload) and the
// registration does not wait for the revocation lease.
func TestRegistrationLeavesTheProjectsCachesAlone(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	env := tenanttest.Get(t)
	ctx := context.Background()
	c := &http.Client{}
	first := s.Register(c, codetest.Address(t), password)
	token := first["session_token"].(string)
	codetest.Want(t, s.Call(c, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": token}), 200)
	project := s.Project.Project.ID.String()
	keys := []string{env.Namespace + "lanyard:sess:{" + project + "}:epoch", env.Namespace + "lanyard:ident:{" + project + "}:epoch"}
	epochs := func() []string {
		var out []string
		for _, k := range keys {
			v, err := env.Redis.Get(ctx, k).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	before := epochs()
	second := s.Register(c, codetest.Address(t), password)
	va := second["identity"].(map[string]any)["verifiable_addresses"].([]any)[0].(map[string]any)
	if va["status"] != "sent" {
		t.Fatalf("the second registration's address = %v", va)
	}
	if after := epochs(); !slices.Equal(before, after) {
		t.Fatalf("a registration changed the project's cache epochs: %q, then %q", before, after)
	}
	codetest.Want(t, s.Call(c, "GET", "/sessions/whoami", nil, map[string]string{"X-Session-Token": token}), 200)
}
