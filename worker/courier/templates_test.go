package courier

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestBuiltinTemplatesRenderEveryType(t *testing.T) {
	t.Parallel()
	for _, tt := range TemplateTypes {
		r, err := builtins[tt].execute(sampleData())
		if err != nil {
			t.Fatalf("%s: %v", tt, err)
		}
		if r.Subject == "" || strings.TrimSpace(r.Text) == "" || !strings.Contains(r.HTML, "</html>") {
			t.Errorf("%s: rendered %+v, want subject, text and html", tt, r)
		}
		if strings.Contains(r.Text+r.HTML, "<no value>") {
			t.Errorf("%s: a variable rendered as <no value>", tt)
		}
	}
}

func TestLocalisedProjectTemplateWithFallback(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	ctx := context.Background()
	de := Template{Type: TemplateVerificationCodeValid, Locale: "de", Subject: "Ihr Bestätigungscode",
		BodyText: "Hallo {{.Identity.traits.name}}, Ihr Code lautet {{.VerificationCode}}.", BodyHTML: "<p>Code: <b>{{.VerificationCode}}</b></p>"}
	if err := s.SaveTemplate(ctx, p, de); err != nil {
		t.Fatal(err)
	}
	send := func(locale string, traits map[string]any) *Stored {
		t.Helper()
		m := verificationMessage(recipient(t))
		m.Locale = locale
		m.Data.Identity = map[string]any{"id": "x", "traits": traits}
		id, err := s.Send(ctx, p, m)
		if err != nil {
			t.Fatal(err)
		}
		return messageOf(t, s, p, id)
	}
	// traits.locale "de_AT" → de-at → de.
	if m := send("", map[string]any{"locale": "de_AT", "name": "Ada"}); m.Subject != "Ihr Bestätigungscode" || m.Body != "Hallo Ada, Ihr Code lautet 482913." {
		t.Errorf("de-AT identity got %q / %q, want the German template", m.Subject, m.Body)
	}
	// An explicit locale wins over the trait.
	if m := send("de", map[string]any{"locale": "fr"}); m.Subject != "Ihr Bestätigungscode" {
		t.Errorf("explicit de got %q", m.Subject)
	}
	// No template for fr: the built-in default.
	if m := send("", map[string]any{"locale": "fr"}); m.Subject != "Your verification code" {
		t.Errorf("fr identity got %q, want the built-in default", m.Subject)
	}
	// A project default ('' locale) beats the built-in one for other languages.
	def := Template{Type: TemplateVerificationCodeValid, Subject: "Acme code: {{.VerificationCode}}", BodyText: "{{.VerificationCode}}"}
	if err := s.SaveTemplate(ctx, p, def); err != nil {
		t.Fatal(err)
	}
	if m := send("", map[string]any{"locale": "fr"}); m.Subject != "Acme code: 482913" || m.HTMLBody != "" {
		t.Errorf("fr identity got %q (html %q), want the project's text-only default", m.Subject, m.HTMLBody)
	}
	list, err := s.Templates(ctx, p)
	if err != nil || len(list) != 2 {
		t.Fatalf("Templates = %d, %v; want 2 overrides", len(list), err)
	}
	if err := s.DeleteTemplate(ctx, p, TemplateVerificationCodeValid, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTemplate(ctx, p, TemplateVerificationCodeValid, ""); !errors.Is(err, ErrTemplateNotFound) {
		t.Errorf("second delete = %v, want ErrTemplateNotFound", err)
	}
	// The removal is seen at once (the process's copy of the overrides
	// is dropped).
	if m := send("", map[string]any{"locale": "fr"}); m.Subject != "Your verification code" {
		t.Errorf("fr identity after the removal got %q, want the built-in default", m.Subject)
	}
	// Another project is not affected by this one's templates.
	q := tenanttest.NewProject(t).Project
	m := verificationMessage(recipient(t))
	m.Locale = "de"
	id, err := s.Send(ctx, q, m)
	if err != nil {
		t.Fatal(err)
	}
	if got := messageOf(t, s, q, id).Subject; got != "Your verification code" {
		t.Errorf("project B rendered %q, want the built-in template", got)
	}
}

func TestBadTemplatesAreRefusedWithTheLine(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	ctx := context.Background()
	cases := []struct {
		name string
		tpl  Template
		part string
		line int
	}{
		{"unclosed action", Template{Type: TemplateRecoveryCodeValid, Subject: "x", BodyText: "line 1\nline 2\n{{.RecoveryCode"}, "body_text", 3},
		{"unknown function", Template{Type: TemplateRecoveryCodeValid, Subject: "x", BodyText: "ok", BodyHTML: "<p>\n{{shout .RecoveryCode}}</p>"}, "body_html", 2},
		{"unknown variable", Template{Type: TemplateRecoveryCodeValid, Subject: "{{.Code}}", BodyText: "ok"}, "subject", 1},
		{"unclosed if", Template{Type: TemplateLoginCodeValid, Subject: "x", BodyText: "{{if .LoginCode}}\nyes"}, "body_text", 2},
	}
	for _, c := range cases {
		err := s.SaveTemplate(ctx, p, c.tpl)
		var xe *errx.Error
		if !errors.As(err, &xe) || xe.Code != errx.Invalid || xe.ID != "invalid_template" {
			t.Errorf("%s: SaveTemplate = %v, want an invalid_template error", c.name, err)
			continue
		}
		if xe.Details["part"] != c.part || xe.Details["line"] != c.line {
			t.Errorf("%s: details %v, want part %s line %d (reason %q)", c.name, xe.Details, c.part, c.line, xe.Reason)
		}
	}
	for name, tpl := range map[string]Template{
		"unknown type": {Type: "welcome", Subject: "x", BodyText: "y"},
		"bad locale":   {Type: TemplateGeneric, Locale: "../etc", Subject: "x", BodyText: "y"},
		"empty body":   {Type: TemplateGeneric, Subject: "x"},
		"huge":         {Type: TemplateGeneric, Subject: "x", BodyText: strings.Repeat("a", maxBodyTemplate+1)},
	} {
		if err := s.SaveTemplate(ctx, p, tpl); !errx.Has(err, errx.Invalid) {
			t.Errorf("%s: SaveTemplate = %v, want Invalid", name, err)
		}
	}
	if list, _ := s.Templates(ctx, p); len(list) != 0 {
		t.Errorf("%d templates stored after refusals, want 0", len(list))
	}
}

func TestTemplateFailingAtSendTimeAbandonsWithTheErrorButTheFlowSucceeds(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	ctx := context.Background()
	// Valid for the sample data, fails on a real message without a code
	// (stored directly, as a template saved by an older version would be).
	err := tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO courier_templates (template_type, locale, subject, body_text)
			VALUES ('verification_code_valid', '', 'x', '{{index .TransientPayload.list 3}}')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	to := recipient(t)
	id, err := s.Send(ctx, p, verificationMessage(to))
	if err != nil {
		t.Fatalf("Send = %v; a template error must not fail the flow", err)
	}
	m := messageOf(t, s, p, id)
	if m.Status != StatusAbandoned || len(m.Dispatches) != 1 {
		t.Fatalf("status %s with %d dispatches, want abandoned with the template error", m.Status, len(m.Dispatches))
	}
	var e dispatchError
	_ = json.Unmarshal(m.Dispatches[0].Error, &e)
	if !strings.Contains(e.Message, "body_text template is invalid") {
		t.Errorf("dispatch error %q, want the template error", e.Message)
	}
	if n, _ := outboxRows(t, p); n != 0 {
		t.Errorf("%d outbox rows for an unsendable message, want 0", n)
	}
	startWorker(t, s)
	time.Sleep(300 * time.Millisecond)
	if got := inbox(t, to); len(got) != 0 {
		t.Errorf("an abandoned message was sent")
	}
}

func TestLocaleChain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"de_AT": "de-at|de|", "EN": "en|", "": "", "../x": "", "zh-hant-tw": "zh-hant-tw|zh-hant|zh|"} {
		if got := strings.Join(localeChain(normalizeLocale(in)), "|"); got != want {
			t.Errorf("localeChain(%q) = %q, want %q", in, got, want)
		}
	}
}
