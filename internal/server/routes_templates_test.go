package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

type templateList struct {
	Templates []struct {
		Type     string `json:"template_type"`
		Locale   string `json:"locale"`
		Subject  string `json:"subject"`
		BodyText string `json:"body_text"`
	} `json:"templates"`
	Types []struct {
		Type       string   `json:"template_type"`
		Overridden bool     `json:"overridden"`
		Locales    []string `json:"locales"`
		Default    struct {
			Subject string `json:"subject"`
		} `json:"default"`
	} `json:"types"`
}

func listTemplates(t *testing.T, h http.Handler, r req) templateList {
	t.Helper()
	r.path = "/admin/courier/templates"
	w := doChecked(t, h, r)
	if w.Code != 200 {
		t.Fatalf("list templates: %d %s", w.Code, w.Body)
	}
	var l templateList
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// The admin template endpoints: a bad template is refused with its part
// and nothing is saved, previews render unsaved and stored templates, and
// a project's key reaches only its own project's templates.
func TestCourierTemplatesAdminAndIsolation(t *testing.T) {
	t.Parallel()
	d := servertest.Deps(t)
	h := server.APIRouter(d)
	a, b := tenanttest.NewProject(t), tenanttest.NewProject(t)
	ra := req{host: host(a.Project), key: a.APIKey}
	path := "/admin/courier/templates/verification_code_valid/"

	l := listTemplates(t, h, ra)
	if len(l.Templates) != 0 || len(l.Types) != 11 || l.Types[0].Type != "verification_code_valid" || l.Types[0].Overridden || l.Types[0].Default.Subject == "" {
		t.Fatalf("fresh list = %+v", l)
	}

	// A template naming a variable that does not exist: 400 naming the part.
	w := doChecked(t, h, req{method: "PUT", host: ra.host, key: ra.key, path: path + "default",
		body: `{"subject":"Your code","body_text":"Code {{.VerificationCode}}","body_html":"<p>{{.NoSuchThing}}</p>"}`})
	if w.Code != 400 || !strings.Contains(w.Body.String(), "invalid_template") || !strings.Contains(w.Body.String(), `"part":"body_html"`) {
		t.Fatalf("bad template: %d %s", w.Code, w.Body)
	}
	w = doChecked(t, h, req{method: "PUT", host: ra.host, key: ra.key, path: path + "default", body: `{"subject":"{{if}}","body_text":"x"}`})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"part":"subject"`) {
		t.Fatalf("bad subject: %d %s", w.Code, w.Body)
	}
	if l := listTemplates(t, h, ra); len(l.Templates) != 0 {
		t.Fatalf("a bad template was saved: %+v", l.Templates)
	}

	// A good one, in the default language and in German.
	w = doChecked(t, h, req{method: "PUT", host: ra.host, key: ra.key, path: path + "default",
		body: `{"subject":"A: your {{.ProjectName}} code","body_text":"Code:\n{{.VerificationCode}}\n","body_html":"<b>{{.VerificationCode}}</b> for {{.To}}"}`})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"locale":""`) {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	w = doChecked(t, h, req{method: "PUT", host: ra.host, key: ra.key, path: path + "de", body: `{"subject":"A: Ihr Code","body_text":"{{.VerificationCode}}"}`})
	if w.Code != 200 {
		t.Fatalf("save de: %d %s", w.Code, w.Body)
	}
	l = listTemplates(t, h, ra)
	if len(l.Templates) != 2 || !l.Types[0].Overridden || strings.Join(l.Types[0].Locales, ",") != ",de" || l.Types[1].Overridden {
		t.Fatalf("list after save = %+v", l)
	}

	// Previews: the stored template, a locale, an unsaved one, a bad one.
	var pv struct{ Subject, Body_text, Body_html string }
	preview := func(body string, status int) {
		t.Helper()
		w := doChecked(t, h, req{method: "POST", host: ra.host, key: ra.key, path: path + "preview", body: body})
		if w.Code != status {
			t.Fatalf("preview %s: %d %s, want %d", body, w.Code, w.Body, status)
		}
		pv = struct{ Subject, Body_text, Body_html string }{}
		_ = json.Unmarshal(w.Body.Bytes(), &pv)
	}
	preview(`{}`, 200)
	if !strings.HasPrefix(pv.Subject, "A: your ") || pv.Body_html != "<b>123456</b> for someone@example.com" {
		t.Fatalf("stored preview = %+v", pv)
	}
	preview(`{"locale":"de-AT"}`, 200)
	if pv.Subject != "A: Ihr Code" || pv.Body_html != "" {
		t.Fatalf("de-at preview = %+v", pv)
	}
	preview(`{"subject":"Unsaved","body_text":"t","body_html":"<i>{{.To}}</i>"}`, 200)
	if pv.Subject != "Unsaved" || pv.Body_html != "<i>someone@example.com</i>" {
		t.Fatalf("unsaved preview = %+v", pv)
	}
	preview(`{"subject":"x","body_text":"{{.Nope}}"}`, 400)

	// B cannot be reached with A's key; B's templates are its own.
	for name, r := range map[string]struct {
		req    req
		status int
	}{
		"A key lists B":      {req{host: host(b.Project), path: "/admin/courier/templates", key: a.APIKey}, 401},
		"A key saves into B": {req{method: "PUT", host: host(b.Project), path: path + "default", key: a.APIKey, body: `{"subject":"x","body_text":"y"}`}, 401},
		"A key resets B":     {req{method: "DELETE", host: host(b.Project), path: path + "default", key: a.APIKey}, 401},
		"A key previews B":   {req{method: "POST", host: host(b.Project), path: path + "preview", key: a.APIKey, body: `{}`}, 401},
		"no key":             {req{host: host(a.Project), path: "/admin/courier/templates"}, 401},
		"B has none":         {req{method: "DELETE", host: host(b.Project), path: path + "default", key: b.APIKey}, 404},
		"unknown type":       {req{method: "PUT", host: ra.host, path: "/admin/courier/templates/nope/default", key: a.APIKey, body: `{"subject":"x","body_text":"y"}`}, 404},
		"unknown preview":    {req{method: "POST", host: ra.host, path: "/admin/courier/templates/nope/preview", key: a.APIKey, body: `{}`}, 404},
		"bad locale":         {req{method: "PUT", host: ra.host, path: path + "de_DE!", key: a.APIKey, body: `{"subject":"x","body_text":"y"}`}, 400},
		"no subject":         {req{method: "PUT", host: ra.host, path: path + "fr", key: a.APIKey, body: `{"subject":" ","body_text":"y"}`}, 400},
		"unknown field":      {req{method: "PUT", host: ra.host, path: path + "fr", key: a.APIKey, body: `{"subject":"x","body_text":"y","html":"z"}`}, 400},
		"bad json":           {req{method: "PUT", host: ra.host, path: path + "fr", key: a.APIKey, body: `{`}, 400},
	} {
		if w := doChecked(t, h, r.req); w.Code != r.status {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body, r.status)
		}
	}
	if l := listTemplates(t, h, req{host: host(b.Project), key: b.APIKey}); len(l.Templates) != 0 || l.Types[0].Overridden {
		t.Fatalf("B sees A's templates: %+v", l.Templates)
	}
	w = doChecked(t, h, req{method: "POST", host: host(b.Project), key: b.APIKey, path: path + "preview", body: `{}`})
	if w.Code != 200 || strings.Contains(w.Body.String(), "A: your") {
		t.Fatalf("B's preview uses A's template: %d %s", w.Code, w.Body)
	}

	// Reset: back to the built-in template.
	if w := doChecked(t, h, req{method: "DELETE", host: ra.host, key: ra.key, path: path + "default"}); w.Code != 204 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	preview(`{}`, 200)
	if strings.HasPrefix(pv.Subject, "A: ") || pv.Subject != l.Types[0].Default.Subject {
		t.Fatalf("preview after reset = %+v, want the default %q", pv, l.Types[0].Default.Subject)
	}
}
