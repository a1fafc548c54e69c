package flows_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
)

func TestNodeJSONShapes(t *testing.T) {
	t.Parallel()
	c := flows.NewContainer("http://x.localhost:4433/self-service/login?flow=1")
	csrf := flows.NewInput(flows.GroupDefault, "csrf_token", flows.InputHidden, "tok", nil)
	csrf.Input().Required = true
	c.Add(csrf,
		flows.NewInput(flows.GroupDefault, "identifier", flows.InputText, "", flows.Label("E-Mail", "identifier")),
		flows.NewInput(flows.GroupPassword, "password", flows.InputPassword, nil, flows.Message(flows.InfoNodeLabelPassword)),
		flows.NewSubmit(flows.GroupPassword, "password", flows.Message(flows.InfoLoginPassword)),
		flows.NewText(flows.GroupTOTP, "totp_secret_key", &flows.Text{ID: 1050006, Text: "SECRET", Type: flows.TextInfo, Context: map[string]any{"secret": "SECRET"}}),
		flows.NewScript(flows.GroupWebAuthn, "webauthn_script", "http://x/.well-known/ory/webauthn.js", "sha512-x", "n"),
	)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		`"method":"POST"`,
		`{"type":"input","group":"default","attributes":{"name":"csrf_token","type":"hidden","value":"tok","required":true,"disabled":false,"node_type":"input"},"messages":[],"meta":{}}`,
		`"name":"identifier","type":"text","value":"","disabled":false`,
		`"meta":{"label":{"id":1070002,"text":"E-Mail","type":"info","context":{"name":"identifier","title":"E-Mail"}}}`,
		`{"name":"password","type":"password","disabled":false,"node_type":"input"}`,
		`"name":"method","type":"submit","value":"password"`,
		`{"id":1010022,"text":"Sign in with password","type":"info"}`,
		`"attributes":{"text":{"id":1050006,"text":"SECRET","type":"info","context":{"secret":"SECRET"}},"id":"totp_secret_key","node_type":"text"}`,
		`"node_type":"script"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("container JSON lacks %s\n%s", want, got)
		}
	}
	if strings.Contains(got, `"messages":null`) || strings.Contains(got, `"messages":[],"method"`) {
		t.Errorf("empty messages rendered wrongly: %s", got)
	}
	// A stored container comes back with typed attributes.
	var back flows.Container
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if n := back.Find("csrf_token", ""); n == nil || n.Input() == nil || n.Input().Value != "tok" || !n.Input().Required {
		t.Fatalf("round trip lost the csrf node: %+v", n)
	}
	b2, _ := json.Marshal(&back)
	if string(b2) != got {
		t.Fatalf("round trip changed JSON:\n%s\n%s", got, b2)
	}
}

func TestValidationErrorPlacement(t *testing.T) {
	t.Parallel()
	f := flows.New(flows.NewParams{Kind: flows.KindRegistration, Type: flows.TypeAPI, BaseURL: "http://b", Now: time.Now()})
	f.UI.Add(flows.NewInput(flows.GroupPassword, "traits.email", flows.InputEmail, nil, nil),
		flows.NewInput(flows.GroupPassword, "password", flows.InputPassword, nil, nil))
	ve := flows.NewValidationError(flows.Message(flows.ErrValidationDuplicate)).AddNode("password", flows.PasswordTooShort(8, 3))
	ve.Values = map[string]any{"traits.email": "a@b.c", "password": "abc"}
	ve.Apply(f)
	if len(f.UI.Messages) != 1 || f.UI.Messages[0].ID != 4000007 {
		t.Fatalf("flow messages = %+v", f.UI.Messages)
	}
	pw := f.UI.Find("password", "")
	if len(pw.Messages) != 1 || pw.Messages[0].ID != 4000032 || pw.Messages[0].Context["min_length"] != 8 {
		t.Fatalf("password node messages = %+v", pw.Messages)
	}
	if pw.Input().Value != nil {
		t.Fatal("password value echoed back")
	}
	if f.UI.Find("traits.email", "").Input().Value != "a@b.c" {
		t.Fatal("trait value not kept")
	}
	// A second outcome replaces the first.
	flows.NewValidationError(flows.Message(flows.ErrValidationInvalidCredentials)).Apply(f)
	if len(f.UI.Messages) != 1 || f.UI.Messages[0].ID != 4000006 || len(pw.Messages) != 0 {
		t.Fatalf("messages not reset: %+v / %+v", f.UI.Messages, pw.Messages)
	}
}

func TestFlowFieldsByKind(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	login := flows.New(flows.NewParams{Kind: flows.KindLogin, Type: flows.TypeBrowser, BaseURL: "http://a.localhost:4433", RequestURL: "http://a.localhost:4433/self-service/login/browser", Now: now})
	b, _ := json.Marshal(login)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"id", "type", "expires_at", "issued_at", "request_url", "ui", "state", "created_at", "updated_at", "refresh", "requested_aal"} {
		if _, ok := m[k]; !ok {
			t.Errorf("login flow lacks %q: %s", k, b)
		}
	}
	if m["state"] != "choose_method" || m["refresh"] != false || m["expires_at"] != "2026-01-02T04:04:05Z" {
		t.Errorf("login flow = %s", b)
	}
	if ui := m["ui"].(map[string]any); ui["action"] != "http://a.localhost:4433/self-service/login?flow="+login.ID.String() {
		t.Errorf("ui.action = %v", ui["action"])
	}
	reg := flows.New(flows.NewParams{Kind: flows.KindRegistration, Type: flows.TypeAPI, BaseURL: "http://a", Now: now})
	b, _ = json.Marshal(reg)
	if strings.Contains(string(b), "refresh") || strings.Contains(string(b), "created_at") {
		t.Errorf("registration flow carries login fields: %s", b)
	}
	set := flows.New(flows.NewParams{Kind: flows.KindSettings, Type: flows.TypeAPI, BaseURL: "http://a", Now: now})
	if set.State != flows.StateShowForm {
		t.Errorf("settings state = %s", set.State)
	}
	if !login.Expired(now.Add(time.Hour)) || login.Expired(now.Add(59*time.Minute)) {
		t.Error("expiry is not at one hour")
	}
}

func TestNegotiation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		accept, ctype string
		json          bool
	}{
		{"", "", false},
		{"*/*", "", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", false},
		{"application/json", "", true},
		{"application/json, text/plain, */*", "", true},
		{"text/html, application/json", "", false},
		{"text/html;q=0.5, application/json", "", true},
		{"application/*", "", true},
		{"", "application/json", true},
		{"", "application/json; charset=utf-8", true},
		{"*/*", "application/x-www-form-urlencoded", false},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		if tc.ctype != "" {
			r.Header.Set("Content-Type", tc.ctype)
		}
		if got := flows.IsJSONRequest(r); got != tc.json {
			t.Errorf("Accept %q Content-Type %q: json = %v, want %v", tc.accept, tc.ctype, got, tc.json)
		}
	}
}

func TestReturnTo(t *testing.T) {
	t.Parallel()
	base := "http://acme.localhost:4433"
	allowed := []string{"https://app.example.com/dashboard", "https://*.example.org"}
	for _, tc := range []struct {
		in, out string
		ok      bool
	}{
		{"", "", true},
		{"http://acme.localhost:4433/welcome", "http://acme.localhost:4433/welcome", true},
		{"/welcome", "http://acme.localhost:4433/welcome", true},
		{"https://app.example.com/dashboard/settings?x=1", "https://app.example.com/dashboard/settings?x=1", true},
		{"https://app.example.com/dashboard", "https://app.example.com/dashboard", true},
		{"https://app.example.com/dashboardevil", "", false},
		{"https://app.example.com/other", "", false},
		{"http://app.example.com/dashboard", "", false},
		{"https://a.b.example.org/x", "https://a.b.example.org/x", true},
		{"https://example.org/x", "", false},
		{"https://evil.com/", "", false},
		{"//evil.com/x", "", false},
		{"javascript:alert(1)", "", false},
		{"https://user@app.example.com/dashboard", "", false},
		{"http://acme.localhost:4433.evil.com/", "", false},
	} {
		got, err := flows.CheckReturnTo(tc.in, base, allowed)
		if (err == nil) != tc.ok || got != tc.out {
			t.Errorf("CheckReturnTo(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.out, tc.ok)
		}
	}
	// Path-routed projects only allow their own prefix.
	if _, err := flows.CheckReturnTo("http://localhost:4433/p/other/x", "http://localhost:4433/p/acme", nil); err == nil {
		t.Error("another project's path accepted")
	}
	if _, err := flows.CheckReturnTo("http://localhost:4433/p/acme/ui/login", "http://localhost:4433/p/acme", nil); err != nil {
		t.Errorf("own path refused: %v", err)
	}
}

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/", strings.NewReader("method=password&csrf_token=abc&traits.email=a%40b.c&traits.name.first=Ann&password=p"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b, msg := flows.DecodeBody(r)
	if msg != nil {
		t.Fatal(msg.Text)
	}
	if b.Method != "password" || b.CSRFToken != "abc" {
		t.Fatalf("body = %+v", b)
	}
	var v struct {
		Traits struct {
			Email string `json:"email"`
			Name  struct {
				First string `json:"first"`
			} `json:"name"`
		} `json:"traits"`
	}
	if err := json.Unmarshal(b.Raw, &v); err != nil || v.Traits.Email != "a@b.c" || v.Traits.Name.First != "Ann" {
		t.Fatalf("nested = %s (%v)", b.Raw, err)
	}
	for name, tc := range map[string]struct{ ctype, body string }{
		"bad json":      {"application/json", `{"method":`},
		"json array":    {"application/json", `[1]`},
		"conflict":      {"application/x-www-form-urlencoded", "traits=x&traits.email=y"},
		"unknown ctype": {"text/plain", "hello"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ctype)
		if _, msg := flows.DecodeBody(r); msg == nil || msg.ID != flows.ErrValidationGeneric {
			t.Errorf("%s: message = %+v, want 4000001", name, msg)
		}
	}
}

func TestExpiredErrorBody(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := flows.New(flows.NewParams{Kind: flows.KindLogin, Type: flows.TypeAPI, BaseURL: "http://a", Now: exp})
	status, body := flows.ErrorBody(&flows.ExpiredError{Kind: flows.KindLogin, ExpiredAt: exp, Since: 90 * time.Second, UseFlowID: f.ID}, "req-1")
	b, _ := json.Marshal(body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	e := m["error"].(map[string]any)
	if status != 410 || e["id"] != "self_service_flow_expired" || e["code"] != 410.0 || e["request"] != "req-1" ||
		m["use_flow_id"] != f.ID.String() || m["since"] != 90e9 || m["expired_at"] != "2026-01-01T00:00:00Z" {
		t.Fatalf("expired body = %s", b)
	}
	status, body = flows.ErrorBody(&flows.LocationChangeError{RedirectBrowserTo: "http://a/x"}, "")
	b, _ = json.Marshal(body)
	if status != 422 || !strings.Contains(string(b), `"id":"browser_location_change_required"`) || !strings.Contains(string(b), `"redirect_browser_to":"http://a/x"`) ||
		!strings.Contains(string(b), `"code":422`) {
		t.Fatalf("422 body = %s", b)
	}
	txt := flows.Expired(flows.KindLogin, exp, exp.Add(3*time.Minute))
	if txt.ID != 4010001 || txt.Context["expired_at_unix"] != exp.Unix() || !strings.Contains(txt.Text, "3.00 minutes") {
		t.Fatalf("expired text = %+v", txt)
	}
}

func TestTraitNodesFromSchema(t *testing.T) {
	t.Parallel()
	schema := `{"type":"object","properties":{"traits":{"type":"object","required":["email","name"],"properties":{
		"email":{"type":"string","format":"email","title":"E-Mail","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}},
		"name":{"type":"object","required":["last"],"properties":{"last":{"type":"string","title":"Last name"},"first":{"type":"string","title":"First name"}}},
		"age":{"type":"integer"},
		"newsletter":{"type":"boolean","title":"Newsletter"},
		"phone":{"$ref":"#/definitions/phone"}}}},
		"definitions":{"phone":{"type":"string","format":"tel","title":"Phone"}}}`
	nodes := flows.TraitNodes([]byte(schema), flows.GroupDefault, map[string]any{"traits.email": "a@b.c"})
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name())
	}
	if got, want := strings.Join(names, ","), "traits.email,traits.name.last,traits.name.first,traits.age,traits.newsletter,traits.phone"; got != want {
		t.Fatalf("order = %s, want %s", got, want)
	}
	email := nodes[0].Input()
	if email.Type != "email" || email.Autocomplete != "email" || !email.Required || email.Value != "a@b.c" || nodes[0].Meta.Label.ID != 1070002 ||
		nodes[0].Meta.Label.Context["title"] != "E-Mail" || nodes[0].Group != flows.GroupDefault {
		t.Fatalf("email node = %+v %+v", email, nodes[0].Meta.Label)
	}
	if !nodes[1].Input().Required || nodes[2].Input().Required {
		t.Fatal("nested required wrong")
	}
	if nodes[3].Input().Type != "number" || nodes[4].Input().Type != "checkbox" || nodes[5].Input().Type != "tel" || nodes[5].Input().Autocomplete != "tel" {
		t.Fatalf("types = %s %s %s", nodes[3].Input().Type, nodes[4].Input().Type, nodes[5].Input().Type)
	}
	if flows.TraitNodes([]byte("not json"), flows.GroupDefault, nil) != nil {
		t.Fatal("garbage schema gave nodes")
	}
}
