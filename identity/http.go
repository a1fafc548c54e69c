package identity

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Handler makers of the identity admin API and the schema endpoints. Each
// takes the Manager and returns an httpx.Handler; routes_identity.go lists
// the paths.

func binding(c *gin.Context) (*tenant.Binding, error) { return tenant.BindingFrom(c.Request.Context()) }

// actorOf names the API key that authenticated the request.
func actorOf(c *gin.Context) Actor {
	a := Actor{Name: "api_key", IP: c.ClientIP()}
	if k := tenant.APIKeyOf(c.Request.Context()); k != nil {
		a.Name = "api_key:" + k.ID.String()
	}
	return a
}

func pathID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errIdentityNotFound
	}
	return id, nil
}

// render prepares identities for the admin API: schema_url from the
// request's base URL, configs stripped except include_credential types.
func render(b *tenant.Binding, include []string, list ...*Identity) {
	for _, i := range list {
		i.SchemaURL = SchemaURL(b.BaseURL, i.SchemaID)
		i.StripCredentials(include)
	}
}

// ListSchemas answers GET /schemas: [{"id","schema"}].
func ListSchemas(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		list, err := m.Schemas(c.Request.Context(), p)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, list)
		return nil
	}
}

// GetSchema answers GET /schemas/{id} with the raw schema; id is plain or
// base64url.
func GetSchema(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		s, err := m.Schema(c.Request.Context(), p, c.Param("id"))
		if err != nil {
			return err
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", s.Schema)
		return nil
	}
}

// ListIdentities answers GET /admin/identities.
func ListIdentities(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := binding(c)
		if err != nil {
			return err
		}
		q := c.Request.URL.Query()
		lp := ListParams{PageToken: q.Get("page_token"), CredentialsIdentifier: q.Get("credentials_identifier")}
		// Pagination as Kratos chooses it: page_token/page_size win; else
		// page selects the legacy page/per_page mode; else a lone per_page
		// is page_size.
		keyset := q.Has("page_token") || q.Has("page_size")
		legacy := !keyset && q.Has("page")
		sizeParam := "page_size"
		if !keyset && !legacy && q.Has("per_page") {
			sizeParam = "per_page"
		}
		var page, perPage int
		if legacy {
			if page, err = strconv.Atoi(q.Get("page")); err != nil || page < 0 {
				return errx.New(errx.Invalid, "page must be a non-negative integer (pages count from 0).")
			}
			perPage = LegacyDefaultPerPage
			if q.Has("per_page") {
				if perPage, err = strconv.Atoi(q.Get("per_page")); err != nil || perPage < 1 {
					return errx.New(errx.Invalid, "per_page must be a positive integer.")
				}
			}
		} else if s := q.Get(sizeParam); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return errx.Newf(errx.Invalid, "%s must be a positive integer.", sizeParam)
			}
			lp.PageSize = n
		}
		filters := 0
		if q.Has("credentials_identifier") {
			filters++
		}
		if ids := q["ids"]; len(ids) > 0 {
			filters++
			lp.IDs = make([]uuid.UUID, 0, len(ids))
			for _, s := range ids {
				id, err := uuid.Parse(s)
				if err != nil {
					return errx.Newf(errx.Invalid, "ids must be identity ids (UUIDs); %q is not.", s)
				}
				lp.IDs = append(lp.IDs, id)
			}
		}
		for _, unsupported := range []string{"preview_credentials_identifier_similar", "organization_id"} {
			if q.Has(unsupported) {
				return errx.Newf(errx.Invalid, "The %s filter is not supported.", unsupported)
			}
		}
		if filters > 1 {
			return errx.New(errx.Invalid, "Only one filter may be used at a time: ids or credentials_identifier.")
		}
		var list []*Identity
		if legacy {
			var total int64
			perPage = min(perPage, LegacyMaxPerPage)
			if list, total, err = m.ListPage(c.Request.Context(), b.Project, lp, page, perPage); err != nil {
				return err
			}
			c.Header("X-Total-Count", strconv.FormatInt(total, 10))
			c.Header("Link", legacyLinkHeader(b.BaseURL+"/admin/identities", q, page, perPage, total))
		} else {
			var next string
			if list, next, err = m.List(c.Request.Context(), b.Project, lp); err != nil {
				return err
			}
			c.Header("Link", linkHeader(b.BaseURL+"/admin/identities", q, lp.PageSize, next))
		}
		render(b, q["include_credential"], list...)
		if list == nil {
			list = []*Identity{}
		}
		c.JSON(http.StatusOK, list)
		return nil
	}
}

