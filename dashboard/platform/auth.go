package platform

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

type principalKey struct{}

// principalOf returns the caller that Authenticate found.
func principalOf(c *gin.Context) (*Principal, error) {
	p, ok := c.Request.Context().Value(principalKey{}).(*Principal)
	if !ok || p == nil {
		return nil, errUnauthorized
	}
	return p, nil
}

// Authenticate is the middleware of /api/v1: the request carries a
// workspace access token (Authorization: Bearer lanyard_wt_...) or a
// session of the console project (its session cookie, X-Session-Token or
// Authorization: Bearer <session token>). Anything else is 401.
func (a *API) Authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := a.authenticate(c)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, p))
		if p.Kind == KindAccount {
			httpx.SetLogAttrs(c, "account_id", p.AccountID.String())
		} else {
			httpx.SetLogAttrs(c, "workspace_token_id", p.TokenID.String())
		}
		c.Next()
	}
}

func (a *API) authenticate(c *gin.Context) (*Principal, error) {
	ctx := c.Request.Context()
	if bearer := tenant.BearerToken(c.GetHeader("Authorization")); strings.HasPrefix(bearer, TokenPrefix) {
		t, err := a.st.tokenByHash(ctx, hashSecret(bearer))
		if err != nil {
			return nil, err
		}
		return &Principal{Kind: KindToken, TokenID: t.ID, TokenName: t.Name, TokenWorkspace: t.WorkspaceID, TokenRole: t.Role}, nil
	}
	console, err := a.o.Registry.BySlug(ctx, a.o.ConsoleSlug)
	if err != nil {
		if errx.Has(err, errx.NotFound) {
			return nil, errx.New(errx.Unavailable, "The console project is not set up yet; run the migrations.").Wrap(err)
		}
		return nil, err
	}
	cfg, err := a.o.Sessions.Config(ctx, console)
	if err != nil {
		return nil, err
	}
	token, fromCookie := session.TokenFrom(c.Request, cfg.CookieName)
	if token == "" {
		return nil, errUnauthorized
	}
	if fromCookie && !safeMethod(c.Request.Method) {
		// The cookie is SameSite=Lax, which still lets sibling hosts of
		// the same site send it; a browser names the page's origin on
		// every such request, and only the dashboard's is accepted.
		if o := c.GetHeader("Origin"); o != "" && o != a.origin {
			return nil, errx.New(errx.Forbidden, "Cross-origin requests may not use the dashboard session cookie.").WithID("security_csrf_violation")
		}
	}
	res, err := a.o.Sessions.Whoami(ctx, console, a.o.ProjectURL(console.Slug), token)
	if errx.Has(err, errx.Unauthorized) {
		return nil, errUnauthorized.Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	var who struct {
		Identity struct {
			ID     uuid.UUID `json:"id"`
			Traits struct {
				Email string `json:"email"`
			} `json:"traits"`
			VerifiableAddresses []struct {
				Value    string `json:"value"`
				Verified bool   `json:"verified"`
			} `json:"verifiable_addresses"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(res.Body, &who); err != nil || who.Identity.ID == uuid.Nil {
		return nil, errx.New(errx.Internal, "platform: unreadable console session").Wrap(err)
	}
	p := &Principal{Kind: KindAccount, AccountID: who.Identity.ID, Email: strings.ToLower(who.Identity.Traits.Email)}
	for _, v := range who.Identity.VerifiableAddresses {
		if strings.EqualFold(v.Value, p.Email) && v.Verified {
			p.Verified = true
		}
	}
	if p.Email == "" {
		return nil, errx.New(errx.Forbidden, "This account has no email address; the dashboard needs one.").WithID("account_without_email")
	}
	if err := a.st.ensureAccount(ctx, p.AccountID, p.Email); err != nil {
		return nil, err
	}
	return p, nil
}

// access returns the caller's role in workspace ws, read from Postgres on
// every call. A workspace the caller is not part of is errWorkspaceNotFound.
func (a *API) access(ctx context.Context, p *Principal, ws uuid.UUID) (Role, error) {
	if p.Kind == KindToken {
		if p.TokenWorkspace != ws {
			return "", errWorkspaceNotFound
		}
		return p.TokenRole, nil
	}
	return a.st.role(ctx, ws, p.AccountID)
}

// need checks that the caller has at least role min in ws.
func (a *API) need(ctx context.Context, p *Principal, ws uuid.UUID, min Role) (Role, error) {
	r, err := a.access(ctx, p, ws)
	if err != nil {
		return "", err
	}
	if !r.AtLeast(min) {
		return r, errRole(min)
	}
	return r, nil
}

// project loads an active project and checks the caller's role in its
// workspace. A project of a workspace the caller is not part of is
// errProjectNotFound, like one that does not exist.
func (a *API) project(c *gin.Context, min Role) (*Principal, *tenant.Project, error) {
	p, err := principalOf(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := uuid.Parse(c.Param("project"))
	if err != nil {
		return nil, nil, errProjectNotFound
	}
	pr, err := a.o.Registry.ByID(c.Request.Context(), id)
	if err != nil && !errx.Has(err, errx.NotFound) {
		return nil, nil, err
	}
	if err != nil || pr.State != tenant.StateActive || pr.Slug == a.o.ConsoleSlug {
		return nil, nil, errProjectNotFound
	}
	if _, err := a.need(c.Request.Context(), p, pr.WorkspaceID, min); err != nil {
		if errx.Has(err, errx.NotFound) {
			return nil, nil, errProjectNotFound
		}
		return nil, nil, err
	}
	return p, pr, nil
}

// workspaceParam parses the :workspace parameter and checks the caller's
// role in it.
func (a *API) workspace(c *gin.Context, min Role) (*Principal, uuid.UUID, Role, error) {
	p, err := principalOf(c)
	if err != nil {
		return nil, uuid.Nil, "", err
	}
	ws, err := uuid.Parse(c.Param("workspace"))
	if err != nil {
		return nil, uuid.Nil, "", errWorkspaceNotFound
	}
	r, err := a.need(c.Request.Context(), p, ws, min)
	if err != nil {
		return nil, uuid.Nil, "", err
	}
	return p, ws, r, nil
}

func info(c *gin.Context) requestInfo {
	ua := c.GetHeader("User-Agent")
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return requestInfo{IP: c.ClientIP(), UserAgent: ua}
}

func safeMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }
