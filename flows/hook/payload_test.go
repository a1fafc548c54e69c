package hook_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows/hook"
)

func TestShapeReturnsTheFunctionsValue(t *testing.T) {
	t.Parallel()
	e := hook.NewEngine()
	ev := json.RawMessage(`{"type":"registration.after","identity":{"traits":{"email":"a@example.com","name":"Ann"}}}`)
	body, logs, err := e.Shape(context.Background(), hook.RunParams{Script: `export default function (event) {
  console.log("shaping", event.type);
  return { text: "New sign-up: " + event.identity.traits.email, fields: [event.identity.traits.name] };
}`, Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"text":"New sign-up: a@example.com","fields":["Ann"]}` || len(logs) != 1 || logs[0] != "shaping registration.after" {
		t.Fatalf("body %s, logs %q", body, logs)
	}
	for name, c := range map[string]struct{ src, want string }{
		"nothing returned": {"export default function (event) {}", "must return a JSON value"},
		"too large":        {`export default function () { return "x".repeat(2 * 1024 * 1024); }`, "larger than"},
		"throws":           {"export default function (event) {\n  return event.nothing.deeper;\n}", "TypeError"},
		"loops":            {"export default function () { for (;;) {} }", hook.ErrTimeLimit.Error()},
	} {
		if _, _, err := e.Shape(context.Background(), hook.RunParams{Script: c.src, Event: ev, Timeout: 50 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// A webhook's payload_script shapes the body of synchronous and
// asynchronous calls; the signature covers the shaped body; a script that
// does not compile is refused at save with its line.
func TestWebhookPayloadScript(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.startWorker()
	rec := newReceiver(t, func(b []byte) (int, string) { return 200, `{}` })
	script, _ := json.Marshal(`export default function (event) {
  return { text: "New sign-up: " + event.identity.traits.email, event: event.type };
}`)
	cfg := `{"registration":{"after":{"hooks":[
		{"hook":"web_hook","config":{"id":"slack-sync","url":"` + rec.URL + `","method":"POST","secret":"a-receiver-secret-of-some-length","response":{"parse":true},"payload_script":` + string(script) + `}},
		{"hook":"web_hook","config":{"id":"slack-async","url":"` + rec.URL + `","method":"POST","secret":"a-receiver-secret-of-some-length","payload_script":` + string(script) + `}},
		{"hook":"session"}]}}}`
	s.setHooks(cfg)
	want(t, s.register("shaped@example.com"), 200)
	s.deliveries("?hook_id=slack-async", func(l []map[string]any) bool { return len(l) == 1 && l[0]["status"] == "succeeded" })
	if rec.calls() != 2 {
		t.Fatalf("receiver calls = %d, want 2", rec.calls())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, b := range rec.bodies {
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil || len(got) != 2 || got["text"] != "New sign-up: shaped@example.com" || got["event"] != "registration.after" {
			t.Fatalf("body %d = %s", i, b)
		}
		if !verify("a-receiver-secret-of-some-length", rec.sigs[i], b) {
			t.Fatalf("signature %d does not verify over the shaped body", i)
		}
	}

	bad := strings.Replace(cfg, `return {`, `return {{`, 1)
	var v any
	_ = json.Unmarshal([]byte(bad), &v)
	r := s.admin("PUT", "/admin/hooks", v)
	want(t, r, 400)
	if !strings.Contains(string(r.body), "payload_script") || !strings.Contains(string(r.body), "SyntaxError") {
		t.Fatalf("bad payload_script = %s", r.body)
	}
}
