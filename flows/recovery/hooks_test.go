package recovery_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
)

// setHooks saves the project's hook configuration through the admin API.
func setHooks(t *testing.T, s *codetest.Site, c *http.Client, cfg string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(cfg), &v); err != nil {
		t.Fatal(err)
	}
	codetest.Want(t, s.Call(c, "PUT", "/admin/hooks", v, map[string]string{"Authorization": "Bearer " + s.Project.APIKey}), 200)
}

// The project's recovery "after" hooks run when a recovery succeeds: an
// action sees the identity and the method and may change the identity, or
// stop the recovery (then no session is issued).
func TestRecoveryAfterHooks(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	c := &http.Client{}
	addr, blocked := codetest.Address(t), codetest.Address(t)
	id := s.Register(c, addr, oldPassword)["identity"].(map[string]any)["id"].(string)
	codetest.WaitMail(t, addr, 1)
	s.Register(c, blocked, oldPassword)
	codetest.WaitMail(t, blocked, 1)
	script, _ := json.Marshal(`export default function (event, api) {
  if (event.identity.traits.email === ` + "`" + blocked + "`" + `) { api.deny("Recovery is disabled for this account."); return; }
  api.setMetadataPublic({ recovered_via: event.flow.method, flow: event.flow.kind });
}`)
	setHooks(t, s, c, `{"recovery":{"after":{"hooks":[{"hook":"action","config":{"id":"after-recovery","script":`+string(script)+`}}]}}}`)

	f := startRecovery(t, s, c, addr)
	r := s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "code": codetest.CodeOf(t, codetest.WaitMail(t, addr, 2))}, nil)
	codetest.Want(t, r, 200)
	if r.JSON(t)["state"] != "passed_challenge" {
		t.Fatalf("recovered = %s", r.Body)
	}
	r = s.Call(c, "GET", "/admin/identities/"+id, nil, map[string]string{"Authorization": "Bearer " + s.Project.APIKey})
	codetest.Want(t, r, 200)
	if mp, _ := r.JSON(t)["metadata_public"].(map[string]any); mp["recovered_via"] != "code" || mp["flow"] != "recovery" {
		t.Fatalf("metadata_public after recovery = %v", r.JSON(t)["metadata_public"])
	}

	// A deny stops the recovery: a message, no session token.
	f = startRecovery(t, s, c, blocked)
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "code": codetest.CodeOf(t, codetest.WaitMail(t, blocked, 2))}, nil)
	codetest.Want(t, r, 400)
	body := r.JSON(t)
	if body["state"] == "passed_challenge" || body["continue_with"] != nil {
		t.Fatalf("denied recovery = %s", r.Body)
	}
	msgs := body["ui"].(map[string]any)["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "Recovery is disabled for this account." {
		t.Fatalf("denied recovery messages = %v", msgs)
	}
}