func linkHeader(base string, q url.Values, size int, next string) string {
	if size <= 0 {
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	v := url.Values{}
	for k, vs := range q {
		if k != "page_token" && k != "page_size" && k != "per_page" {
			v[k] = vs
		}
	}
	v.Set("page_size", strconv.Itoa(size))
	links := []string{"<" + base + "?" + v.Encode() + `>; rel="first"`}
	if next != "" {
		v.Set("page_token", next)
		links = append(links, "<"+base+"?"+v.Encode()+`>; rel="next"`)
	}
	return strings.Join(links, ",")
}

// legacyLinkHeader is the Link header of Kratos's legacy page/per_page
// mode: rel first, next, prev and last, each as page (from 0) and per_page,
// with the request's other parameters kept. next is absent on the last
// page, prev on the first, last when there is nothing at all. (Kratos's
// ory/x header omits "first" on the first page and, for an empty list,
// points next and prev at pages 1 and -1; we always give first and never
// a page that cannot exist.)
func legacyLinkHeader(base string, q url.Values, page, perPage int, total int64) string {
	v := url.Values{}
	for k, vs := range q {
		if k != "page" && k != "per_page" && k != "page_token" && k != "page_size" {
			v[k] = vs
		}
	}
	v.Set("per_page", strconv.Itoa(perPage))
	link := func(rel string, p int64) string {
		v.Set("page", strconv.FormatInt(p, 10))
		return "<" + base + "?" + v.Encode() + `>; rel="` + rel + `"`
	}
	last := max((total+int64(perPage)-1)/int64(perPage)-1, 0)
	links := []string{link("first", 0)}
	if int64(page+1)*int64(perPage) < total {
		links = append(links, link("next", int64(page+1)))
	}
	if page > 0 {
		links = append(links, link("prev", min(int64(page-1), last)))
	}
	if total > 0 {
		links = append(links, link("last", last))
	}
	return strings.Join(links, ",")
}

// GetIdentity answers GET /admin/identities/{id}.
func GetIdentity(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := binding(c)
		if err != nil {
			return err
		}
		id, err := pathID(c)
		if err != nil {
			return err
		}
		body, err := m.AdminJSON(c.Request.Context(), b.Project, b.BaseURL, id, c.QueryArray("include_credential"))
		if err != nil {
			return err
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
		return nil
	}
}

// CreateIdentity answers POST /admin/identities: 201 + Location.
func CreateIdentity(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := binding(c)
		if err != nil {
			return err
		}
		var body CreateBody
		if err := httpx.BindJSON(c, &body, true); err != nil {
			return err
		}
		i, err := m.Create(c.Request.Context(), b.Project, body, actorOf(c))
		if err != nil {
			return err
		}
		render(b, nil, i)
		c.Header("Location", b.BaseURL+"/admin/identities/"+i.ID.String())
		c.JSON(http.StatusCreated, i)
		return nil
	}
}

// UpdateIdentity answers PUT /admin/identities/{id}.
func UpdateIdentity(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := binding(c)
		if err != nil {
			return err
		}
		id, err := pathID(c)
		if err != nil {
			return err
		}
		var body UpdateBody
		if err := httpx.BindJSON(c, &body, true); err != nil {
			return err
		}
		i, err := m.Update(c.Request.Context(), b.Project, id, body, actorOf(c))
		if err != nil {
			return err
		}
		render(b, nil, i)
		c.JSON(http.StatusOK, i)
		return nil
	}
}

// PatchIdentity answers PATCH /admin/identities/{id} (RFC 6902).
func PatchIdentity(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		b, err := binding(c)
		if err != nil {
			return err
		}
		id, err := pathID(c)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errx.New(errx.TooLarge, "The request body exceeds the configured limit.")
			}
			return errx.New(errx.Invalid, "The request body could not be read.")
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return errx.New(errx.Invalid, "The request body must be a JSON Patch (RFC 6902) array.")
		}
		i, err := m.Patch(c.Request.Context(), b.Project, id, body, actorOf(c))
		if err != nil {
			return err
		}
		render(b, nil, i)
		c.JSON(http.StatusOK, i)
		return nil
	}
}

// DeleteIdentity answers DELETE /admin/identities/{id} with 204.
func DeleteIdentity(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		id, err := pathID(c)
		if err != nil {
			return err
		}
		if err := m.Delete(c.Request.Context(), p, id, actorOf(c)); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

// DeleteCredentials answers DELETE /admin/identities/{id}/credentials/{type}.
func DeleteCredentials(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		id, err := pathID(c)
		if err != nil {
			return err
		}
		if err := m.DeleteCredential(c.Request.Context(), p, id, c.Param("type"), c.Query("identifier"), actorOf(c)); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

type batchBody struct {
	Identities []BatchItem `json:"identities"`
}

type batchResult struct {
	Action   string               `json:"action"`
	Identity *uuid.UUID           `json:"identity,omitempty"`
	PatchID  *uuid.UUID           `json:"patch_id,omitempty"`
	Error    *httpx.EnvelopeError `json:"error,omitempty"`
}

// BatchPatchIdentities answers PATCH /admin/identities.
func BatchPatchIdentities(m *Manager) httpx.Handler {
	return func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var body batchBody
		if err := httpx.BindJSON(c, &body, true); err != nil {
			return err
		}
		outcomes, err := m.Batch(c.Request.Context(), p, body.Identities, actorOf(c))
		if err != nil {
			return err
		}
		res := make([]batchResult, len(outcomes))
		for k, o := range outcomes {
			res[k] = batchResult{Action: o.Action, Identity: o.Identity, PatchID: o.PatchID}
			if o.Err != nil {
				if errx.CodeOf(o.Err) == errx.Internal {
					httpx.Logger(c).Error("batch item failed", "error", o.Err.Error(), "item", k)
				}
				e := httpx.EnvelopeOf(o.Err, "").Error
				res[k].Error = &e
			}
		}
		c.JSON(http.StatusOK, gin.H{"identities": res})
		return nil
	}
}
