// Package registration is the registration flow (Kratos §3.3): browser and
// API init, GET of a flow, and submit through the enabled registration
// strategies. A session is issued right after registration (the session
// hook is on by default for every project).
package registration

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Spec is the registration kind for the shared lifecycle.
func Spec(d *flows.Deps) flows.Spec {
	return flows.Spec{Kind: flows.KindRegistration, Populate: func(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
		for _, s := range d.Methods.Registration {
			if err := s.PopulateRegistration(ctx, tx, r, f); err != nil {
				return err
			}
		}
		return nil
	}}
}

var errDisabled = errx.New(errx.Invalid, "Registration is not allowed because it was disabled.").WithID("self_service_flow_disabled")

// Init serves GET /self-service/registration/{browser,api}.
func Init(d *flows.Deps, t flows.Type) gin.HandlerFunc {
	spec := Spec(d)
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		if t == flows.TypeAPI {
			e.JSON = true
		}
		if !e.Config.RegistrationEnabled {
			return errDisabled
		}
		returnTo, err := e.ReturnTo()
		if err != nil {
			return err
		}
		if t == flows.TypeBrowser { // the API init does not check for a session; its submit does
			sess, _, err := d.CurrentSession(e, t)
			if err != nil {
				return err
			}
			if sess != nil {
				if !e.JSON {
					c.Redirect(http.StatusSeeOther, e.AfterURL(&flows.Flow{ReturnTo: returnTo}))
					return nil
				}
				return flows.ErrSessionAlreadyAvailable
			}
		}
		var f *flows.Flow
		err = d.InInitTx(e.Ctx(), e.Project, func(tx tenant.Tx) (err error) {
			f, err = d.NewFlow(e.Ctx(), tx, e, spec, flows.NewFlowParams{Type: t, ReturnTo: returnTo})
			return err
		})
		if err != nil {
			return err
		}
		d.Show(e, f, http.StatusOK)
		return nil
	})
}

// Get serves GET /self-service/registration/flows?id=.
func Get(d *flows.Deps) gin.HandlerFunc { return d.GetFlow(Spec(d)) }

// Hooks are the after-registration hooks that run before the session is
// issued, in the registration's transaction.
type Hooks struct {
	// Verification (Kratos' "verification" hook, run first) starts the
	// verification of the new identity's addresses. Its continue_with
	// items are appended to the answer; after, when not nil, runs after
	// the commit (e.g. to relay the mail it enqueued). It gets the new
	// identity as the hooks left it, and updates its addresses' status as
	// it updates them in tx.
	Verification func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, i *identity.Identity) (cw []flows.ContinueWith, after func(), err error)
}

// Submit serves POST /self-service/registration?flow=.
func Submit(d *flows.Deps) gin.HandlerFunc { return SubmitWith(d, Hooks{}) }

// SubmitWith is Submit with after-registration hooks.
func SubmitWith(d *flows.Deps, hooks Hooks) gin.HandlerFunc {
	spec := Spec(d)
	return d.Submit(spec, func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, b *flows.Body) (func(), error) {
		if !e.Config.RegistrationEnabled {
			return nil, errDisabled
		}
		if err := d.AllowRegistration(e); err != nil {
			return nil, err
		}
		sess, _, err := d.CurrentSession(e, f.Type)
		if err != nil {
			return nil, err
		}
		if sess != nil {
			return nil, flows.ErrSessionAlreadyAvailable
		}
		strategy := d.Methods.RegistrationMethod(b.Method)
		if strategy == nil {
			return nil, flows.NewValidationError(flows.NoStrategy(flows.KindRegistration))
		}
		if err := d.Limit(e, "registration:ip", flows.ClientIP(e.C), "sign-ups"); err != nil {
			return nil, err
		}
		r := e.Request(nil)
		r.Body, r.Method = b.Raw, b.Method
		res, err := strategy.Register(ctx, tx, r, f)
		if err != nil {
			return nil, err
		}
		// Webhooks and actions see the new identity before the flow commits;
		// a denial rolls it back, their changes are written in this tx.
		hr, err := d.RunHooks(ctx, tx, e, flows.HookStep{Kind: flows.KindRegistration, Point: flows.HookAfter, Method: b.Method,
			Flow: f, IdentityID: &res.IdentityID})
		if err != nil {
			return nil, err
		}
		if err := hr.Apply(ctx, tx); err != nil {
			return nil, err
		}
		// The identity as the hooks left it, for the verification hook
		// and for the answer: as created, unless a hook changed it.
		i := res.Identity
		if i == nil || hr.ChangesIdentity {
			if i, err = d.Identities.GetTx(ctx, tx, res.IdentityID); err != nil {
				return nil, err
			}
		}
		var (
			more  []flows.ContinueWith
			after func()
		)
		if hooks.Verification != nil {
			if more, after, err = hooks.Verification(ctx, tx, e, f, i); err != nil {
				return nil, err
			}
		}
		if hr.NoSession { // the project removed the session hook
			ident, err := identity.PublicJSON(i, e.BaseURL)
			if err != nil {
				return nil, err
			}
			f.State = flows.StatePassedChallenge
			return func() {
				hr.After()
				if after != nil {
					after()
				}
				respondWithoutSession(e, f, ident, more)
			}, nil
		}
		is, err := d.IssueSessionFor(ctx, tx, e, i, res.Method)
		if err != nil {
			return nil, err
		}
		f.State = flows.StatePassedChallenge
		return func() {
			hr.After()
			if after != nil {
				after()
			}
			respond(d, e, f, is, more)
		}, nil
	})
}

func respond(d *flows.Deps, e *flows.Env, f *flows.Flow, is *session.Issued, more []flows.ContinueWith) {
	if f.Type == flows.TypeAPI {
		e.C.JSON(http.StatusOK, gin.H{"session_token": is.Token, "session": is.Session, "identity": is.Session.Identity,
			"continue_with": append([]flows.ContinueWith{{Action: flows.ActionSetOrySessionToken, OrySessionToken: is.Token}}, more...)})
		return
	}
	if err := d.SetSessionCookie(e, is); err != nil {
		flows.WriteError(e.C, err)
		return
	}
	to := e.AfterURL(f)
	if e.JSON {
		e.C.JSON(http.StatusOK, gin.H{"session": is.Session, "identity": is.Session.Identity,
			"continue_with": append([]flows.ContinueWith{{Action: flows.ActionRedirectBrowserTo, RedirectBrowserTo: to}}, more...)})
		return
	}
	e.C.Redirect(http.StatusSeeOther, to)
}

// respondWithoutSession answers a registration when the project's hooks
// have no session hook (Kratos: identity and continue_with, no session).
func respondWithoutSession(e *flows.Env, f *flows.Flow, ident json.RawMessage, more []flows.ContinueWith) {
	to := e.AfterURL(f)
	if f.Type == flows.TypeBrowser && !e.JSON {
		e.C.Redirect(http.StatusSeeOther, to)
		return
	}
	cw := append([]flows.ContinueWith{}, more...)
	if f.Type == flows.TypeBrowser {
		cw = append([]flows.ContinueWith{{Action: flows.ActionRedirectBrowserTo, RedirectBrowserTo: to}}, cw...)
	}
	e.C.JSON(http.StatusOK, gin.H{"identity": ident, "continue_with": cw})
}
