package mailtemplate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"text/template"
)

func sample(t *testing.T) Vars {
	t.Helper()
	var m map[string]any
	err := json.Unmarshal([]byte(`{
		"To": "ada@example.com",
		"Code": "482913",
		"Minutes": 10,
		"Price": 12.5,
		"Empty": "",
		"Zero": 0,
		"Yes": true,
		"No": false,
		"Identity": {"id": "abc", "traits": {"email": "ada@example.com", "name": {"first": "Ada", "last": "Lovelace"}, "tags": ["b", "a", "c"], "age": 36}},
		"List": [1, 2, 3, 4, 5],
		"Words": ["x", "y"],
		"Map": {"b": 2, "a": 1, "c": 3},
		"Html": "<b>\"Tom\" & 'Jerry'</b>"
	}`), &m)
	if err != nil {
		t.Fatal(err)
	}
	return Vars(m)
}

// The same templates rendered by text/template over the same data give the
// same text: the syntax and semantics users know from Go (and from Kratos
// templates) hold.
func TestMatchesTextTemplate(t *testing.T) {
	t.Parallel()
	cases := []string{
		`plain text only`,
		`Hi {{.To}}, your code is {{.Code}}.`,
		`{{.Identity.traits.name.first}} {{.Identity.traits.name.last}} ({{.Identity.id}})`,
		`{{if .Code}}code {{.Code}}{{else}}no code{{end}}`,
		`{{if .Empty}}a{{else if .Zero}}b{{else if .Yes}}c{{end}}`,
		`{{if not .No}}not no{{end}} {{if and .Yes .Code}}both{{end}} {{if or .Empty .Zero}}x{{else}}neither{{end}}`,
		`{{or .Empty "fallback"}} {{and .Yes .Code}}`,
		`{{range .List}}[{{.}}]{{end}}`,
		`{{range $i, $v := .Words}}{{$i}}={{$v}};{{end}}`,
		`{{range $k, $v := .Map}}{{$k}}:{{$v}} {{end}}`,
		`{{range .Identity.traits.tags}}{{.}}{{else}}none{{end}}|{{range .Identity.traits.none}}{{else}}empty{{end}}`,
		`{{range .Identity.traits.tags}}{{if eq . "a"}}{{continue}}{{end}}{{.}}{{end}}|{{range .Words}}{{if eq . "y"}}{{break}}{{end}}{{.}}{{end}}`,
		`{{range 3}}{{.}}{{end}}`,
		`{{with .Identity.traits}}{{.email}}{{end}} {{with .Empty}}x{{else}}no{{end}}`,
		`{{$name := .Identity.traits.name.first}}{{$name}} {{$name = "Bob"}}{{$name}}`,
		`{{$x := 1}}{{if .Yes}}{{$x = 2}}{{end}}{{$x}}`,
		`{{range .Words}}{{$.Code}}{{end}}`,
		`{{eq .Code "482913"}} {{ne .Minutes 10.0}} {{eq .Minutes 10.0}} {{eq .To "a" "ada@example.com"}}`,
		`{{lt .Minutes 11.0}} {{le .Minutes 10.0}} {{gt .Price 12.4}} {{ge "b" "a"}} {{lt 1 2}}`,
		`{{len .Code}} {{len .List}} {{len .Map}} {{len .Words}}`,
		`{{index .Words 1}} {{index .Map "a"}} {{index .Identity "traits" "email"}}`,
		`{{print .Code " " .Minutes}}|{{printf "%s has %d minutes" .To 5}}|{{printf "%q" .Code}}`,
		`{{.Code | printf "[%s]"}} {{"x" | print "y"}}`,
		`{{html .Html}} {{urlquery .To "&x"}}`,
		`{{/* a comment */}}kept{{- " trimmed " -}}  text`,
		"line one\n{{- .Code}}\n  {{- .Minutes -}}  \nend",
		`{{(index .Identity.traits.name "first")}} {{(.Identity.traits).email}}`,
		`{{.Price}} {{.Yes}} {{.Minutes}} {{1.5}} {{true}} {{"quoted"}}`,
	}
	vars := sample(t)
	for _, src := range cases {
		want := textTemplate(t, src, map[string]any(vars))
		tpl, err := Parse("body", src, false)
		if err != nil {
			t.Errorf("Parse(%q) = %v", src, err)
			continue
		}
		got, err := tpl.Execute(vars)
		if err != nil {
			t.Errorf("Execute(%q) = %v", src, err)
			continue
		}
		if got != want {
			t.Errorf("%q\n got %q\nwant %q", src, got, want)
		}
	}
}

