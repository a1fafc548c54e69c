package code

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Body is a submit of verification or recovery (code or link method).
type Body struct {
	Method string `json:"method"`
	Email  string `json:"email"`
	Code   string `json:"code"`
	Token  string `json:"token"`
}

// ParseBody reads a submit; the code or link token may also come from
// ?code= / ?token= (the links in the mails).
func ParseBody(e *flows.Env, b *flows.Body) Body {
	var out Body
	_ = json.Unmarshal(b.Raw, &out)
	if out.Code == "" {
		out.Code = e.C.Query("code")
	}
	if out.Token == "" {
		out.Token = e.C.Query("token")
	}
	switch {
	case out.Method == "" && out.Code != "":
		out.Method = ID
	case out.Method == "" && out.Token != "":
		out.Method = flows.MethodLink
	}
	return out
}

// PopulateEmail adds the "enter your address" step: an email input and the
// submit of the code method.
func PopulateEmail(_ context.Context, _ tenant.Tx, _ *flows.Request, f *flows.Flow) error {
	f.UI.RemoveGroup(flows.GroupCode)
	em := flows.NewInput(flows.GroupCode, "email", flows.InputEmail, nil, flows.Message(flows.InfoNodeLabelEmail))
	em.Input().Required, em.Input().Autocomplete = true, "email"
	f.UI.Add(em, flows.NewSubmit(flows.GroupCode, ID, flows.Message(flows.InfoNodeLabelSubmit)))
	// Kratos names the method of a recovery or verification flow from its
	// creation on ("active": "code"); Ory Elements throws "Unknown form
	// state" on a flow without it.
	f.Active = ID
	return nil
}

// ShowCodeForm turns f into the "enter the code" step: the code input
// (labelled label), the submit, and a resend button carrying the address.
func ShowCodeForm(f *flows.Flow, address string, label int) {
	f.UI.RemoveGroup(flows.GroupCode)
	in := flows.NewInput(flows.GroupCode, "code", flows.InputText, nil, flows.Message(label))
	in.Input().Required, in.Input().Pattern, in.Input().Autocomplete = true, "[0-9]+", "one-time-code"
	hidden := flows.NewInput(flows.GroupCode, "method", flows.InputHidden, ID, nil)
	resend := flows.NewInput(flows.GroupCode, "email", flows.InputSubmit, address, flows.Message(flows.InfoNodeLabelResendCode))
	f.UI.Add(in, hidden, flows.NewSubmit(flows.GroupCode, ID, flows.Message(flows.InfoNodeLabelSubmit)), resend)
	f.State, f.Active = flows.StateSentEmail, ID
}

// Limits of code entry that flows/config.go has no default for.
var (
	// LimitFlow bounds code submits per flow (besides MaxAttempts per code).
	LimitFlow = ratelimit.Limit{Rate: 10, Period: 10 * time.Minute, Burst: 10}
	// LimitIP bounds code submits per client address.
	LimitIP = ratelimit.Limit{Rate: 30, Period: time.Minute, Burst: 30}
)

// Limit checks a rate limit: the project's configured limit for scope,
// else def (else the flows default). Redis failures fail open, as
// flows.Deps.Limit does.
func Limit(d *flows.Deps, e *flows.Env, scope, value string, def ratelimit.Limit, what string) error {
	if d.Limiter == nil || value == "" {
		return nil
	}
	lim, ok := e.Config.Limits[scope]
	if !ok || !lim.Valid() {
		lim = def
	}
	if !lim.Valid() {
		lim = e.Config.Limit(scope)
	}
	res, err := d.Limiter.Allow(e.Ctx(), e.Project.ID, scope, value, lim)
	if err != nil {
		httpx.Logger(e.C).Warn("rate limit check failed; allowing", "scope", scope, "error", err.Error())
		return nil
	}
	if !res.Allowed {
		return ratelimit.Error(res, what)
	}
	return nil
}

// internalBind marks a browser flow created without a browser (after a
// registration that rotates the CSRF cookie, or by the admin API): the
// first browser that opens it binds it to its CSRF cookie.
const internalBind = "lanyard_bind_csrf"

// MarkUnbound leaves a browser flow unbound until its first use.
func MarkUnbound(f *flows.Flow) {
	if f.Internal == nil {
		f.Internal = map[string]json.RawMessage{}
	}
	f.Internal[internalBind] = json.RawMessage(`true`)
	f.CSRFHash = nil
	flows.AddCSRFNode(f, nil)
}

// BindOnFirstUse wraps a GET …/flows or submit handler of kind k: an
// unbound browser flow (MarkUnbound) named by ?id= or ?flow= is bound to
// the caller's CSRF cookie (set when missing) before next runs.
func BindOnFirstUse(d *flows.Deps, k flows.Kind, next gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := c.Query("id")
		if raw == "" {
			raw = c.Query("flow")
		}
		id, err := flows.ParseFlowID(raw)
		b, berr := tenant.BindingFrom(c.Request.Context())
		if err != nil || berr != nil {
			next(c)
			return
		}
		ctx := c.Request.Context()
		unbound := false
		_ = d.DB.InTxOpts(ctx, b.Project, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
			f, err := flows.GetFlow(ctx, tx, k, id, false)
			unbound = err == nil && f.Type == flows.TypeBrowser && f.Internal[internalBind] != nil
			return err
		})
		if !unbound {
			next(c)
			return
		}
		_ = d.DB.InTx(ctx, b.Project, func(tx tenant.Tx) error {
			f, err := flows.GetFlow(ctx, tx, k, id, true)
			if err != nil || f.Type != flows.TypeBrowser || f.Internal[internalBind] == nil {
				return err
			}
			secret := flows.EnsureCSRF(c.Writer, c.Request, b.BaseURL)
			if _, err := c.Request.Cookie(flows.CSRFCookieName(b.BaseURL)); err != nil {
				// the cookie was just set on the response: let this request carry it too
				c.Request.AddCookie(&http.Cookie{Name: flows.CSRFCookieName(b.BaseURL), Value: cookieValue(c.Writer, b.BaseURL)})
			}
			delete(f.Internal, internalBind)
			f.CSRFHash = flows.CSRFHash(secret)
			return flows.UpdateFlow(ctx, tx, f)
		})
		next(c)
	}
}

// cookieValue reads back the CSRF cookie value EnsureCSRF set on w.
func cookieValue(w http.ResponseWriter, baseURL string) string {
	name := flows.CSRFCookieName(baseURL)
	for _, sc := range w.Header().Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(sc); err == nil && ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
