package verification_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
)

// The project's verification "after" hooks run when an address is
// verified; a deny leaves the address unverified.
func TestVerificationAfterHooks(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	addr, blocked := codetest.Address(t), codetest.Address(t)
	reg := s.Register(c, addr, password)
	id := reg["identity"].(map[string]any)["id"].(string)
	cd := codetest.CodeOf(t, codetest.WaitMail(t, addr, 1))
	reg2 := s.Register(c, blocked, password)
	id2 := reg2["identity"].(map[string]any)["id"].(string)
	cd2 := codetest.CodeOf(t, codetest.WaitMail(t, blocked, 1))

	script, _ := json.Marshal(`export default function (event, api) {
  if (event.identity.traits.email === ` + "`" + blocked + "`" + `) { api.deny("This address cannot be verified."); return; }
  api.setMetadataPublic({ verified_via: event.flow.method, flow: event.flow.kind });
}`)
	var cfg any
	_ = json.Unmarshal([]byte(`{"verification":{"after":{"hooks":[{"hook":"action","config":{"id":"after-verification","script":`+string(script)+`}}]}}}`), &cfg)
	codetest.Want(t, s.Call(c, "PUT", "/admin/hooks", cfg, map[string]string{"Authorization": "Bearer " + s.Project.APIKey}), 200)

	verify := func(reg map[string]any, cd string) codetest.Resp {
		return s.Call(c, "POST", "/self-service/verification?flow="+verificationCW(t, reg)["id"].(string), map[string]any{"method": "code", "code": cd}, nil)
	}
	r := verify(reg, cd)
	codetest.Want(t, r, 200)
	if r.JSON(t)["state"] != "passed_challenge" {
		t.Fatalf("verified = %s", r.Body)
	}
	got := adminIdentity(t, s, id)
	if mp, _ := got["metadata_public"].(map[string]any); mp["verified_via"] != "code" || mp["flow"] != "verification" {
		t.Fatalf("metadata_public after verification = %v", got["metadata_public"])
	}

	r = verify(reg2, cd2)
	codetest.Want(t, r, 400)
	if msgs := r.JSON(t)["ui"].(map[string]any)["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "This address cannot be verified." {
		t.Fatalf("denied verification = %s", r.Body)
	}
	if va := adminIdentity(t, s, id2)["verifiable_addresses"].([]any)[0].(map[string]any); va["verified"] != false {
		t.Fatalf("a denied verification verified the address: %v", va)
	}
}

// The verification flow a registration starts carries the registration's
// return_to: the verified page continues there.
func TestVerificationAfterRegistrationKeepsReturnTo(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	const back = "https://app.example.com/welcome"
	s.Configure(func(c *flows.Config) { c.AllowedReturnURLs = append(c.AllowedReturnURLs, back) })
	c := &http.Client{}
	addr := codetest.Address(t)
	r := s.Call(c, "GET", "/self-service/registration/api?return_to="+url.QueryEscape(back), nil, nil)
	codetest.Want(t, r, 200)
	r = s.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "password", "traits": map[string]any{"email": addr}, "password": password}, nil)
	codetest.Want(t, r, 200)
	vf := verificationCW(t, r.JSON(t))["id"].(string)
	cd := codetest.CodeOf(t, codetest.WaitMail(t, addr, 1))
	r = s.Call(c, "POST", "/self-service/verification?flow="+vf, map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	if f["state"] != "passed_challenge" || f["return_to"] != back || f["ui"].(map[string]any)["action"] != back {
		t.Fatalf("verified flow = %s", r.Body)
	}
}
