// Package settings is the settings flow (Kratos §3.4): a signed-in
// identity changes its traits (profile) and credentials (password, ...).
// Changes to credentials, identifier traits or addresses need a recent
// login (the privileged session window, 15 minutes by default), else 403
// session_refresh_required pointing at a refresh login.
package settings

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

var (
	errNoSession = errx.New(errx.Unauthorized, "No active session was found in this request.").WithID("session_inactive")
	errMismatch  = errx.New(errx.Forbidden, "The settings flow belongs to another identity.").WithID("security_identity_mismatch")
	errRefresh   = errx.New(errx.Forbidden, "The login session is too old and thus not allowed to update these fields. Please re-authenticate.").WithID("session_refresh_required")
)

// Spec is the settings kind for the shared lifecycle.
func Spec(d *flows.Deps) flows.Spec {
	return flows.Spec{
		Kind: flows.KindSettings,
		Populate: func(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
			for _, s := range d.Methods.Settings {
				if err := s.PopulateSettings(ctx, tx, r, f); err != nil {
					return err
				}
			}
			return nil
		},
		Access: func(e *flows.Env, f *flows.Flow) error {
			_, err := owner(d, e, f)
			return err
		},
	}
}

// owner returns the caller's session when it belongs to f's identity.
func owner(d *flows.Deps, e *flows.Env, f *flows.Flow) (*session.Session, error) {
	sess, _, err := d.CurrentSession(e, f.Type)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		return nil, errNoSession
	}
	if f.IdentityID == nil || *f.IdentityID != sess.IdentityID {
		return nil, errMismatch
	}
	return sess, nil
}

// Init serves GET /self-service/settings/{browser,api}.
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
		sess, _, err := d.CurrentSession(e, t)
		if err != nil {
			return err
		}
		if sess == nil {
			if t == flows.TypeBrowser && !e.JSON {
				c.Redirect(http.StatusSeeOther, e.BaseURL+"/self-service/login/browser")
				return nil
			}
			return errNoSession
		}
		var f *flows.Flow
		err = d.InInitTx(e.Ctx(), e.Project, func(tx tenant.Tx) (err error) {
			f, err = d.NewFlow(e.Ctx(), tx, e, spec, flows.NewFlowParams{Type: t, ReturnTo: returnTo, Session: sess,
				Prepare: func(f *flows.Flow) error {
					f.IdentityID, f.Identity = &sess.IdentityID, sess.Identity
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

// Get serves GET /self-service/settings/flows?id=.
func Get(d *flows.Deps) gin.HandlerFunc { return d.GetFlow(Spec(d)) }

// Submit serves POST /self-service/settings?flow=.
func Submit(d *flows.Deps) gin.HandlerFunc {
	spec := Spec(d)
	return d.Submit(spec, func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, b *flows.Body) (func(), error) {
		sess, err := owner(d, e, f)
		if err != nil {
			return nil, err
		}
		strategy := d.Methods.SettingsMethod(b.Method)
		if strategy == nil {
			return nil, flows.NewValidationError(flows.NoStrategy(flows.KindSettings))
		}
		r := e.Request(sess)
		r.Body, r.Method = b.Raw, b.Method
		res, err := strategy.Settings(ctx, tx, r, f)
		if err != nil {
			return nil, err
		}
		if res.Privileged && d.Now().Sub(sess.AuthenticatedAt) > e.Config.PrivilegedMaxAge() {
			back := e.Config.UIURL(string(flows.KindSettings), e.BaseURL) + "?" + url.Values{"flow": {f.ID.String()}}.Encode()
			to := e.BaseURL + "/self-service/login/browser?" + url.Values{"refresh": {"true"}, "return_to": {back}}.Encode()
			return nil, &flows.RedirectError{Err: errRefresh, RedirectBrowserTo: to}
		}
		hr, err := d.RunHooks(ctx, tx, e, flows.HookStep{Kind: flows.KindSettings, Point: flows.HookAfter, Method: b.Method,
			Flow: f, IdentityID: &sess.IdentityID, Session: sess})
		if err != nil {
			return nil, err
		}
		if err := res.Apply(ctx); err != nil {
			return nil, err
		}
		if err := hr.Apply(ctx, tx); err != nil {
			return nil, err
		}
		f.State = flows.StateSuccess
		f.UI.ResetMessages()
		if err := spec.Populate(ctx, tx, r, f); err != nil {
			return nil, err
		}
		f.UI.AddMessage(flows.Message(flows.InfoSettingsSaved))
		if f.Identity, err = d.Identities.PublicIdentity(ctx, tx, sess.IdentityID, e.BaseURL); err != nil {
			return nil, err
		}
		return func() {
			hr.After()
			// Where a browser goes next: the flow's return_to, else the
			// settings UI with this flow (Kratos' default settings return).
			to := f.ReturnTo
			if to == "" {
				to = e.Config.UIURL(string(flows.KindSettings), e.BaseURL) + "?" + url.Values{"flow": {f.ID.String()}}.Encode()
			}
			if f.Type == flows.TypeBrowser && !e.JSON {
				e.C.Redirect(http.StatusSeeOther, to)
				return
			}
			if f.Type == flows.TypeBrowser {
				// As Kratos: a browser JSON client always gets the redirect
				// as continue_with (transient: set after the flow is stored).
				f.ContinueWith = append(f.ContinueWith, flows.ContinueWith{Action: flows.ActionRedirectBrowserTo, RedirectBrowserTo: to})
			}
			e.C.JSON(http.StatusOK, f)
		}, nil
	})
}
