// Package recovery is the recovery flow (Kratos §3.5) with the code
// method (a 6-digit code by mail, flows/strategy/code) or the link method
// (a mailed link carrying a 256-bit token, flows/strategy/link), as the
// project's recovery.use says. The right code or link issues a privileged
// session and a settings flow in which the identity sets a new password;
// the identity's other sessions are revoked unless the project turned
// recovery.revoke_active_sessions off. The answer, and the work done, are
// the same whether or not the address belongs to an account.
// AdminCreateCode is POST /admin/recovery/code, AdminCreateLink POST
// /admin/recovery/link.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/settings"
	"github.com/lanyard-id/lanyard/flows/strategy/code"
	"github.com/lanyard-id/lanyard/flows/strategy/link"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// MethodCodeRecovery is the session authentication method of a recovery.
const MethodCodeRecovery = "code_recovery"

// Handler serves the recovery flow.
type Handler struct {
	D       *flows.Deps
	Courier *courier.Service
	Codes   *code.Codes
	// SecondFactor is the MFA hook point: it runs after a right code and
	// before the session is issued. Once second factors exist it must
	// refuse (or redirect to an aal2 login) an identity that has one, so
	// that recovery never bypasses MFA. Nil means no identity has a
	// second factor yet.
	SecondFactor func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, identityID uuid.UUID) error
}

// Spec is the recovery kind for the shared lifecycle.
func (h *Handler) Spec() flows.Spec {
	return flows.Spec{Kind: flows.KindRecovery, Populate: populate}
}

// populate adds the address step of the project's method.
func populate(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
	if flows.MethodOf(r.Config.Recovery.Use) == link.ID {
		return link.PopulateEmail(ctx, tx, r, f)
	}
	return code.PopulateEmail(ctx, tx, r, f)
}

// RevokeActiveSessions is the revoke_active_sessions hook: it ends every
// session of the identity, in tx. Recovery runs it before issuing the
// recovery session when the project's recovery.revoke_active_sessions is
// on (the default), so whoever held the account loses it.
func RevokeActiveSessions(ctx context.Context, tx tenant.Tx, sessions *session.Service, identityID uuid.UUID) error {
	if err := sessions.RevokeIdentitySessions(ctx, tx, identityID); err != nil {
		return fmt.Errorf("recovery.RevokeActiveSessions: %w", err)
	}
	return nil
}

// Init serves GET /self-service/recovery/{browser,api}.
func (h *Handler) Init(t flows.Type) gin.HandlerFunc {
	d := h.D
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
		if sess != nil {
			if t == flows.TypeBrowser && !e.JSON {
				c.Redirect(http.StatusSeeOther, e.AfterURL(&flows.Flow{ReturnTo: returnTo}))
				return nil
			}
			return flows.ErrSessionAlreadyAvailable
		}
		var f *flows.Flow
		err = d.InInitTx(e.Ctx(), e.Project, func(tx tenant.Tx) (err error) {
			f, err = d.NewFlow(e.Ctx(), tx, e, h.Spec(), flows.NewFlowParams{Type: t, ReturnTo: returnTo})
			return err
		})
		if err != nil {
			return err
		}
		d.Show(e, f, http.StatusOK)
		return nil
	})
}

// Get serves GET /self-service/recovery/flows?id=.
func (h *Handler) Get() gin.HandlerFunc {
	return code.BindOnFirstUse(h.D, flows.KindRecovery, h.D.GetFlow(h.Spec()))
}

// Submit serves POST /self-service/recovery?flow=, and GET with ?token=
// (the mailed link, which needs no CSRF token: the token is the secret).
func (h *Handler) Submit() gin.HandlerFunc {
	form := h.submitForm()
	viaLink := h.D.Wrap(func(c *gin.Context, e *flows.Env) error { return h.viaLink(c, e, form) })
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodGet && c.Query("token") != "" {
			viaLink(c)
			return
		}
		form(c)
	}
}

