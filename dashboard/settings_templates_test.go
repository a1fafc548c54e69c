package dashboard_test

import (
	"strings"
	"testing"
)

// The Email page's template editor API: a viewer lists and previews, an
// admin saves (a bad template is 400 with its part, nothing saved) and
// resets; both changes are audited with the template as target.
func TestEmailTemplatesThroughThePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, _, _ := e.newProject(owner, ws, "templated")
	base := "/api/v1/projects/" + pid + "/email/templates"
	one := base + "/recovery_code_valid/default"

	r := e.call("GET", base, nil, owner.token)
	want(t, r, 200)
	if types, _ := r.json(t)["types"].([]any); len(types) != 11 {
		t.Fatalf("template types = %s", r.body)
	}

	// Bad template: 400 naming the part, nothing saved, nothing audited.
	er := wantError(t, e.call("PUT", one, map[string]any{"subject": "Code", "body_text": "{{.RecoveryCode}", "body_html": ""}, owner.token), 400)
	if er["id"] != "invalid_template" || !strings.Contains(str(er, "reason"), "body_text") {
		t.Fatalf("bad template: %v", er)
	}
	r = e.call("GET", base, nil, owner.token)
	if tpls, _ := r.json(t)["templates"].([]any); len(tpls) != 0 {
		t.Fatalf("a bad template was saved: %s", r.body)
	}
	wantError(t, e.call("PUT", base+"/nope/default", map[string]any{"subject": "x", "body_text": "y"}, owner.token), 404)

	// Save, preview, reset.
	r = e.call("PUT", one, map[string]any{"subject": "Templated code", "body_text": "{{.RecoveryCode}}", "body_html": "<p>{{.RecoveryCode}}</p>"}, owner.token)
	want(t, r, 200)
	r = e.call("POST", base+"/recovery_code_valid/preview", map[string]any{}, owner.token)
	want(t, r, 200)
	if m := r.json(t); m["subject"] != "Templated code" || m["body_html"] != "<p>123456</p>" {
		t.Fatalf("preview of the saved template = %s", r.body)
	}

	// A viewer lists and previews; saving and resetting are refused.
	viewer := e.newAccount(true)
	e.join(owner, viewer, ws, "viewer")
	want(t, e.call("GET", base, nil, viewer.token), 200)
	want(t, e.call("POST", base+"/recovery_code_valid/preview", map[string]any{"subject": "s", "body_text": "t"}, viewer.token), 200)
	for _, c := range []struct {
		method string
		body   any
	}{
		{"PUT", map[string]any{"subject": "Viewer", "body_text": "t"}},
		{"DELETE", nil},
	} {
		if er := wantError(t, e.call(c.method, one, c.body, viewer.token), 403); er["id"] != "insufficient_role" {
			t.Errorf("viewer %s: %v", c.method, er)
		}
	}
	r = e.call("POST", base+"/recovery_code_valid/preview", nil, owner.token)
	want(t, r, 200)
	if r.json(t)["subject"] != "Templated code" {
		t.Fatalf("the viewer changed the template: %s", r.body)
	}

	want(t, e.call("DELETE", one, nil, owner.token), 204)
	wantError(t, e.call("DELETE", one, nil, owner.token), 404)
	r = e.call("POST", base+"/recovery_code_valid/preview", map[string]any{}, owner.token)
	want(t, r, 200)
	if r.json(t)["subject"] == "Templated code" {
		t.Fatalf("preview after reset = %s", r.body)
	}

	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit?page_size=100", nil, owner.token)
	want(t, r, 200)
	actions := map[string]int{}
	for _, it := range r.items(t) {
		m := it.(map[string]any)
		if strings.HasPrefix(str(m, "action"), "email.template_") {
			actions[str(m, "action")+" "+str(m, "target_id")]++
		}
	}
	if len(actions) != 2 || actions["email.template_update recovery_code_valid/default"] != 1 || actions["email.template_delete recovery_code_valid/default"] != 1 {
		t.Fatalf("audit = %v, want one update and one delete (refused changes are not audited)", actions)
	}
}

// Another workspace's project is not found through the template routes,
// and one project's templates do not reach another's mail.
func TestEmailTemplatesIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	x := e.newAccount(true)
	y := e.newAccount(true)
	pX, _, _ := e.newProject(x, e.personal(x), "x")
	pY, _, _ := e.newProject(y, e.personal(y), "y")
	yOne := "/api/v1/projects/" + pY + "/email/templates/login_code_valid/default"
	want(t, e.call("PUT", yOne, map[string]any{"subject": "Y's login code", "body_text": "{{.LoginCode}}"}, y.token), 200)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/projects/" + pY + "/email/templates", nil},
		{"PUT", yOne, map[string]any{"subject": "X was here", "body_text": "x"}},
		{"DELETE", yOne, nil},
		{"POST", "/api/v1/projects/" + pY + "/email/templates/login_code_valid/preview", map[string]any{}},
	} {
		if er := wantError(t, e.call(c.method, c.path, c.body, x.token), 404); er["id"] != "project_not_found" && !strings.Contains(str(er, "reason"), "project") {
			t.Errorf("%s %s by another workspace: %v", c.method, c.path, er)
		}
	}
	r := e.call("POST", "/api/v1/projects/"+pY+"/email/templates/login_code_valid/preview", map[string]any{}, y.token)
	want(t, r, 200)
	if r.json(t)["subject"] != "Y's login code" {
		t.Fatalf("Y's template changed: %s", r.body)
	}
	r = e.call("POST", "/api/v1/projects/"+pX+"/email/templates/login_code_valid/preview", map[string]any{}, x.token)
	want(t, r, 200)
	if r.json(t)["subject"] == "Y's login code" {
		t.Fatalf("X renders Y's template: %s", r.body)
	}
	wantError(t, e.call("GET", "/api/v1/projects/"+pY+"/email/templates", nil, ""), 401)
}
