package courier

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/mailtemplate"
	"github.com/lanyard-id/lanyard/tenant"
)

// TemplateType names what a message is for (Kratos template types).
type TemplateType string

// Template types. Generic carries a caller's own subject and body.
const (
	TemplateVerificationCodeValid   TemplateType = "verification_code_valid"
	TemplateVerificationCodeInvalid TemplateType = "verification_code_invalid"
	TemplateVerificationValid       TemplateType = "verification_valid"
	TemplateVerificationInvalid     TemplateType = "verification_invalid"
	TemplateRecoveryCodeValid       TemplateType = "recovery_code_valid"
	TemplateRecoveryCodeInvalid     TemplateType = "recovery_code_invalid"
	TemplateRecoveryValid           TemplateType = "recovery_valid"
	TemplateRecoveryInvalid         TemplateType = "recovery_invalid"
	TemplateLoginCodeValid          TemplateType = "login_code_valid"
	TemplateRegistrationCodeValid   TemplateType = "registration_code_valid"
	TemplateGeneric                 TemplateType = "generic"
)

// TemplateTypes lists every template type.
var TemplateTypes = []TemplateType{
	TemplateVerificationCodeValid, TemplateVerificationCodeInvalid, TemplateVerificationValid, TemplateVerificationInvalid,
	TemplateRecoveryCodeValid, TemplateRecoveryCodeInvalid, TemplateRecoveryValid, TemplateRecoveryInvalid,
	TemplateLoginCodeValid, TemplateRegistrationCodeValid, TemplateGeneric,
}

