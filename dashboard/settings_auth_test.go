package dashboard_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// signUpWithPassword registers email with password on the project's
// public API (an API registration flow).
func (e *env) signUpWithPassword(slug string, traits map[string]any, password string) resp {
	e.t.Helper()
	r := e.project("GET", slug, "/self-service/registration/api", nil, "")
	want(e.t, r, 200)
	action, _ := r.json(e.t)["ui"].(map[string]any)["action"].(string)
	u, err := url.Parse(action)
	if err != nil || action == "" {
		e.t.Fatalf("registration flow without an action: %s", r.body)
	}
	return e.project("POST", slug, strings.TrimPrefix(u.Path, "/p/"+slug)+"?"+u.RawQuery,
		map[string]any{"method": "password", "traits": traits, "password": password}, "")
}

func auditActions(t *testing.T, e *env, ws string, a *account) []string {
	t.Helper()
	r := e.call("GET", "/api/v1/workspaces/"+ws+"/audit", nil, a.token)
	want(t, r, 200)
	var out []string
	for _, ev := range r.items(t) {
		m := ev.(map[string]any)
		out = append(out, m["action"].(string)+"/"+str(m, "target_type"))
	}
	return out
}

// The Authentication settings page's API: a viewer reads, an admin
// changes settings (bad input is refused with the field and nothing is
// stored), and a change alters what a flow does at once.
func TestAuthSettingsThroughThePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, slug, key := e.newProject(owner, ws, "settings")
	base := "/api/v1/projects/" + pid + "/config"

	r := e.call("GET", base, nil, owner.token)
	want(t, r, 200)
	cfg := r.json(t)
	pw := cfg["password"].(map[string]any)
	if pw["min_length"] != float64(8) || pw["common_password_check"] != true || cfg["registration_enabled"] != true {
		t.Fatalf("defaults = %s", r.body)
	}
	if s := cfg["session"].(map[string]any); s["lifespan_minutes"] != float64(24*60) || s["sliding"] != true {
		t.Fatalf("session defaults = %s", r.body)
	}
	if l := cfg["limits"].(map[string]any)["login:identifier"].(map[string]any); l["period_seconds"] != float64(300) {
		t.Fatalf("limits = %s", r.body)
	}

	// A 10-character password passes the default policy.
	want(t, e.signUpWithPassword(slug, map[string]any{"email": "first-" + uuid.NewString()[:8] + "@example.com"}, "Zq7#vLp2mW"), 200)

	// Bad input: 400 naming the field, and nothing stored.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"password": map[string]any{"min_length": 3}}, "password.min_length"},
		{map[string]any{"password": map[string]any{"min_length": "twelve"}}, "password.min_length"},
		{map[string]any{"session": map[string]any{"lifespan_minutes": 600, "max_lifespan_minutes": 60}}, "session.max_lifespan_minutes"},
		{map[string]any{"allowed_return_urls": []string{"https://ok.example.com", "not a url"}}, "allowed_return_urls"},
		{map[string]any{"recovery": map[string]any{"use": "carrier pigeon"}}, "recovery.use"},
		{map[string]any{"limits": map[string]any{"login:ip": map[string]any{"rate": 0, "period_seconds": 60, "burst": 5}}}, "limits.login:ip.rate"},
		{map[string]any{"limits": map[string]any{"nope": map[string]any{"rate": 1, "period_seconds": 60, "burst": 5}}}, "limits.nope"},
		{map[string]any{"registration_enabled": false, "flow_lifespan_minutes": 0}, "flow_lifespan_minutes"},
		{map[string]any{"mystery": true}, "mystery"},
	} {
		er := wantError(t, e.call("PATCH", base, c.body, owner.token), 400)
		d, _ := er["details"].(map[string]any)
		if d["field"] != c.field || str(d, "message") == "" {
			t.Errorf("PATCH %v: error = %v, want field %s", c.body, er, c.field)
		}
	}
	wantError(t, e.call("PATCH", base, "{not json", owner.token), 400)
	r = e.call("GET", base, nil, owner.token)
	if got := r.json(t); got["registration_enabled"] != true || got["flow_lifespan_minutes"] != float64(60) {
		t.Fatalf("a refused PATCH changed the settings: %s", r.body)
	}

	// A valid PATCH changes only what it names.
	r = e.call("PATCH", base, map[string]any{
		"password":            map[string]any{"min_length": 12},
		"session":             map[string]any{"lifespan_minutes": 120, "sliding": false},
		"allowed_return_urls": []string{"https://app.example.com/", " ", "https://*.example.org"},
		"limits":              map[string]any{"login:ip": map[string]any{"rate": 50, "period_seconds": 60, "burst": 60}},
	}, owner.token)
	want(t, r, 200)
	got := r.json(t)
	if p := got["password"].(map[string]any); p["min_length"] != float64(12) || p["common_password_check"] != true {
		t.Fatalf("after PATCH: %s", r.body)
	}
	if s := got["session"].(map[string]any); s["lifespan_minutes"] != float64(120) || s["sliding"] != false || s["max_lifespan_minutes"] != float64(30*24*60) {
		t.Fatalf("session after PATCH: %s", r.body)
	}
	if u := got["allowed_return_urls"].([]any); len(u) != 2 {
		t.Fatalf("allowed_return_urls after PATCH: %s", r.body)
	}
	// The project API key sees the same through /admin/config.
	r = e.project("GET", slug, "/admin/config", nil, key)
	want(t, r, 200)
	if r.json(t)["password"].(map[string]any)["min_length"] != float64(12) {
		t.Fatalf("admin view: %s", r.body)
	}

	// The flow applies it: a 10-character password is now refused.
	r = e.signUpWithPassword(slug, map[string]any{"email": "second-" + uuid.NewString()[:8] + "@example.com"}, "Zq7#vLp2mW")
	want(t, r, 400)
	if !strings.Contains(string(r.body), "4000003") && !strings.Contains(string(r.body), "at least 12") {
		t.Fatalf("short password: %s", r.body)
	}
	want(t, e.signUpWithPassword(slug, map[string]any{"email": "third-" + uuid.NewString()[:8] + "@example.com"}, "Zq7#vLp2mW-long"), 200)

	// Turning registration off closes sign-up.
	want(t, e.call("PATCH", base, map[string]any{"registration_enabled": false}, owner.token), 200)
	r = e.project("GET", slug, "/self-service/registration/api", nil, "")
	if r.code == 200 {
		t.Fatalf("registration still open: %s", r.body)
	}

	// CORS through the platform.
	cors := "/api/v1/projects/" + pid + "/cors"
	wantError(t, e.call("PUT", cors, map[string]any{"allowed_origins": []string{"*"}}, owner.token), 400)
	want(t, e.call("PUT", cors, map[string]any{"allowed_origins": []string{"https://app.example.com"}}, owner.token), 200)
	r = e.call("GET", cors, nil, owner.token)
	want(t, r, 200)
	if !strings.Contains(string(r.body), "https://app.example.com") {
		t.Fatalf("cors = %s", r.body)
	}

	// Roles: a viewer reads and changes nothing; an admin writes.
	viewer := e.newAccount(true)
	e.join(owner, viewer, ws, "viewer")
	want(t, e.call("GET", base, nil, viewer.token), 200)
	want(t, e.call("GET", cors, nil, viewer.token), 200)
	want(t, e.call("GET", "/api/v1/projects/"+pid+"/schemas", nil, viewer.token), 200)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", base, map[string]any{"registration_enabled": true}},
		{"PUT", cors, map[string]any{"allowed_origins": []string{}}},
		{"PUT", "/api/v1/projects/" + pid + "/schemas/default", presetSchema},
	} {
		if er := wantError(t, e.call(c.method, c.path, c.body, viewer.token), 403); er["id"] != "insufficient_role" {
			t.Errorf("viewer %s %s: %v", c.method, c.path, er)
		}
	}
	admin := e.newAccount(true)
	e.join(owner, admin, ws, "admin")
	want(t, e.call("PATCH", base, map[string]any{"registration_enabled": true}, admin.token), 200)

	// Every change is audited; refused ones are not.
	acts := auditActions(t, e, ws, owner)
	n := 0
	for _, a := range acts {
		if a == "config.update/project" {
			n++
		}
	}
	if n != 4 { // two PATCHes by the owner, the CORS PUT, the admin's PATCH
		t.Fatalf("config.update events = %d in %v", n, acts)
	}
}

