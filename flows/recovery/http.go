// Package recovery is the recovery flow (Kratos §3.5) with the code
// method: an address gets a 6-digit code by mail (flows/strategy/code);
// the right code issues a privileged session and a settings flow in which
// the identity sets a new password. The answer, and the work done, are the
// same whether or not the address belongs to an account. AdminCreateCode
// is POST /admin/recovery/code.
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
	// KeepSessions leaves the identity's other sessions alive after a
	// recovery; by default they are revoked (whoever took the account
	// loses it with the recovery).
	KeepSessions bool
}

// Spec is the recovery kind for the shared lifecycle.
func (h *Handler) Spec() flows.Spec {
	return flows.Spec{Kind: flows.KindRecovery, Populate: code.PopulateEmail}
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
		err = d.DB.InTx(e.Ctx(), e.Project, func(tx tenant.Tx) (err error) {
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

// Submit serves POST /self-service/recovery?flow=.
func (h *Handler) Submit() gin.HandlerFunc {
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
		if body.Method != code.ID {
			return nil, flows.NewValidationError(flows.NoStrategy(flows.KindRecovery))
		}
		if body.Code != "" {
			return h.recover(ctx, tx, e, f, body.Code)
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
	// A code is stored either way; one bound to no identity never recovers.
	is, err := h.Codes.Issue(ctx, tx, code.IssueParams{FlowID: f.ID, Kind: code.KindRecovery, IdentityID: identityID, Address: addr, Now: d.Now()})
	if err != nil {
		return uuid.Nil, err
	}
	msg := courier.Message{Recipient: addr, TemplateType: courier.TemplateRecoveryCodeInvalid, Data: courier.Data{RequestURL: f.RequestURL}}
	if identityID != nil {
		msg.TemplateType, msg.Locale = courier.TemplateRecoveryCodeValid, locale
		msg.Data.RecoveryCode = is.Code
		msg.Data.ExpiresInMinutes = int(code.TTL.Minutes())
	}
	mid, err := courier.Enqueue(ctx, tx, msg)
	if err != nil {
		return uuid.Nil, err
	}
	f.UI.ResetMessages()
	code.ShowCodeForm(f, addr, flows.InfoNodeLabelRecoveryCode)
	f.UI.AddMessage(flows.Message(flows.InfoRecoveryCodeSent))
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
	if err == nil && found.IdentityID == nil {
		err = code.ErrInvalid
	}
	var active bool
	if err == nil {
		if qerr := tx.QueryRow(ctx, `SELECT state = 'active' FROM identities WHERE id = $1`, *found.IdentityID).Scan(&active); qerr != nil || !active {
			err = code.ErrInvalid
		}
	}
	if errors.Is(err, code.ErrInvalid) {
		f.UI.ResetMessages()
		f.UI.AddMessage(flows.Message(flows.ErrRecoveryCodeInvalid))
		return func() { d.Show(e, f, http.StatusOK) }, nil
	}
	if err != nil {
		return nil, err
	}
	identityID := *found.IdentityID
	// MFA hook point: recovery must not bypass a second factor.
	if h.SecondFactor != nil {
		if err := h.SecondFactor(ctx, tx, e, f, identityID); err != nil {
			return nil, err
		}
	}
	// Receiving the code proves the address: verify it as well.
	if found.Address != "" {
		if _, err := tx.Exec(ctx, `UPDATE identity_verifiable_addresses SET verified = true, status = 'completed',
			verified_at = coalesce(verified_at, now()), updated_at = now() WHERE identity_id = $1 AND via = 'email' AND value = $2`,
			identityID, found.Address); err != nil {
			return nil, err
		}
	}
	if !h.KeepSessions {
		if err := d.Sessions.RevokeIdentitySessions(ctx, tx, identityID); err != nil {
			return nil, err
		}
	}
	is, err := d.IssueSession(ctx, tx, e, identityID, session.AuthenticationMethod{Method: MethodCodeRecovery, AAL: session.AAL1})
	if err != nil {
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