// viaLink uses the token of a mailed (or admin) link. An expired flow goes
// through the shared lifecycle (a replacement flow); a completed one is
// shown again.
func (h *Handler) viaLink(c *gin.Context, e *flows.Env, form gin.HandlerFunc) error {
	d := h.D
	id, err := flows.ParseFlowID(c.Query("flow"))
	if err != nil {
		return err
	}
	var (
		respond  func()
		delegate bool
	)
	ctx := e.Ctx()
	err = d.DB.InTx(ctx, e.Project, func(tx tenant.Tx) error {
		f, err := flows.GetFlow(ctx, tx, flows.KindRecovery, id, true)
		if err != nil {
			return err
		}
		if f.Expired(d.Now()) {
			delegate = true
			return nil
		}
		sess, _, err := d.CurrentSession(e, f.Type)
		if err != nil {
			return err
		}
		if sess != nil {
			return flows.ErrSessionAlreadyAvailable
		}
		if f.State == flows.StatePassedChallenge {
			f.UI.ResetMessages()
			f.UI.AddMessage(flows.Message(flows.ErrRecoveryRetrySuccess))
			respond = func() { d.Show(e, f, http.StatusOK) }
			return nil
		}
		f.Active = link.ID
		if respond, err = h.recoverToken(ctx, tx, e, f, c.Query("token")); err != nil {
			return err
		}
		return flows.UpdateFlow(ctx, tx, f)
	})
	if err != nil {
		return err
	}
	if delegate {
		form(c)
		return nil
	}
	respond()
	return nil
}

func (h *Handler) submitForm() gin.HandlerFunc {
	d := h.D
	return code.BindOnFirstUse(d, flows.KindRecovery, d.Submit(h.Spec(), func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, b *flows.Body) (func(), error) {
		sess, _, err := d.CurrentSession(e, f.Type)
		if err != nil {
			return nil, err
		}
		if sess != nil {
			return nil, flows.ErrSessionAlreadyAvailable
		}
		body := code.ParseBody(e, b)
		switch {
		case body.Method == code.ID && body.Code != "":
			return h.recover(ctx, tx, e, f, body.Code)
		case body.Method == link.ID && body.Token != "":
			return h.recoverToken(ctx, tx, e, f, body.Token)
		case body.Method != flows.MethodOf(e.Config.Recovery.Use):
			// Only the project's method sends mail.
			return nil, flows.NewValidationError(flows.NoStrategy(flows.KindRecovery))
		}
		if strings.TrimSpace(body.Email) == "" {
			return nil, (&flows.ValidationError{}).AddNode("email", flows.Required("email"))
		}
		msg, err := h.send(ctx, tx, e, f, body.Email)
		if err != nil {
			return nil, err
		}
		return func() {
			h.Courier.Relay(e.Ctx(), e.Project, msg)
			d.Show(e, f, http.StatusOK)
		}, nil
	}))
}