const presetSchema = `{
  "$id": "https://schemas.example.com/person.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "username": {
          "type": "string",
          "title": "Username",
          "minLength": 3,
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
        },
        "nickname": {"type": "string", "title": "Nickname"}
      },
      "required": ["username"],
      "additionalProperties": false
    }
  }
}`

// The Identity schema page's API: invalid JSON is refused with its line
// and column, an invalid schema with the reason, nothing is stored then;
// a valid one is stored, audited and used by the next registration.
func TestIdentitySchemaThroughThePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, slug, key := e.newProject(owner, ws, "schemas")
	list := "/api/v1/projects/" + pid + "/schemas"

	r := e.call("GET", list, nil, owner.token)
	want(t, r, 200)
	before := string(r.body)
	var schemas []map[string]any
	decode(t, r.body, &schemas)
	if len(schemas) == 0 {
		t.Fatalf("no schemas: %s", r.body)
	}
	def := str(schemas[0], "id")
	put := list + "/" + def + "?default=true"

	// Not JSON: line and column of the error.
	bad := "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"traits\": {,}\n  }\n}"
	er := wantError(t, e.call("PUT", put, bad, owner.token), 400)
	d, _ := er["details"].(map[string]any)
	if er["id"] != "invalid_identity_schema" || d["line"] != float64(4) || d["column"] != float64(16) {
		t.Fatalf("invalid JSON: %v", er)
	}
	er = wantError(t, e.call("PUT", put, "{\"a\": 1", owner.token), 400)
	if d, _ := er["details"].(map[string]any); d["line"] != float64(1) {
		t.Fatalf("truncated JSON: %v", er)
	}
	// JSON, but not an identity schema.
	for _, body := range []string{
		`[]`,
		`{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","ory.sh/kratos":{"credentials":{"password":{"identifyer":true}}}}}}}}`,
		`{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string"}}}}}`,
		`{"type":"object","properties":{"traits":{"type":"object","properties":{"x":{"type":"nonsense","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}}}}}}`,
	} {
		if er := wantError(t, e.call("PUT", put, body, owner.token), 400); er["id"] != "invalid_identity_schema" || str(er, "reason") == "" {
			t.Errorf("PUT %s: %v", body, er)
		}
	}
	wantError(t, e.call("PUT", list+"/bad%20id", presetSchema, owner.token), 400)
	r = e.call("GET", list, nil, owner.token)
	if string(r.body) != before {
		t.Fatalf("a refused PUT changed the schemas:\n%s\nwas\n%s", r.body, before)
	}

	// A valid schema replaces the default; registration follows it.
	r = e.call("PUT", put, presetSchema, owner.token)
	want(t, r, 200)
	if str(r.json(t), "id") != def {
		t.Fatalf("PUT answer: %s", r.body)
	}
	r = e.call("GET", list+"/"+def, nil, owner.token)
	want(t, r, 200)
	if !strings.Contains(string(r.body), `"username"`) {
		t.Fatalf("stored schema: %s", r.body)
	}
	want(t, e.signUpWithPassword(slug, map[string]any{"username": "ada-" + uuid.NewString()[:6]}, "Zq7#vLp2mW-long"), 200)
	r = e.signUpWithPassword(slug, map[string]any{"email": "x@example.com"}, "Zq7#vLp2mW-long")
	want(t, r, 400)

	// A second schema by the admin API key (not the default).
	wantError(t, e.project("PUT", slug, "/admin/schemas/other", nil, key), 400)
	want(t, e.project("PUT", slug, "/admin/schemas/other", json.RawMessage(presetSchema), key), 200)
	r = e.call("GET", list, nil, owner.token)
	decode(t, r.body, &schemas)
	if len(schemas) != 2 || str(schemas[0], "id") != def {
		t.Fatalf("schemas after a second PUT: %s", r.body)
	}
	if acts := auditActions(t, e, ws, owner); acts[0] != "schema.update/identity_schema" {
		t.Fatalf("audit = %v", acts)
	}
}

