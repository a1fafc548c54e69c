// Package login is the login flow (Kratos §3.2): browser and API init,
// GET of a flow, and submit through the enabled login strategies.
package login

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/verification"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Spec is the login kind for the shared lifecycle.
func Spec(d *flows.Deps) flows.Spec {
	return flows.Spec{Kind: flows.KindLogin, Populate: func(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
		for _, s := range d.Methods.Login {
			if err := s.PopulateLogin(ctx, tx, r, f); err != nil {
				return err
			}
		}
		return nil
	}}
}

var (
	errAAL1Required = errx.New(errx.Unauthorized, "You must be logged in already to request a second factor (aal2).").WithID("session_aal1_required")
	errAALFulfilled = errx.New(errx.Unauthorized, "The session already satisfies the highest authenticator assurance level available to this identity.").WithID("session_aal_already_fulfilled")
	errBadAAL       = errx.New(errx.Invalid, "The aal parameter must be aal1 or aal2.")
	errMismatch     = errx.New(errx.Forbidden, "The identity that signed in is not the identity of the session being refreshed.").WithID("security_identity_mismatch")
)

// Init serves GET /self-service/login/{browser,api}.
func Init(d *flows.Deps, t flows.Type) gin.HandlerFunc {
	spec := Spec(d)
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		if t == flows.TypeAPI {
			e.JSON = true
		}
		returnTo, err := e.ReturnTo()
		if err != nil {
			return err
		}
		refresh := c.Query("refresh") == "true"
		aal := c.Query("aal")
		if aal != "" && aal != session.AAL1 && aal != session.AAL2 {
			return errBadAAL
		}
		sess, _, err := d.CurrentSession(e, t)
		if err != nil {
			return err
		}
		if aal == session.AAL2 {
			if sess == nil {
				return errAAL1Required
			}
			if len(d.Methods.Login) == 0 || !hasSecondFactor(d) {
				return errAALFulfilled
			}
		}
		if sess != nil && !refresh && aal != session.AAL2 {
			if t == flows.TypeBrowser && !e.JSON {
				c.Redirect(http.StatusSeeOther, e.AfterURL(&flows.Flow{ReturnTo: returnTo}))
				return nil
			}
			return flows.ErrSessionAlreadyAvailable
		}
		var f *flows.Flow
		err = d.InInitTx(e.Ctx(), e.Project, func(tx tenant.Tx) (err error) {
			f, err = d.NewFlow(e.Ctx(), tx, e, spec, flows.NewFlowParams{Type: t, ReturnTo: returnTo, Session: sess,
				Prepare: func(f *flows.Flow) error {
					if aal != "" {
						f.RequestedAAL = aal
					}
					if refresh && sess != nil {
						yes := true
						f.Refresh, f.IdentityID = &yes, &sess.IdentityID
						f.UI.AddMessage(flows.Message(flows.InfoLoginReAuth))
					}
					if aal == session.AAL2 {
						f.UI.AddMessage(flows.Message(flows.InfoLoginMFA))
					}
					return nil
				}})
			return err
		})
		if err != nil {
			return err
		}
		d.Show(e, f, http.StatusOK)
		return nil
	})
}

// hasSecondFactor reports whether any enabled login method is a second
// factor (none yet: totp, lookup_secret and webauthn arrive later).
func hasSecondFactor(d *flows.Deps) bool {
	for _, s := range d.Methods.Login {
		if sf, ok := s.(interface{ SecondFactor() bool }); ok && sf.SecondFactor() {
			return true
		}
	}
	return false
}

// Get serves GET /self-service/login/flows?id=.
func Get(d *flows.Deps) gin.HandlerFunc { return d.GetFlow(Spec(d)) }

// Submit serves POST /self-service/login?flow=.
func Submit(d *flows.Deps) gin.HandlerFunc {
	spec := Spec(d)
	return d.Submit(spec, func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, b *flows.Body) (func(), error) {
		sess, _, err := d.CurrentSession(e, f.Type)
		if err != nil {
			return nil, err
		}
		refresh := f.Refresh != nil && *f.Refresh
		if sess != nil && !refresh && f.RequestedAAL != session.AAL2 {
			return nil, flows.ErrSessionAlreadyAvailable
		}
		strategy := d.Methods.LoginMethod(b.Method)
		if strategy == nil {
			return nil, flows.NewValidationError(flows.NoStrategy(flows.KindLogin))
		}
		ident := strings.ToLower(strings.TrimSpace(flows.BodyField(b.Raw, "identifier")))
		if err := d.Limit(e, "login:ip", flows.ClientIP(e.C), "login attempts"); err != nil {
			return nil, err
		}
		if err := d.Limit(e, "login:identifier", ident, "login attempts for this account"); err != nil {
			return nil, err
		}
		r := e.Request(sess)
		r.Body, r.Method = b.Raw, b.Method
		res, err := strategy.Login(ctx, tx, r, f)
		if err != nil {
			return nil, err
		}
		if refresh && sess != nil && res.IdentityID != sess.IdentityID {
			return nil, errMismatch
		}
		if e.Config.Login.RequireVerifiedAddress {
			if err := verification.RequireVerifiedAddress(ctx, tx, res.IdentityID); err != nil {
				return nil, err
			}
		}
		if d.Limiter != nil && ident != "" {
			_ = d.Limiter.Reset(ctx, e.Project.ID, "login:identifier", ident)
		}
		hr, err := d.RunHooks(ctx, tx, e, flows.HookStep{Kind: flows.KindLogin, Point: flows.HookAfter, Method: b.Method,
			Flow: f, IdentityID: &res.IdentityID})
		if err != nil {
			return nil, err
		}
		if err := hr.Apply(ctx, tx); err != nil {
			return nil, err
		}
		var is *session.Issued
		if res.Identity != nil && !hr.ChangesIdentity {
			is, err = d.IssueSessionFor(ctx, tx, e, res.Identity, res.Method)
		} else {
			is, err = d.IssueSession(ctx, tx, e, res.IdentityID, res.Method)
		}
		if err != nil {
			return nil, err
		}
		if refresh && sess != nil {
			if err := d.Sessions.EndTx(ctx, tx, sess); err != nil {
				return nil, err
			}
		}
		f.State = flows.StatePassedChallenge
		return func() { hr.After(); respond(d, e, f, is) }, nil
	})
}

func respond(d *flows.Deps, e *flows.Env, f *flows.Flow, is *session.Issued) {
	if f.Type == flows.TypeAPI {
		e.C.JSON(http.StatusOK, gin.H{"session_token": is.Token, "session": is.Session, "continue_with": nil})
		return
	}
	if err := d.SetSessionCookie(e, is); err != nil {
		flows.WriteError(e.C, err)
		return
	}
	to := e.AfterURL(f)
	if e.JSON {
		e.C.JSON(http.StatusOK, gin.H{"session": is.Session,
			"continue_with": []flows.ContinueWith{{Action: flows.ActionRedirectBrowserTo, RedirectBrowserTo: to}}})
		return
	}
	e.C.Redirect(http.StatusSeeOther, to)
}
