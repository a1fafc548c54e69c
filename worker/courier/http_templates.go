package courier

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// DefaultLocale names the default language ("" in a Template) in a path:
// /admin/courier/templates/{type}/default. It is not a language tag, so it
// cannot collide with one.
const DefaultLocale = "default"

// TemplateSource is the text of a template: what a project saves, and what
// the built-in default of a type is.
type TemplateSource struct {
	Subject  string `json:"subject"`
	BodyText string `json:"body_text"`
	BodyHTML string `json:"body_html"`
}

// TemplateTypeInfo describes one template type in the admin listing: the
// built-in default and the locales the project overrides ("" = default
// language).
type TemplateTypeInfo struct {
	Type       TemplateType   `json:"template_type"`
	Overridden bool           `json:"overridden"`
	Locales    []string       `json:"locales"`
	Default    TemplateSource `json:"default"`
}

// TemplateList is the answer of GET /admin/courier/templates.
type TemplateList struct {
	Templates []Template         `json:"templates"`
	Types     []TemplateTypeInfo `json:"types"`
}

// builtinSource returns the text of the built-in template of tt.
func builtinSource(tt TemplateType) TemplateSource {
	read := func(name string) string {
		b, _ := builtinFS.ReadFile("templates/" + string(tt) + "/" + name)
		return string(b)
	}
	return TemplateSource{Subject: read("subject.txt"), BodyText: read("body.txt"), BodyHTML: read("body.html")}
}

// templateTypeParam is the :type path parameter, or a 404 for a type that
// does not exist.
func templateTypeParam(c *gin.Context) (TemplateType, error) {
	tt := TemplateType(c.Param("type"))
	if !tt.Known() {
		return "", errx.Newf(errx.NotFound, "There is no email template type %q.", string(tt)).WithID("template_type_not_found")
	}
	return tt, nil
}

// localeParam is the :locale path parameter as stored ("default" → "").
func localeParam(c *gin.Context) string {
	l := strings.ToLower(strings.TrimSpace(c.Param("locale")))
	if l == DefaultLocale {
		return ""
	}
	return l
}

// ListTemplates answers GET /admin/courier/templates (Lanyard): the
// project's template overrides, and every template type with its built-in
// default and whether the project overrides it.
func ListTemplates(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		ts, err := s.Templates(c.Request.Context(), p)
		if err != nil {
			return err
		}
		out := TemplateList{Templates: ts, Types: make([]TemplateTypeInfo, 0, len(TemplateTypes))}
		if out.Templates == nil {
			out.Templates = []Template{}
		}
		for _, tt := range TemplateTypes {
			info := TemplateTypeInfo{Type: tt, Locales: []string{}, Default: builtinSource(tt)}
			for _, t := range ts {
				if t.Type == tt {
					info.Overridden = true
					info.Locales = append(info.Locales, t.Locale)
				}
			}
			out.Types = append(out.Types, info)
		}
		c.JSON(http.StatusOK, out)
		return nil
	}
}

// PutTemplate answers PUT /admin/courier/templates/{type}/{locale}
// (Lanyard): it validates the template and stores it as the project's
// override (200 with the stored template). A bad template is 400
// invalid_template naming the part (details.part, details.line) and
// nothing is saved; an unknown type is 404.
func PutTemplate(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		tt, err := templateTypeParam(c)
		if err != nil {
			return err
		}
		var src TemplateSource
		if err := httpx.BindJSON(c, &src, true); err != nil {
			return err
		}
		t := Template{Type: tt, Locale: localeParam(c), Subject: src.Subject, BodyText: src.BodyText, BodyHTML: src.BodyHTML}
		if err := s.SaveTemplate(c.Request.Context(), p, t); err != nil {
			return err
		}
		ts, err := s.Templates(c.Request.Context(), p)
		if err != nil {
			return err
		}
		for _, saved := range ts {
			if saved.Type == t.Type && saved.Locale == t.Locale {
				c.JSON(http.StatusOK, saved)
				return nil
			}
		}
		return errx.New(errx.Internal, "The saved template could not be read back.")
	}
}

// DeleteTemplate answers DELETE /admin/courier/templates/{type}/{locale}
// (Lanyard): the override is removed and the built-in template applies
// again (204); 404 when the project has no such override or the type does
// not exist.
func DeleteTemplate(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		tt, err := templateTypeParam(c)
		if err != nil {
			return err
		}
		if err := s.DeleteTemplate(c.Request.Context(), p, tt, localeParam(c)); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

// previewBody is the body of a preview: a locale, and optionally an unsaved
// template to render instead of the stored or built-in one.
type previewBody struct {
	Locale   string  `json:"locale"`
	Subject  *string `json:"subject"`
	BodyText *string `json:"body_text"`
	BodyHTML *string `json:"body_html"`
}

// PreviewResult is a rendered template.
type PreviewResult struct {
	Subject  string `json:"subject"`
	BodyText string `json:"body_text"`
	BodyHTML string `json:"body_html"`
}

// PreviewTemplate answers POST /admin/courier/templates/{type}/preview
// (Lanyard): it renders, with sample data, the template in the body when
// one is given (nothing is saved), else the project's override for the
// locale or the built-in template. A bad template is 400 invalid_template;
// an unknown type is 404.
func PreviewTemplate(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		tt, err := templateTypeParam(c)
		if err != nil {
			return err
		}
		var b previewBody
		if c.Request.ContentLength != 0 {
			if err := httpx.BindJSON(c, &b, true); err != nil {
				return err
			}
		}
		data := sampleData()
		if p.Name != "" {
			data.ProjectName = p.Name
		}
		if b.Subject == nil && b.BodyText == nil && b.BodyHTML == nil {
			subject, text, html, err := s.Preview(c.Request.Context(), p, tt, b.Locale, *data)
			if err != nil {
				return err
			}
			c.JSON(http.StatusOK, PreviewResult{Subject: subject, BodyText: text, BodyHTML: html})
			return nil
		}
		deref := func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		}
		t := Template{Type: tt, Subject: deref(b.Subject), BodyText: deref(b.BodyText), BodyHTML: deref(b.BodyHTML)}
		if err := ValidateTemplate(t); err != nil {
			return err
		}
		comp, err := compile(t)
		if err != nil {
			return err
		}
		r, err := comp.execute(data)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, PreviewResult{Subject: r.Subject, BodyText: r.Text, BodyHTML: r.HTML})
		return nil
	}
}
