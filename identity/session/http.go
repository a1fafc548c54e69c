package session

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// HeaderSessionToken carries a session token from API clients.
const HeaderSessionToken = "X-Session-Token"

// HeaderIdentityID is set on a successful whoami, as Kratos does.
const HeaderIdentityID = "X-Kratos-Authenticated-Identity-Id"

// errWhoami is the whoami 401: Kratos answers it without an error id.
var errWhoami = errx.New(errx.Unauthorized, "No valid session credentials found in the request.")

// TokenFrom finds the session token of a request, in Kratos's order:
// X-Session-Token, then the session cookie, then Authorization: Bearer.
func TokenFrom(r *http.Request, cookieName string) (token string, fromCookie bool) {
	if t := r.Header.Get(HeaderSessionToken); t != "" {
		return t, false
	}
	if ck, err := r.Cookie(cookieName); err == nil && ck.Value != "" {
		return ck.Value, true
	}
	return tenant.BearerToken(r.Header.Get("Authorization")), false
}

// Cookie is the project's session cookie for token: HttpOnly, SameSite
// Lax, Secure unless the base URL is plain http, host-only, and scoped to
// /p/{slug} when the project is path-routed. Max-Age is the remaining
// lifetime when the config makes it persistent.
func Cookie(cfg Config, baseURL, token string, expires, now time.Time) *http.Cookie {
	ck := &http.Cookie{Name: cfg.CookieName, Value: token, HttpOnly: true, SameSite: http.SameSiteLaxMode, Path: "/"}
	if u, err := url.Parse(baseURL); err == nil {
		ck.Secure = u.Scheme != "http"
		if p := strings.TrimSuffix(u.Path, "/"); p != "" {
			ck.Path = p
		}
	} else {
		ck.Secure = true
	}
	if cfg.CookiePersistent {
		ck.MaxAge = max(int(expires.Sub(now).Seconds()), 1)
		ck.Expires = expires.UTC()
	}
	return ck
}

// ClearCookie is the cookie that removes the session cookie.
func ClearCookie(cfg Config, baseURL string) *http.Cookie {
	ck := Cookie(cfg, baseURL, "", time.Time{}, time.Time{})
	ck.MaxAge, ck.Expires = -1, time.Unix(0, 0)
	return ck
}

// binding returns the project and public base URL of the request.
func binding(c *gin.Context) (*tenant.Project, string, error) {
	b, err := tenant.BindingFrom(c.Request.Context())
	if err != nil {
		return nil, "", err
	}
	return b.Project, b.BaseURL, nil
}

// Whoami serves /sessions/whoami (any method but DELETE).
func Whoami(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		if c.Request.URL.RawQuery != "" && c.Query("tokenize_as") != "" {
			return errx.New(errx.Invalid, "Session tokenization (tokenize_as) is not available for this project.")
		}
		cfg, err := s.Config(c.Request.Context(), p)
		if err != nil {
			return err
		}
		token, fromCookie := TokenFrom(c.Request, cfg.CookieName)
		if token == "" {
			return errWhoami
		}
		r, err := s.Whoami(c.Request.Context(), p, base, token)
		if errx.Has(err, errx.Unauthorized) {
			return errWhoami.Wrap(err)
		}
		if err != nil {
			return err
		}
		if r.Extended && fromCookie {
			http.SetCookie(c.Writer, Cookie(cfg, base, token, r.ExpiresAt, s.now()))
		}
		c.Header(HeaderIdentityID, r.IdentityID)
		c.Data(http.StatusOK, "application/json; charset=utf-8", r.Body)
		return nil
	}
}

// RefreshMine serves POST /sessions/refresh, Lanyard's client-side
// refresh: the current session is extended to now + lifespan within its
// absolute limit and returned like whoami (the cookie is re-issued when the
// token came from it). 401 session_inactive without a usable session; 403
// session_refresh_disabled when the project turned it off.
func RefreshMine(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		cfg, err := s.Config(c.Request.Context(), p)
		if err != nil {
			return err
		}
		token, fromCookie := TokenFrom(c.Request, cfg.CookieName)
		r, err := s.Refresh(c.Request.Context(), p, base, token)
		if err != nil {
			return err
		}
		if fromCookie {
			http.SetCookie(c.Writer, Cookie(cfg, base, token, r.ExpiresAt, s.now()))
		}
		c.Header(HeaderIdentityID, r.IdentityID)
		c.Data(http.StatusOK, "application/json; charset=utf-8", r.Body)
		return nil
	}
}

func (s *Service) tokenOf(c *gin.Context, p *tenant.Project) (string, error) {
	cfg, err := s.Config(c.Request.Context(), p)
	if err != nil {
		return "", err
	}
	token, _ := TokenFrom(c.Request, cfg.CookieName)
	if token == "" {
		return "", errInactive
	}
	return token, nil
}

