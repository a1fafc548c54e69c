package flows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Deps are what the flow handlers (flows/login, flows/registration, ...)
// need. Build one and pass it to their handler makers.
type Deps struct {
	DB         *tenant.DB
	Sessions   *session.Service
	Identities *identity.Manager
	Limiter    *ratelimit.Limiter
	Methods    Methods
	Log        *slog.Logger
	// Hooks runs the project's webhooks and JavaScript actions (nil: none).
	Hooks HookRunner
	// Clock is the time source (tests); time.Now when nil.
	Clock func() time.Time
	// Usage counts monthly active users and enforces the plan's
	// registration cap (nil: neither).
	Usage UsageMeter
}

// Now is the clock of the flow handlers.
func (d *Deps) Now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

// Env is one flow request, bound to its project.
type Env struct {
	C       *gin.Context
	Project *tenant.Project
	BaseURL string
	Config  Config
	// JSON is set when the client negotiated JSON (else browser redirects).
	JSON bool
}

// Ctx is the request context.
func (e *Env) Ctx() context.Context { return e.C.Request.Context() }

// Env binds a request.
func (d *Deps) Env(c *gin.Context) (*Env, error) {
	b, err := tenant.BindingFrom(c.Request.Context())
	if err != nil {
		return nil, err
	}
	e := &Env{C: c, Project: b.Project, BaseURL: b.BaseURL, JSON: IsJSONRequest(c.Request)}
	// The project's configuration may lag a change made by another
	// process by a few seconds (tenant.SettingsTTL); when this process
	// holds it, the read costs no round trip.
	err = d.DB.InTxOpts(c.Request.Context(), b.Project, tenant.TxOptions{ReadOnly: true, CachedSettings: true}, func(tx tenant.Tx) (err error) {
		e.Config, err = LoadConfig(c.Request.Context(), tx)
		return err
	})
	return e, err
}

// Request is the strategy view of e.
func (e *Env) Request(sess *session.Session) *Request {
	return &Request{HTTP: e.C.Request, Project: e.Project, BaseURL: e.BaseURL, Session: sess, Config: e.Config}
}

// SessionToken returns the session token a flow of type t accepts: the
// cookie for browser flows, X-Session-Token (or Bearer) for API flows.
func (d *Deps) SessionToken(e *Env, t Type) (string, error) {
	cfg, err := d.Sessions.Config(e.Ctx(), e.Project)
	if err != nil {
		return "", err
	}
	if t == TypeBrowser {
		if ck, err := e.C.Request.Cookie(cfg.CookieName); err == nil {
			return ck.Value, nil
		}
		return "", nil
	}
	if tok := e.C.GetHeader(session.HeaderSessionToken); tok != "" {
		return tok, nil
	}
	return tenant.BearerToken(e.C.GetHeader("Authorization")), nil
}

// CurrentSession returns the caller's usable session for a flow of type t,
// nil when there is none.
func (d *Deps) CurrentSession(e *Env, t Type) (*session.Session, string, error) {
	tok, err := d.SessionToken(e, t)
	if err != nil || tok == "" {
		return nil, "", err
	}
	s, err := d.Sessions.Current(e.Ctx(), e.Project, e.BaseURL, tok)
	if errx.Has(err, errx.Unauthorized) {
		return nil, "", nil
	}
	return s, tok, err
}

// ErrSessionAlreadyAvailable is the 400 of a login, registration or
// recovery while signed in.
var ErrSessionAlreadyAvailable = errx.New(errx.Invalid, "A valid session was detected and thus this action is not allowed.").WithID("session_already_available")

// Show answers with a flow: JSON with status, or a 303 to the flow's UI.
func (d *Deps) Show(e *Env, f *Flow, status int) {
	e.C.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
	if e.JSON || f.Type == TypeAPI {
		e.C.JSON(status, f)
		return
	}
	e.C.Redirect(http.StatusSeeOther, withQuery(e.Config.UIURL(string(f.Kind), e.BaseURL), "flow", f.ID.String()))
}

// Redirect sends a browser on (303), or for JSON clients answers 200 with
// a continue_with redirect_browser_to.
func (d *Deps) Redirect(e *Env, to string) {
	if e.JSON {
		e.C.JSON(http.StatusOK, gin.H{"continue_with": []ContinueWith{{Action: ActionRedirectBrowserTo, RedirectBrowserTo: to}}})
		return
	}
	e.C.Redirect(http.StatusSeeOther, to)
}

func withQuery(u, k, v string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.Query()
	q.Set(k, v)
	pu.RawQuery = q.Encode()
	return pu.String()
}

// Fail answers an error: JSON clients and API flows get the JSON body;
// browsers are sent to the error UI with the stored error's id.
func (d *Deps) Fail(c *gin.Context, e *Env, err error) {
	if e == nil || e.JSON || errx.CodeOf(err) == errx.TooMany {
		WriteError(c, err)
		return
	}
	var loc *LocationChangeError
	if errors.As(err, &loc) {
		c.Redirect(http.StatusSeeOther, loc.RedirectBrowserTo)
		return
	}
	var red *RedirectError
	if errors.As(err, &red) {
		c.Redirect(http.StatusSeeOther, red.RedirectBrowserTo)
		return
	}
	id, serr := Errors{DB: d.DB}.Save(e.Ctx(), e.Project, err, httpx.RequestID(c))
	if serr != nil {
		WriteError(c, err)
		return
	}
	if httpx.StatusOf(err) >= 500 {
		httpx.Logger(c).Error("flow failed", "error", err.Error(), "error_id", id.String())
	}
	c.Redirect(http.StatusSeeOther, withQuery(e.Config.UIURL("error", e.BaseURL), "id", id.String()))
}

// Wrap adapts a flow handler: its error goes through Fail.
func (d *Deps) Wrap(h func(c *gin.Context, e *Env) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		e, err := d.Env(c)
		if err != nil {
			WriteError(c, err)
			return
		}
		if err := h(c, e); err != nil {
			if e.C.Writer.Written() {
				return
			}
			if status, ok := retryAfter(err); ok {
				c.Header("Retry-After", status)
			}
			d.Fail(c, e, err)
		}
	}
}

func retryAfter(err error) (string, bool) {
	var xe *errx.Error
	if errors.As(err, &xe) && xe.Code == errx.TooMany {
		if s, ok := xe.Details["retry_after_seconds"].(int); ok {
			return fmt.Sprint(s), true
		}
	}
	return "", false
}

// Limit checks a rate limit scope for value; errx.TooMany when exceeded.
// Redis failures fail open with a log line (availability of sign-in wins
// over brute-force protection for the seconds Redis is away).
func (d *Deps) Limit(e *Env, scope, value, what string) error {
	if d.Limiter == nil || value == "" {
		return nil
	}
	res, err := d.Limiter.Allow(e.Ctx(), e.Project.ID, scope, value, e.Config.Limit(scope))
	if err != nil {
		httpx.Logger(e.C).Warn("rate limit check failed; allowing", "scope", scope, "error", err.Error())
		return nil
	}
	if !res.Allowed {
		return ratelimit.Error(res, what)
	}
	return nil
}

// ClientIP is the address rate limits and devices use.
func ClientIP(c *gin.Context) string { return c.ClientIP() }