func textTemplate(t *testing.T, src string, data any) string {
	t.Helper()
	var b strings.Builder
	if err := template.Must(template.New("x").Parse(src)).Execute(&b, data); err != nil {
		t.Fatalf("text/template %q: %v", src, err)
	}
	return b.String()
}

func TestMissingValues(t *testing.T) {
	t.Parallel()
	vars := sample(t)
	for src, want := range map[string]string{
		`[{{.Identity.traits.nickname}}]`:                   "[]",
		`[{{.Identity.traits.nickname.first}}]`:             "[]",
		`{{if .Identity.traits.nickname}}y{{else}}n{{end}}`: "n",
		`{{.Identity.traits.nickname | default "there"}}`:   "there",
		`{{default "there" .Identity.traits.name.first}}`:   "Ada",
		`{{upper .Code}}{{lower "AB"}}{{trim "  x "}}`:      "482913abx",
		`{{eq .Identity.traits.nickname "x"}}`:              "false",
		// JSON numbers are floats; they compare with integer literals.
		`{{range .List}}{{if eq . 3}}{{continue}}{{end}}{{if gt . 4}}{{break}}{{end}}{{.}}{{end}}`: "124",
	} {
		tpl, err := Parse("body", src, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.Execute(vars)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
}

func TestHTMLModeEscapesValuesOnly(t *testing.T) {
	t.Parallel()
	tpl, err := Parse("body_html", `<p title="{{.Html}}">{{.Html}} {{html .Html}}</p>`, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Execute(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	esc := "&lt;b&gt;&#34;Tom&#34; &amp; &#39;Jerry&#39;&lt;/b&gt;"
	if want := `<p title="` + esc + `">` + esc + ` ` + esc + `</p>`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	parseErrs := map[string]int{
		"a\nb\n{{.Code":                           3,
		"{{shout .Code}}":                         1,
		"{{if .Code}}\nopen":                      2,
		"x\n{{define \"y\"}}z{{end}}":             2,
		"ok\n{{template \"x\"}}":                  2,
		"{{range .List}}{{end}}\n{{break}}":       2,
		"\n\n{{$undefined}}":                      3,
		"{{.Code}}\n{{else}}":                     2,
		"{{with $x := 1}}{{end}}{{$x}}":           1,
		"{{printf}}\n{{range .X}}{{else}}{{end}}": 0, // valid syntax; not an error
	}
	for src, line := range parseErrs {
		_, err := Parse("body", src, false)
		if line == 0 {
			if err != nil {
				t.Errorf("Parse(%q) = %v, want no error", src, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), "template: body:") || !strings.Contains(err.Error(), ":"+itoa(line)+":") {
			t.Errorf("Parse(%q) = %v, want an error at line %d", src, err, line)
		}
	}
	execErrs := map[string]int{
		"{{.Code}}\n\n{{.NoSuchVariable}}": 3,
		"\n{{index .Words 7}}":             2,
		"{{index .Nothing 1}}":             1,
		"{{.Code.x}}":                      1,
		"\n{{lt .Code 1}}":                 2,
		"{{printf}}":                       1,
		"{{len .Minutes}}":                 1,
		"{{range .Code}}{{end}}":           1,
		"{{.Code 1}}":                      1,
	}
	vars := sample(t)
	vars["Nothing"] = nil
	for src, line := range execErrs {
		tpl, err := Parse("body", src, false)
		if err != nil {
			t.Errorf("Parse(%q) = %v", src, err)
			continue
		}
		_, err = tpl.Execute(vars)
		var e *Error
		if !errors.As(err, &e) || e.Line != line || e.Name != "body" {
			t.Errorf("Execute(%q) = %v, want an error at line %d", src, err, line)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

// Templates come from project admins: a template that would run for ever or
// print without end is stopped with an error.
func TestBudgetsStopRunawayTemplates(t *testing.T) {
	t.Parallel()
	for src, reason := range map[string]string{
		`{{range 1000000000}}{{end}}`:                      "too many steps",
		`{{range 100000}}{{range 100000}}{{end}}{{end}}`:   "too many steps",
		`{{range 200000}}0123456789{{end}}`:                "longer than",
		`{{range $i := 5000}}{{printf "%0900d" 1}}{{end}}`: "longer than",
	} {
		tpl, err := Parse("body", src, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tpl.Execute(sample(t)); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s = %v, want %q", src, err, reason)
		}
	}
}