// Known reports whether t is a template type.
func (t TemplateType) Known() bool {
	for _, k := range TemplateTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Data are the variables templates see, with the Kratos names so that
// Kratos templates carry over:
//
//	{{.To}}                 recipient address (every type)
//	{{.ProjectName}}        the project's name, when the caller sets it
//	{{.VerificationCode}}   verification_code_valid
//	{{.VerificationURL}}    verification_valid, and verification_code_valid when a link is offered
//	{{.RecoveryCode}}       recovery_code_valid
//	{{.RecoveryURL}}        recovery_valid
//	{{.LoginCode}}          login_code_valid
//	{{.RegistrationCode}}   registration_code_valid
//	{{.Identity}}           the identity as the admin API shows it (map: .Identity.id, .Identity.traits.email)
//	{{.Traits}}             registration_code_valid: the traits being registered (map)
//	{{.RequestURL}}         the URL of the flow that caused the message
//	{{.ExpiresInMinutes}}   how long a code or link is valid
//	{{.TransientPayload}}   the flow's transient_payload (map)
//	{{.Subject}} {{.Body}}  generic: the caller's subject and text
//
// Templates use Go template syntax (internal/mailtemplate: if, else, range,
// with, variables, pipelines, and the functions and, or, not, eq, ne, lt,
// le, gt, ge, len, index, print, printf, println, html, urlquery, upper,
// lower, trim, default). In the HTML body every printed value is
// HTML-escaped. A variable that is not listed above is an error when the
// template is saved; a missing trait prints as nothing.
//
// Codes and URLs are not kept in the stored template data (only in the
// rendered body, which production mode redacts in the admin API).
type Data struct {
	To               string         `json:"to"`
	ProjectName      string         `json:"project_name,omitempty"`
	VerificationCode string         `json:"verification_code,omitempty"`
	VerificationURL  string         `json:"verification_url,omitempty"`
	RecoveryCode     string         `json:"recovery_code,omitempty"`
	RecoveryURL      string         `json:"recovery_url,omitempty"`
	LoginCode        string         `json:"login_code,omitempty"`
	RegistrationCode string         `json:"registration_code,omitempty"`
	Identity         map[string]any `json:"identity,omitempty"`
	Traits           map[string]any `json:"traits,omitempty"`
	RequestURL       string         `json:"request_url,omitempty"`
	ExpiresInMinutes int            `json:"expires_in_minutes,omitempty"`
	TransientPayload map[string]any `json:"transient_payload,omitempty"`
	Subject          string         `json:"subject,omitempty"`
	Body             string         `json:"body,omitempty"`
}

// vars are d as template variables. Maps pass through JSON so that
// templates only ever see plain values (strings, float64 numbers,
// booleans, lists and maps), whatever Go types the caller put in them.
func (d *Data) vars() mailtemplate.Vars {
	return mailtemplate.Vars{
		"To":               d.To,
		"ProjectName":      d.ProjectName,
		"VerificationCode": d.VerificationCode,
		"VerificationURL":  d.VerificationURL,
		"RecoveryCode":     d.RecoveryCode,
		"RecoveryURL":      d.RecoveryURL,
		"LoginCode":        d.LoginCode,
		"RegistrationCode": d.RegistrationCode,
		"Identity":         plainMap(d.Identity),
		"Traits":           plainMap(d.Traits),
		"RequestURL":       d.RequestURL,
		"ExpiresInMinutes": d.ExpiresInMinutes,
		"TransientPayload": plainMap(d.TransientPayload),
		"Subject":          d.Subject,
		"Body":             d.Body,
	}
}

func plainMap(m map[string]any) any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// stored returns d without its secrets, as kept in template_data.
func (d Data) stored() Data {
	d.VerificationCode, d.VerificationURL, d.RecoveryCode, d.RecoveryURL = "", "", "", ""
	d.LoginCode, d.RegistrationCode = "", ""
	return d
}

// traitLocale is traits.locale of the identity (or of the registration).
func (d *Data) traitLocale() string {
	for _, traits := range []any{d.Identity["traits"], d.Traits} {
		if m, ok := traits.(map[string]any); ok {
			if s, ok := m["locale"].(string); ok {
				return s
			}
		}
	}
	return ""
}

var localeRE = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})*$`)

// normalizeLocale turns "de_DE" into "de-de"; anything that is not a
// language tag becomes "" (the default language).
func normalizeLocale(s string) string {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
	if len(s) > 35 || !localeRE.MatchString(s) {
		return ""
	}
	return s
}

// localeChain is the lookup order for locale: "de-at" → de-at, de, "".
func localeChain(locale string) []string {
	var out []string
	for l := locale; l != ""; {
		out = append(out, l)
		i := strings.LastIndexByte(l, '-')
		if i < 0 {
			break
		}
		l = l[:i]
	}
	return append(out, "")
}

// Template is a project's override of one template type in one locale.
type Template struct {
	Type      TemplateType `json:"template_type"`
	Locale    string       `json:"locale"` // "" = default language
	Subject   string       `json:"subject"`
	BodyText  string       `json:"body_text"`
	BodyHTML  string       `json:"body_html"` // "" = text-only mail
	UpdatedAt time.Time    `json:"updated_at"`
}

// compiled is a parsed template.
type compiled struct {
	subject *mailtemplate.Template
	text    *mailtemplate.Template
	html    *mailtemplate.Template // nil: text only
}

type rendered struct {
	Subject, Text, HTML string
}

//go:embed templates
var builtinFS embed.FS

// builtins are the default (English) templates, parsed once.
var builtins = func() map[TemplateType]*compiled {
	out := map[TemplateType]*compiled{}
	for _, t := range TemplateTypes {
		read := func(name string) string {
			b, err := builtinFS.ReadFile("templates/" + string(t) + "/" + name)
			if err != nil {
				panic(err)
			}
			return string(b)
		}
		c, err := compile(Template{Type: t, Subject: read("subject.txt"), BodyText: read("body.txt"), BodyHTML: read("body.html")})
		if err != nil {
			panic(err)
		}
		out[t] = c
	}
	return out
}()

// Limits of a template override.
const (
	maxSubjectTemplate = 1 << 10
	maxBodyTemplate    = 64 << 10
)

var lineRE = regexp.MustCompile(`^template: [^:]+:(\d+):`)

// templateError is the errx.Invalid answer to a bad template part.
func templateError(part string, err error) error {
	msg := err.Error()
	d := map[string]any{"part": part}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		d["line"] = n
		msg = fmt.Sprintf("line %d: %s", n, strings.TrimSpace(msg[len(m[0]):]))
	}
	return errx.Newf(errx.Invalid, "The %s template is invalid: %s", part, msg).WithID("invalid_template").WithDetails(d)
}

func compile(t Template) (*compiled, error) {
	var c compiled
	var err error
	if c.subject, err = mailtemplate.Parse("subject", t.Subject, false); err != nil {
		return nil, templateError("subject", err)
	}
	if c.text, err = mailtemplate.Parse("body_text", t.BodyText, false); err != nil {
		return nil, templateError("body_text", err)
	}
	if strings.TrimSpace(t.BodyHTML) != "" {
		if c.html, err = mailtemplate.Parse("body_html", t.BodyHTML, true); err != nil {
			return nil, templateError("body_html", err)
		}
	}
	return &c, nil
}

func (c *compiled) execute(d *Data) (rendered, error) {
	var r rendered
	vars := d.vars()
	subject, err := c.subject.Execute(vars)
	if err != nil {
		return r, templateError("subject", err)
	}
	// A subject is one line: newlines would be header injection.
	r.Subject = strings.Join(strings.Fields(subject), " ")
	if r.Text, err = c.text.Execute(vars); err != nil {
		return r, templateError("body_text", err)
	}
	if c.html != nil {
		if r.HTML, err = c.html.Execute(vars); err != nil {
			return r, templateError("body_html", err)
		}
	}
	return r, nil
}

// sampleData fills every variable, so that validation catches templates
// that name a variable that does not exist or misuse one.
func sampleData() *Data {
	return &Data{
		To: "someone@example.com", ProjectName: "Example", VerificationCode: "123456",
		VerificationURL: "https://example.com/verify", RecoveryCode: "123456", RecoveryURL: "https://example.com/recover",
		LoginCode: "123456", RegistrationCode: "123456",
		Identity:   map[string]any{"id": "00000000-0000-0000-0000-000000000000", "traits": map[string]any{"email": "someone@example.com", "locale": "en"}},
		Traits:     map[string]any{"email": "someone@example.com"},
		RequestURL: "https://example.com/self-service/verification?flow=x", ExpiresInMinutes: 10,
		TransientPayload: map[string]any{}, Subject: "Subject", Body: "Body",
	}
}

// ValidateTemplate parses t and renders it with sample data; a failure is
// errx.Invalid naming the part and the line.
func ValidateTemplate(t Template) error {
	if !t.Type.Known() {
		return errx.Newf(errx.Invalid, "Unknown template type %q.", t.Type)
	}
	if t.Locale != normalizeLocale(t.Locale) {
		return errx.Newf(errx.Invalid, "The locale %q is not a language tag such as \"de\" or \"pt-br\".", t.Locale)
	}
	if strings.TrimSpace(t.Subject) == "" || strings.TrimSpace(t.BodyText) == "" {
		return errx.New(errx.Invalid, "A template needs a subject and a text body.")
	}
	if len(t.Subject) > maxSubjectTemplate || len(t.BodyText) > maxBodyTemplate || len(t.BodyHTML) > maxBodyTemplate {
		return errx.Newf(errx.Invalid, "A template part is too long (subject: %d bytes, bodies: %d bytes at most).", maxSubjectTemplate, maxBodyTemplate)
	}
	c, err := compile(t)
	if err != nil {
		return err
	}
	_, err = c.execute(sampleData())
	return err
}

// render picks the project's override for tt in the most specific locale
// of the chain, else the built-in template, and executes it.
func render(ctx context.Context, tx tenant.Tx, tt TemplateType, locale string, d *Data) (rendered, error) {
	all, err := projectOverrides(ctx, tx)
	if err != nil {
		return rendered{}, fmt.Errorf("courier: load template: %w", err)
	}
	c := builtins[tt]
	for _, l := range localeChain(locale) {
		if i := indexOverride(all, tt, l); i >= 0 {
			if c, err = compile(all[i]); err != nil {
				return rendered{}, err
			}
			break
		}
	}
	return c.execute(d)
}

// overrides is the process's copy of each project's template overrides
// (every code and link mail reads them); SaveTemplate and DeleteTemplate
// drop it, and another process's change is seen within
// tenant.SettingsTTL.
var overrides = tenant.NewCopies[[]Template](tenant.SettingsTTL)

func projectOverrides(ctx context.Context, tx tenant.Tx) ([]Template, error) {
	read := func() ([]Template, error) {
		rows, err := tx.Query(ctx, `SELECT template_type, locale, subject, body_text, body_html FROM courier_templates`)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Template, error) {
			var t Template
			return t, r.Scan(&t.Type, &t.Locale, &t.Subject, &t.BodyText, &t.BodyHTML)
		})
	}
	p := tx.Project()
	if p == nil {
		return read()
	}
	return overrides.Load(p.ID, read)
}

func indexOverride(ts []Template, tt TemplateType, l string) int {
	for i, t := range ts {
		if t.Type == tt && t.Locale == l {
			return i
		}
	}
	return -1
}

// SaveTemplate validates t and stores it as the project's override for its
// type and locale, replacing any previous one.
func (s *Service) SaveTemplate(ctx context.Context, p *tenant.Project, t Template) error {
	t.Locale = strings.ToLower(strings.TrimSpace(t.Locale))
	if err := ValidateTemplate(t); err != nil {
		return err
	}
	err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO courier_templates (template_type, locale, subject, body_text, body_html)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (template_type, locale) DO UPDATE
			SET subject = excluded.subject, body_text = excluded.body_text, body_html = excluded.body_html, updated_at = now()`,
			string(t.Type), t.Locale, t.Subject, t.BodyText, t.BodyHTML)
		overrides.DropAt(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("courier.SaveTemplate: %w", err)
	}
	return nil
}