// send mails a recovery code to a recovery address, or the "unknown
// address" mail to an address no identity has. Both paths do the same
// work (one lookup, one code hashed and stored, one message enqueued) and
// leave the flow alike, so neither the answer nor its timing says whether
// the address exists.
func (h *Handler) send(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, address string) (uuid.UUID, error) {
	d := h.D
	addr := schema.NormalizeAddress("email", address)
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || len(addr) > 320 {
		return uuid.Nil, (&flows.ValidationError{Values: map[string]any{"email": address}}).
			AddNode("email", flows.Generic("The email address is not valid."))
	}
	if err := d.Limit(e, "recovery:ip", flows.ClientIP(e.C), "recovery requests"); err != nil {
		return uuid.Nil, err
	}
	if err := d.Limit(e, "recovery:address", addr, "recovery requests for this address"); err != nil {
		return uuid.Nil, err
	}
	if err := d.Limit(e, "recovery:mail", addr, "recovery mails to this address"); err != nil {
		return uuid.Nil, err
	}
	method := flows.MethodOf(e.Config.Recovery.Use)
	var (
		identityID *uuid.UUID
		id         uuid.UUID
		locale     string
	)
	err := tx.QueryRow(ctx, `SELECT a.identity_id, coalesce(i.traits->>'locale', '') FROM identity_recovery_addresses a
		JOIN identities i ON i.id = a.identity_id WHERE a.via = 'email' AND a.value = $1 AND i.state = 'active'`, addr).Scan(&id, &locale)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return uuid.Nil, err
	default:
		identityID = &id
	}
	// A code or token is stored either way; one bound to no identity never
	// recovers.
	msg := courier.Message{Recipient: addr, TemplateType: courier.TemplateRecoveryCodeInvalid, Data: courier.Data{RequestURL: f.RequestURL}}
	if method == link.ID {
		is, err := link.Issue(ctx, tx, link.IssueParams{FlowID: f.ID, Kind: link.KindRecovery, IdentityID: identityID, Address: addr, Now: d.Now()})
		if err != nil {
			return uuid.Nil, err
		}
		msg.TemplateType = courier.TemplateRecoveryInvalid
		if identityID != nil {
			msg.TemplateType, msg.Locale = courier.TemplateRecoveryValid, locale
			msg.Data.RecoveryURL = is.URL(e.BaseURL, link.KindRecovery, f.ID)
			msg.Data.ExpiresInMinutes = int(link.TTL.Minutes())
		}
	} else {
		is, err := h.Codes.Issue(ctx, tx, code.IssueParams{FlowID: f.ID, Kind: code.KindRecovery, IdentityID: identityID, Address: addr, Now: d.Now()})
		if err != nil {
			return uuid.Nil, err
		}
		if identityID != nil {
			msg.TemplateType, msg.Locale = courier.TemplateRecoveryCodeValid, locale
			msg.Data.RecoveryCode = is.Code
			msg.Data.ExpiresInMinutes = int(code.TTL.Minutes())
		}
	}
	mid, err := courier.Enqueue(ctx, tx, msg)
	if err != nil {
		return uuid.Nil, err
	}
	f.UI.ResetMessages()
	if method == link.ID {
		f.UI.RemoveGroup(flows.GroupCode)
		link.ShowSent(f, addr)
		f.UI.AddMessage(flows.Message(flows.InfoRecoveryLinkSent))
	} else {
		f.UI.RemoveGroup(flows.GroupLink)
		code.ShowCodeForm(f, addr, flows.InfoNodeLabelRecoveryCode)
		f.UI.AddMessage(flows.Message(flows.InfoRecoveryCodeSent))
	}
	return mid, nil
}

// recover checks a code; a wrong one answers the flow with 4060006 (HTTP
// 200, as Kratos does) and counts the attempt. A right one issues a
// privileged session and a settings flow.
func (h *Handler) recover(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, c string) (func(), error) {
	d := h.D
	if err := code.Limit(d, e, "recovery:code:ip", flows.ClientIP(e.C), code.LimitIP, "recovery attempts"); err != nil {
		return nil, err
	}
	if err := code.Limit(d, e, "recovery:code:flow", f.ID.String(), code.LimitFlow, "recovery attempts"); err != nil {
		return nil, err
	}
	found, err := h.Codes.Use(ctx, tx, f.ID, code.KindRecovery, c, d.Now())
	if errors.Is(err, code.ErrInvalid) {
		return h.invalid(e, f, flows.ErrRecoveryCodeInvalid), nil
	}
	if err != nil {
		return nil, err
	}
	return h.complete(ctx, tx, e, f, code.ID, found.IdentityID, found.Address, flows.ErrRecoveryCodeInvalid)
}

