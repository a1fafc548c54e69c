// Package logout is the logout flow (Kratos §3.7): a browser gets a logout
// URL for its session and follows it; a native app revokes its token.
package logout

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

var (
	errNoSession = errx.New(errx.Unauthorized, "No active session was found in this request.").WithID("session_inactive")
	errNoToken   = errx.New(errx.Invalid, "The logout token is missing.")
)

// CreateBrowser serves GET /self-service/logout/browser: 200
// {logout_token, logout_url} for the session cookie's session, 401
// without one.
func CreateBrowser(d *flows.Deps) gin.HandlerFunc {
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		e.JSON = true
		returnTo, err := e.ReturnTo()
		if err != nil {
			return err
		}
		tok, err := d.SessionToken(e, flows.TypeBrowser)
		if err != nil {
			return err
		}
		if tok == "" {
			return errNoSession
		}
		if _, err := d.Sessions.Current(e.Ctx(), e.Project, e.BaseURL, tok); err != nil {
			return err
		}
		lt := session.LogoutTokenFor(tok)
		q := url.Values{"token": {lt}}
		if returnTo != "" {
			q.Set("return_to", returnTo)
		}
		c.JSON(http.StatusOK, gin.H{"logout_token": lt, "logout_url": e.BaseURL + "/self-service/logout?" + q.Encode()})
		return nil
	})
}

// Update serves GET /self-service/logout?token=[&return_to=]: it ends the
// session, clears the session cookie and rotates CSRF; JSON gets 204, a
// browser a 303 to return_to or the default URL.
func Update(d *flows.Deps) gin.HandlerFunc {
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		returnTo, err := e.ReturnTo()
		if err != nil {
			return err
		}
		tok := c.Query("token")
		if tok == "" {
			return errNoToken
		}
		if err := d.Sessions.RevokeLogoutToken(e.Ctx(), e.Project, tok); err != nil {
			return err
		}
		cfg, err := d.Sessions.Config(e.Ctx(), e.Project)
		if err != nil {
			return err
		}
		http.SetCookie(c.Writer, session.ClearCookie(cfg, e.BaseURL))
		flows.RotateCSRF(c.Writer, e.BaseURL)
		if e.JSON {
			c.Status(http.StatusNoContent)
			return nil
		}
		c.Redirect(http.StatusSeeOther, e.AfterURL(&flows.Flow{ReturnTo: returnTo}))
		return nil
	})
}

// PerformNative serves DELETE /self-service/logout/api {"session_token"}:
// 204, 400 for a malformed body, 403 for a token that names no session.
func PerformNative(d *flows.Deps) gin.HandlerFunc {
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		e.JSON = true
		var body struct {
			SessionToken string `json:"session_token"`
		}
		if err := httpx.BindJSON(c, &body, false); err != nil {
			return err
		}
		if body.SessionToken == "" {
			return errx.New(errx.Invalid, "The session_token field is missing.")
		}
		err := d.Sessions.RevokeToken(e.Ctx(), e.Project, body.SessionToken)
		if errx.Has(err, errx.NotFound) {
			return errx.New(errx.Forbidden, "The session token is not valid.").WithID("session_inactive").Wrap(err)
		}
		if err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
