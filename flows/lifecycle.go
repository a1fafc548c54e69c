package flows

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Spec tells the shared lifecycle about one kind of flow.
type Spec struct {
	Kind Kind
	// Populate adds the nodes of the enabled methods to a fresh flow.
	Populate func(ctx context.Context, tx tenant.Tx, r *Request, f *Flow) error
	// Access, when set, replaces the CSRF-cookie check of GET …/flows
	// (settings flows check the session's identity instead).
	Access func(e *Env, f *Flow) error
}

// NewFlowParams describes a flow to create.
type NewFlowParams struct {
	Type     Type
	ReturnTo string
	Session  *session.Session
	// Prepare runs before Populate (e.g. to set refresh or requested_aal).
	Prepare func(f *Flow) error
}

// NewFlow creates, populates and stores a flow in tx. Browser flows get
// the CSRF cookie (set on the response when missing) and are bound to it.
func (d *Deps) NewFlow(ctx context.Context, tx tenant.Tx, e *Env, s Spec, p NewFlowParams) (*Flow, error) {
	f := New(NewParams{Kind: s.Kind, Type: p.Type, BaseURL: e.BaseURL, RequestURL: RequestURL(e.C.Request, e.BaseURL),
		ReturnTo: p.ReturnTo, Lifespan: e.Config.Lifespan(), Now: d.Now()})
	if p.Type == TypeBrowser {
		secret := EnsureCSRF(e.C.Writer, e.C.Request, e.BaseURL)
		f.CSRFHash = CSRFHash(secret)
		AddCSRFNode(f, secret)
	} else {
		AddCSRFNode(f, nil)
	}
	if p.Prepare != nil {
		if err := p.Prepare(f); err != nil {
			return nil, err
		}
	}
	// Before hooks (webhooks, actions) may refuse the flow; there is no
	// form to show yet, so their denial is an error. Their asynchronous
	// deliveries are left to the outbox relay (the caller commits).
	if _, err := d.RunHooks(ctx, tx, e, HookStep{Kind: s.Kind, Point: HookBefore, Flow: f, Session: p.Session}); err != nil {
		return nil, err
	}
	if err := s.Populate(ctx, tx, e.Request(p.Session), f); err != nil {
		return nil, err
	}
	if err := CreateFlow(ctx, tx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// ReturnTo checks the request's return_to against the allow-list.
func (e *Env) ReturnTo() (string, error) {
	return CheckReturnTo(e.C.Query("return_to"), e.BaseURL, e.Config.AllowedReturnURLs)
}

// AfterURL is where a browser goes when f is done: its return_to, else the
// project's default.
func (e *Env) AfterURL(f *Flow) string {
	if f != nil && f.ReturnTo != "" {
		return f.ReturnTo
	}
	return e.Config.ReturnURL(e.BaseURL)
}

// initURL is where a client starts a kind over.
func initURL(e *Env, k Kind, t Type, returnTo string) string {
	u := e.BaseURL + "/self-service/" + string(k) + "/" + string(t)
	if returnTo != "" {
		u += "?" + url.Values{"return_to": {returnTo}}.Encode()
	}
	return u
}

// GetFlow serves GET /self-service/<kind>/flows?id=: 404 for an unknown
// (or another project's) flow, 403 when a browser flow's CSRF cookie is
// not the caller's, 410 when it expired. The CSRF node gets a fresh mask.
func (d *Deps) GetFlow(s Spec) gin.HandlerFunc {
	return d.Wrap(func(c *gin.Context, e *Env) error {
		e.JSON = true // this endpoint always answers JSON
		id, err := ParseFlowID(c.Query("id"))
		if err != nil {
			return err
		}
		var f *Flow
		err = d.DB.InTxOpts(e.Ctx(), e.Project, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
			f, err = GetFlow(e.Ctx(), tx, s.Kind, id, false)
			return err
		})
		if err != nil {
			return err
		}
		check := func(e *Env, f *Flow) error { return CheckFlowCookie(c.Request, e.BaseURL, f) }
		if s.Access != nil {
			check = s.Access
		}
		if err := check(e, f); err != nil {
			return err
		}
		now := d.Now()
		if f.Expired(now) {
			return &ExpiredError{Kind: s.Kind, ExpiredAt: f.ExpiresAt, Since: now.Sub(f.ExpiresAt),
				RedirectTo: initURL(e, s.Kind, f.Type, f.ReturnTo), ReturnTo: f.ReturnTo, API: f.Type == TypeAPI}
		}
		if f.Type == TypeBrowser {
			AddCSRFNode(f, csrfSecret(c.Request, e.BaseURL))
		}
		c.JSON(http.StatusOK, f)
		return nil
	})
}

// Handle is a kind's submit logic, run in the flow's transaction with the
// flow locked. It returns what to answer after the commit, a
// *ValidationError (the flow is re-rendered with it: 400), or an error.
type Handle func(ctx context.Context, tx tenant.Tx, e *Env, f *Flow, b *Body) (respond func(), err error)

// InFlowTx runs fn in a transaction of p holding a tenant.DB nesting
// slot: flow handlers read the current session, hooks and cached settings
// over other connections while their transaction is open. Its settings
// (flow, hook and courier configuration) may come from the process's copy
// (tenant.TxOptions.CachedSettings); flows never write settings.
func (d *Deps) InFlowTx(ctx context.Context, p *tenant.Project, fn func(tx tenant.Tx) error) error {
	return d.inNestingTx(ctx, p, tenant.TxOptions{CachedSettings: true}, fn)
}

// InInitTx is InFlowTx for creating a flow (GET /self-service/<kind>/...):
// its commit does not wait for the WAL flush (tenant.TxOptions.AsyncCommit),
// since a new flow lost in a crash only makes its client start another.
// A before hook that queues a delivery makes it wait after all.
func (d *Deps) InInitTx(ctx context.Context, p *tenant.Project, fn func(tx tenant.Tx) error) error {
	return d.inNestingTx(ctx, p, tenant.TxOptions{CachedSettings: true, AsyncCommit: true}, fn)
}

func (d *Deps) inNestingTx(ctx context.Context, p *tenant.Project, o tenant.TxOptions, fn func(tx tenant.Tx) error) error {
	release, err := d.DB.NestingSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	return d.DB.InTxOpts(ctx, p, o, fn)
}

// Submit serves POST /self-service/<kind>?flow=. It loads and locks the
// flow, replaces an expired one (410 use_flow_id, or a 303 to the new
// flow), refuses browser-looking API submits (400 flow, 4000001), checks
// CSRF on browser flows (403), turns a malformed body into a 400 flow,
// refuses a completed flow (400 flow, "already completed"), and runs
// handle. Strategy writes are rolled back to a savepoint when handle
// returns a *ValidationError, so the flow's new messages still commit.
func (d *Deps) Submit(s Spec, handle Handle) gin.HandlerFunc {
	return d.Wrap(func(c *gin.Context, e *Env) error {
		id, err := ParseFlowID(c.Query("flow"))
		if err != nil {
			return err
		}
		var (
			respond func()
			shown   *Flow
			status  int
			failure error
		)
		ctx := e.Ctx()
		err = d.InFlowTx(ctx, e.Project, func(tx tenant.Tx) error {
			f, err := GetFlow(ctx, tx, s.Kind, id, true)
			if err != nil {
				return err
			}
			now := d.Now()
			if f.Expired(now) {
				nf, err := d.NewFlow(ctx, tx, e, s, NewFlowParams{Type: f.Type, ReturnTo: f.ReturnTo})
				if err != nil {
					return err
				}
				nf.UI.AddMessage(Expired(s.Kind, f.ExpiresAt, now))
				if err := QueueUpdateFlow(tx, nf); err != nil {
					return err
				}
				if f.Type == TypeBrowser && !e.JSON {
					shown, status = nf, http.StatusSeeOther
					return nil
				}
				failure = &ExpiredError{Kind: s.Kind, ExpiredAt: f.ExpiresAt, Since: now.Sub(f.ExpiresAt), UseFlowID: nf.ID,
					RedirectTo: initURL(e, s.Kind, f.Type, f.ReturnTo), ReturnTo: f.ReturnTo, API: f.Type == TypeAPI}
				return nil
			}
			body, msg := DecodeBody(c.Request)
			if f.Type == TypeAPI {
				if m := CheckAPIRequest(c.Request); m != nil {
					msg = m
				}
			} else if err := CheckSubmit(c.Request, e.BaseURL, f, csrfTokenOf(body)); err != nil {
				return err
			}
			if f.Type == TypeBrowser {
				AddCSRFNode(f, csrfSecret(c.Request, e.BaseURL))
			}
			if msg == nil && (f.State == StatePassedChallenge || f.State == StateSuccess && s.Kind != KindSettings) {
				msg = RetrySuccess(s.Kind)
			}
			if msg != nil {
				NewValidationError(msg).Apply(f)
				shown, status = f, http.StatusBadRequest
				return QueueUpdateFlow(tx, f)
			}
			f.Active = body.Method
			f.Touch(now)
			tx.Queue(`SAVEPOINT flow_strategy`)
			respond, err = handle(ctx, tx, e, f, body)
			var ve *ValidationError
			if errors.As(err, &ve) {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT flow_strategy`); err != nil {
					return err
				}
				ve.Apply(f)
				shown, status = f, http.StatusBadRequest
				return QueueUpdateFlow(tx, f)
			}
			if err != nil {
				return err
			}
			return QueueUpdateFlow(tx, f)
		})
		if err != nil {
			return err
		}
		if failure != nil {
			return failure
		}
		if shown != nil {
			d.Show(e, shown, status)
			return nil
		}
		if respond == nil {
			return errx.New(errx.Internal, "").Wrap(errors.New("flows: submit handler answered nothing"))
		}
		respond()
		return nil
	})
}

func csrfTokenOf(b *Body) string {
	if b == nil {
		return ""
	}
	return b.CSRFToken
}