// Templates lists the project's overrides.
func (s *Service) Templates(ctx context.Context, p *tenant.Project) ([]Template, error) {
	var out []Template
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
		rows, err := tx.Query(ctx, `SELECT template_type, locale, subject, body_text, body_html, updated_at
			FROM courier_templates ORDER BY template_type, locale`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Template, error) {
			var t Template
			return t, r.Scan(&t.Type, &t.Locale, &t.Subject, &t.BodyText, &t.BodyHTML, &t.UpdatedAt)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("courier.Templates: %w", err)
	}
	return out, nil
}

// ErrTemplateNotFound answers the removal of an override that is not there.
var ErrTemplateNotFound = errx.New(errx.NotFound, "The project has no template of this type and locale.")

// DeleteTemplate removes an override; the built-in template applies again.
func (s *Service) DeleteTemplate(ctx context.Context, p *tenant.Project, tt TemplateType, locale string) error {
	err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM courier_templates WHERE template_type = $1 AND locale = $2`, string(tt), strings.ToLower(locale))
		overrides.DropAt(tx)
		if err == nil && tag.RowsAffected() == 0 {
			return ErrTemplateNotFound
		}
		return err
	})
	if err != nil && !errors.Is(err, ErrTemplateNotFound) {
		return fmt.Errorf("courier.DeleteTemplate: %w", err)
	}
	return err
}

// Preview renders template type tt for the project as a message to data.To
// would be rendered now (the dashboard's preview).
func (s *Service) Preview(ctx context.Context, p *tenant.Project, tt TemplateType, locale string, data Data) (subject, text, html string, err error) {
	if !tt.Known() {
		return "", "", "", errx.Newf(errx.Invalid, "Unknown template type %q.", tt)
	}
	var r rendered
	err = s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		r, err = render(ctx, tx, tt, normalizeLocale(locale), &data)
		return err
	})
	return r.Subject, r.Text, r.HTML, err
}