// recoverToken uses a link token; a wrong, used or expired one answers the
// flow with 4060004 (HTTP 200, as for codes).
func (h *Handler) recoverToken(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, tok string) (func(), error) {
	d := h.D
	if err := code.Limit(d, e, "recovery:code:ip", flows.ClientIP(e.C), code.LimitIP, "recovery attempts"); err != nil {
		return nil, err
	}
	found, err := link.Use(ctx, tx, f.ID, link.KindRecovery, tok, d.Now())
	if errors.Is(err, link.ErrInvalid) {
		return h.invalid(e, f, flows.ErrRecoveryTokenInvalid), nil
	}
	if err != nil {
		return nil, err
	}
	return h.complete(ctx, tx, e, f, link.ID, found.IdentityID, found.Address, flows.ErrRecoveryTokenInvalid)
}

// invalid shows f with the message of a refused code or token.
func (h *Handler) invalid(e *flows.Env, f *flows.Flow, msg int) func() {
	f.UI.ResetMessages()
	f.UI.AddMessage(flows.Message(msg))
	return func() { h.D.Show(e, f, http.StatusOK) }
}

// complete recovers the identity a right code or token was issued for:
// the MFA hook, the address verified, the other sessions revoked (as
// configured), a privileged session and a settings flow. A secret bound to
// no identity (an unknown address) or to an inactive one is refused with
// invalidMsg.
func (h *Handler) complete(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, method string, owner *uuid.UUID, address string, invalidMsg int) (func(), error) {
	d := h.D
	if owner == nil {
		return h.invalid(e, f, invalidMsg), nil
	}
	var active bool
	if err := tx.QueryRow(ctx, `SELECT state = 'active' FROM identities WHERE id = $1`, *owner).Scan(&active); errors.Is(err, pgx.ErrNoRows) || err == nil && !active {
		return h.invalid(e, f, invalidMsg), nil
	} else if err != nil {
		return nil, err
	}
	identityID := *owner
	// MFA hook point: recovery must not bypass a second factor.
	if h.SecondFactor != nil {
		if err := h.SecondFactor(ctx, tx, e, f, identityID); err != nil {
			return nil, err
		}
	}
	// Receiving the code proves the address: verify it as well.
	if address != "" {
		if _, err := tx.Exec(ctx, `UPDATE identity_verifiable_addresses SET verified = true, status = 'completed',
			verified_at = coalesce(verified_at, now()), updated_at = now() WHERE identity_id = $1 AND via = 'email' AND value = $2`,
			identityID, address); err != nil {
			return nil, err
		}
		d.Identities.ChangedTx(ctx, tx, identityID)
	}
	if e.Config.Recovery.RevokesSessions() {
		if err := RevokeActiveSessions(ctx, tx, d.Sessions, identityID); err != nil {
			return nil, err
		}
	}
	is, err := d.IssueSession(ctx, tx, e, identityID, session.AuthenticationMethod{Method: MethodCodeRecovery, AAL: session.AAL1})
	if err != nil {
		return nil, err
	}
	// The project's recovery "after" hooks: a webhook or action may stop
	// the recovery (nothing above is kept) or change the identity.
	hr, err := d.RunHooks(ctx, tx, e, flows.HookStep{Kind: flows.KindRecovery, Point: flows.HookAfter, Method: method,
		Flow: f, IdentityID: &identityID, Session: is.Session})
	if err != nil {
		return nil, err
	}
	if err := hr.Apply(ctx, tx); err != nil {
		return nil, err
	}
	var newCSRF []byte
	sf, err := d.NewFlow(ctx, tx, e, settings.Spec(d), flows.NewFlowParams{Type: f.Type, ReturnTo: f.ReturnTo, Session: is.Session,
		Prepare: func(sf *flows.Flow) error {
			sf.IdentityID, sf.Identity = &identityID, is.Session.Identity
			if sf.Type == flows.TypeBrowser {
				// A recovery rotates the CSRF cookie; the settings flow is
				// bound to the new one.
				newCSRF = flows.RotateCSRF(e.C.Writer, e.BaseURL)
				sf.CSRFHash = flows.CSRFHash(newCSRF)
				flows.AddCSRFNode(sf, newCSRF)
			}
			until := is.Session.AuthenticatedAt.Add(e.Config.PrivilegedMaxAge())
			sf.UI.AddMessage(&flows.Text{ID: flows.InfoRecoverySuccessful, Type: flows.TextSuccess,
				Text: fmt.Sprintf("You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next %.2f minutes.",
					until.Sub(d.Now()).Minutes()),
				Context: map[string]any{"privileged_session_expires_at": until.UTC().Format(time.RFC3339Nano), "privileged_session_expires_at_unix": until.Unix()}})
			return nil
		}})
	if err != nil {
		return nil, err
	}
	settingsURL := e.Config.UIURL(string(flows.KindSettings), e.BaseURL) + "?" + url.Values{"flow": {sf.ID.String()}}.Encode()
	f.State = flows.StatePassedChallenge
	f.UI.ResetMessages()
	f.UI.RemoveGroup(flows.GroupCode)
	cwf := &flows.ContinueWithFlow{ID: sf.ID}
	if f.Type == flows.TypeBrowser {
		cwf.URL = settingsURL
	}
	f.ContinueWith = nil
	if f.Type == flows.TypeAPI {
		f.ContinueWith = append(f.ContinueWith, flows.ContinueWith{Action: flows.ActionSetOrySessionToken, OrySessionToken: is.Token})
	}
	f.ContinueWith = append(f.ContinueWith, flows.ContinueWith{Action: flows.ActionShowSettingsUI, Flow: cwf})
	return func() {
		hr.After()
		if f.Type == flows.TypeAPI {
			e.C.JSON(http.StatusOK, f)
			return
		}
		cfg, err := d.Sessions.Config(e.Ctx(), e.Project)
		if err != nil {
			flows.WriteError(e.C, err)
			return
		}
		http.SetCookie(e.C.Writer, session.Cookie(cfg, e.BaseURL, is.Token, is.Session.ExpiresAt, d.Now()))
		if e.JSON {
			// use_continue_with_transitions=false (the Kratos default)
			flows.WriteError(e.C, &flows.LocationChangeError{RedirectBrowserTo: settingsURL})
			return
		}
		e.C.Redirect(http.StatusSeeOther, settingsURL)
	}, nil
}