// ListMine serves GET /sessions.
func ListMine(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, base, err := binding(c)
		if err != nil {
			return err
		}
		pg, legacy, err := parsePage(c)
		if err != nil {
			return err
		}
		token, err := s.tokenOf(c, p)
		if err != nil {
			return err
		}
		l, err := s.ListMine(c.Request.Context(), p, base, token, pg)
		if err != nil {
			return err
		}
		writeList(c, base, l, pg, legacy)
		return nil
	}
}

// RevokeOthers serves DELETE /sessions: 200 {"count": n}.
func RevokeOthers(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, _, err := binding(c)
		if err != nil {
			return err
		}
		token, err := s.tokenOf(c, p)
		if err != nil {
			return err
		}
		n, err := s.RevokeOthers(c.Request.Context(), p, token)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"count": n})
		return nil
	}
}

// RevokeMine serves DELETE /sessions/{id}: 204.
func RevokeMine(s *Service) httpx.Handler {
	return func(c *gin.Context) error {
		p, _, err := binding(c)
		if err != nil {
			return err
		}
		id, err := parseID(c.Param("id"))
		if err != nil {
			return err
		}
		token, err := s.tokenOf(c, p)
		if err != nil {
			return err
		}
		if err := s.RevokeMine(c.Request.Context(), p, token, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
}

func parseID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, errx.Newf(errx.Invalid, "The id %q is not a valid UUID.", truncate(s, 64))
	}
	return id, nil
}

// Page sizes.
const (
	DefaultPageSize = 250
	MaxPageSize     = 1000
)

// parsePage reads page_size/page_token, or the legacy page/per_page.
func parsePage(c *gin.Context) (Page, bool, error) {
	pg := Page{Size: DefaultPageSize}
	num := func(name string, min, max int) (int, bool, error) {
		v := c.Query(name)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return 0, false, errx.Newf(errx.Invalid, "The parameter %s must be an integer between %d and %d.", name, min, max)
		}
		return n, true, nil
	}
	if n, ok, err := num("page_size", 1, MaxPageSize); err != nil {
		return pg, false, err
	} else if ok {
		pg.Size = n
	}
	if t := c.Query("page_token"); t != "" {
		id, err := uuid.Parse(t)
		if err != nil {
			return pg, false, errx.New(errx.Invalid, "The page_token is not valid.")
		}
		pg.After = &id
	}
	perPage, hasPer, err := num("per_page", 1, MaxPageSize)
	if err != nil {
		return pg, false, err
	}
	page, hasPage, err := num("page", 0, 1<<20)
	if err != nil {
		return pg, false, err
	}
	if !hasPer && !hasPage {
		return pg, false, nil
	}
	if pg.After != nil {
		return pg, false, errx.New(errx.Invalid, "Use either page_token/page_size or page/per_page, not both.")
	}
	if hasPer {
		pg.Size = perPage
	}
	pg.Offset = max(page-1, 0) * pg.Size
	return pg, true, nil
}

// writeList writes a page of sessions with Link and X-Total-Count.
func writeList(c *gin.Context, base string, l List, pg Page, legacy bool) {
	origin := base
	if u, err := url.Parse(base); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	self := origin + c.Request.URL.Path
	q := c.Request.URL.Query()
	for _, k := range []string{"page", "per_page", "page_size", "page_token"} {
		q.Del(k)
	}
	link := func(rel string, set map[string]string) string {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		for k, v := range set {
			qq.Set(k, v)
		}
		return "<" + self + "?" + qq.Encode() + `>; rel="` + rel + `"`
	}
	size := strconv.Itoa(pg.Size)
	var links []string
	if legacy {
		page := pg.Offset/pg.Size + 1
		links = append(links, link("first", map[string]string{"page": "1", "per_page": size}))
		if l.More {
			links = append(links, link("next", map[string]string{"page": strconv.Itoa(page + 1), "per_page": size}))
		}
		if page > 1 {
			links = append(links, link("prev", map[string]string{"page": strconv.Itoa(page - 1), "per_page": size}))
		}
	} else {
		links = append(links, link("first", map[string]string{"page_size": size}))
		if l.More && len(l.Sessions) > 0 {
			links = append(links, link("next", map[string]string{"page_size": size, "page_token": l.Sessions[len(l.Sessions)-1].ID.String()}))
		}
	}
	c.Header("Link", strings.Join(links, ","))
	c.Header("X-Total-Count", strconv.Itoa(l.Total))
	c.JSON(http.StatusOK, l.Sessions)
}