// Another workspace's project is not found through any settings route,
// whatever the caller's role elsewhere.
func TestSettingsIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newAccount(true)
	b := e.newAccount(true)
	pidA, slugA, _ := e.newProject(a, e.personal(a), "mine")
	_, _, keyB := e.newProject(b, e.personal(b), "theirs")
	p := "/api/v1/projects/" + pidA
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", p + "/config", nil},
		{"PATCH", p + "/config", map[string]any{"registration_enabled": false}},
		{"GET", p + "/cors", nil},
		{"PUT", p + "/cors", map[string]any{"allowed_origins": []string{}}},
		{"GET", p + "/schemas", nil},
		{"GET", p + "/schemas/default", nil},
		{"PUT", p + "/schemas/default", presetSchema},
		{"GET", "/api/v1/projects/" + uuid.NewString() + "/config", nil},
	} {
		wantError(t, e.call(c.method, c.path, c.body, b.token), 404)
	}
	// Project B's key does not reach project A's admin API.
	if r := e.project("GET", slugA, "/admin/config", nil, keyB); r.code != 401 && r.code != 403 && r.code != 404 {
		t.Fatalf("B's key on A's config: %d %s", r.code, r.body)
	}
	if r := e.project("PATCH", slugA, "/admin/config", map[string]any{"registration_enabled": false}, keyB); r.code < 400 || r.code >= 500 {
		t.Fatalf("B's key PATCHes A's config: %d %s", r.code, r.body)
	}
	r := e.call("GET", p+"/config", nil, a.token)
	want(t, r, 200)
	if r.json(t)["registration_enabled"] != true {
		t.Fatalf("A's config changed: %s", r.body)
	}
}