// adminCodeBody is the body of POST /admin/recovery/code.
type adminCodeBody struct {
	IdentityID uuid.UUID `json:"identity_id"`
	ExpiresIn  string    `json:"expires_in"`
	FlowType   string    `json:"flow_type"`
}

// AdminCreateCode serves POST /admin/recovery/code: a recovery flow in
// sent_email for the identity and its code, 201 {recovery_link,
// recovery_code, expires_at}. A browser flow is bound to the CSRF cookie
// of the browser that first opens it.
func (h *Handler) AdminCreateCode() gin.HandlerFunc {
	d := h.D
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		e.JSON = true
		var b adminCodeBody
		dec := jsonDecoder(c)
		if err := dec.Decode(&b); err != nil {
			return errBadRequest("The request body is not valid: " + err.Error())
		}
		if b.IdentityID == uuid.Nil {
			return errBadRequest("identity_id is required.")
		}
		typ := flows.TypeBrowser
		switch b.FlowType {
		case "", "browser":
		case "api":
			typ = flows.TypeAPI
		default:
			return errBadRequest("flow_type must be browser or api.")
		}
		lifespan := e.Config.Lifespan()
		if b.ExpiresIn != "" {
			v, err := time.ParseDuration(b.ExpiresIn)
			if err != nil || v <= 0 {
				return errBadRequest("expires_in must be a positive duration such as 1h or 15m.")
			}
			lifespan = v
		}
		var (
			f  *flows.Flow
			is *code.Issued
		)
		err := d.DB.InTx(e.Ctx(), e.Project, func(tx tenant.Tx) error {
			i, err := d.Identities.GetTx(e.Ctx(), tx, b.IdentityID)
			if err != nil {
				return err
			}
			if i.State != identity.StateActive {
				return errBadRequest("The identity is inactive.")
			}
			addr := ""
			for _, a := range i.RecoveryAddresses {
				addr = a.Value
				break
			}
			f = flows.New(flows.NewParams{Kind: flows.KindRecovery, Type: typ, BaseURL: e.BaseURL,
				RequestURL: flows.RequestURL(c.Request, e.BaseURL), Lifespan: lifespan, Now: d.Now()})
			if typ == flows.TypeBrowser {
				code.MarkUnbound(f)
			} else {
				flows.AddCSRFNode(f, nil)
			}
			code.ShowCodeForm(f, addr, flows.InfoNodeLabelRecoveryCode)
			if err := flows.CreateFlow(e.Ctx(), tx, f); err != nil {
				return err
			}
			is, err = h.Codes.Issue(e.Ctx(), tx, code.IssueParams{FlowID: f.ID, Kind: code.KindRecovery, IdentityID: &i.ID, Address: addr,
				TTL: lifespan, Now: d.Now()})
			return err
		})
		if err != nil {
			return err
		}
		link := e.Config.UIURL(string(flows.KindRecovery), e.BaseURL) + "?" + url.Values{"flow": {f.ID.String()}}.Encode()
		c.JSON(http.StatusCreated, gin.H{"recovery_link": link, "recovery_code": is.Code, "expires_at": f.ExpiresAt})
		return nil
	})
}

// adminLinkBody is the body of POST /admin/recovery/link.
type adminLinkBody struct {
	IdentityID uuid.UUID `json:"identity_id"`
	ExpiresIn  string    `json:"expires_in"`
}

// AdminCreateLink serves POST /admin/recovery/link (Kratos
// createRecoveryLinkForIdentity): a browser recovery flow for the identity
// and a link that uses it, 200 {recovery_link, expires_at}. Opening the
// link issues a privileged session and leads into settings. expires_in
// (a duration such as 1h) defaults to the link lifespan (1h).
func (h *Handler) AdminCreateLink() gin.HandlerFunc {
	d := h.D
	return d.Wrap(func(c *gin.Context, e *flows.Env) error {
		e.JSON = true
		var b adminLinkBody
		if err := jsonDecoder(c).Decode(&b); err != nil {
			return errBadRequest("The request body is not valid: " + err.Error())
		}
		if b.IdentityID == uuid.Nil {
			return errBadRequest("identity_id is required.")
		}
		lifespan := link.TTL
		if b.ExpiresIn != "" {
			v, err := time.ParseDuration(b.ExpiresIn)
			if err != nil || v <= 0 {
				return errBadRequest("expires_in must be a positive duration such as 1h or 15m.")
			}
			lifespan = v
		}
		var (
			f  *flows.Flow
			is *link.Issued
		)
		err := d.DB.InTx(e.Ctx(), e.Project, func(tx tenant.Tx) error {
			i, err := d.Identities.GetTx(e.Ctx(), tx, b.IdentityID)
			if err != nil {
				return err
			}
			if i.State != identity.StateActive {
				return errBadRequest("The identity is inactive.")
			}
			f = flows.New(flows.NewParams{Kind: flows.KindRecovery, Type: flows.TypeBrowser, BaseURL: e.BaseURL,
				RequestURL: flows.RequestURL(c.Request, e.BaseURL), Lifespan: lifespan, Now: d.Now()})
			code.MarkUnbound(f)
			if err := link.PopulateEmail(e.Ctx(), tx, nil, f); err != nil {
				return err
			}
			f.State = flows.StateSentEmail
			if err := flows.CreateFlow(e.Ctx(), tx, f); err != nil {
				return err
			}
			// Not bound to an address: the admin vouches for the identity,
			// so opening the link verifies nothing.
			is, err = link.Issue(e.Ctx(), tx, link.IssueParams{FlowID: f.ID, Kind: link.KindRecovery, IdentityID: &i.ID, TTL: lifespan, Now: d.Now()})
			return err
		})
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"recovery_link": is.URL(e.BaseURL, link.KindRecovery, f.ID), "expires_at": is.ExpiresAt})
		return nil
	})
}
