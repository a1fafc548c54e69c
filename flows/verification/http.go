// Package verification is the verification flow (Kratos §3.6): browser
// and API init, GET of a flow, and submit with the code method (a 6-digit
// code by mail, flows/strategy/code) or the link method (a mailed link
// carrying a 256-bit token, flows/strategy/link), as the project's
// verification.use says. The right code or link marks the address
// verified. The session is optional. The answer to an address does not say
// whether it belongs to an account. AfterRegistration is the registration
// hook that starts verification of a new identity's addresses;
// RequireVerifiedAddress is the login hook that refuses unverified
// identities.
package verification

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/code"
	"github.com/lanyard-id/lanyard/flows/strategy/link"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Handler serves the verification flow.
type Handler struct {
	D       *flows.Deps
	Courier *courier.Service
	Codes   *code.Codes
}

// Spec is the verification kind for the shared lifecycle.
func (h *Handler) Spec() flows.Spec {
	return flows.Spec{Kind: flows.KindVerification, Populate: populate}
}

// populate adds the address step of the project's method.
func populate(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
	if flows.MethodOf(r.Config.Verification.Use) == link.ID {
		return link.PopulateEmail(ctx, tx, r, f)
	}
	return code.PopulateEmail(ctx, tx, r, f)
}

// Init serves GET /self-service/verification/{browser,api}.
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

// Get serves GET /self-service/verification/flows?id=.
func (h *Handler) Get() gin.HandlerFunc {
	return code.BindOnFirstUse(h.D, flows.KindVerification, h.D.GetFlow(h.Spec()))
}

// Submit serves POST (and GET, for the mailed links) /self-service/verification?flow=.
// A link (GET with ?code= or ?token=) needs no CSRF token: the code or
// token is the secret.
func (h *Handler) Submit() gin.HandlerFunc {
	form := h.submitForm()
	viaLink := h.D.Wrap(func(c *gin.Context, e *flows.Env) error { return h.viaLink(c, e, form) })
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodGet && (c.Query("code") != "" || c.Query("token") != "") {
			viaLink(c)
			return
		}
		form(c)
	}
}

// viaLink checks the code or token of a mailed link. Expired flows go
// through the shared lifecycle (replacement flow); a completed flow is
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
		f, err := flows.GetFlow(ctx, tx, flows.KindVerification, id, true)
		if err != nil {
			return err
		}
		if f.Expired(d.Now()) {
			delegate = true
			return nil
		}
		if f.State == flows.StatePassedChallenge {
			respond = func() { d.Show(e, f, http.StatusOK) }
			return nil
		}
		if tok := c.Query("token"); tok != "" {
			f.Active = link.ID
			respond, err = h.verifyToken(ctx, tx, e, f, tok)
		} else {
			f.Active = code.ID
			respond, err = h.verify(ctx, tx, e, f, c.Query("code"))
		}
		if err != nil {
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
	return code.BindOnFirstUse(d, flows.KindVerification, d.Submit(h.Spec(), func(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, b *flows.Body) (func(), error) {
		body := code.ParseBody(e, b)
		switch {
		case body.Method == code.ID && body.Code != "":
			return h.verify(ctx, tx, e, f, body.Code)
		case body.Method == link.ID && body.Token != "":
			return h.verifyToken(ctx, tx, e, f, body.Token)
		case body.Method != flows.MethodOf(e.Config.Verification.Use):
			// Only the project's method sends mail.
			return nil, flows.NewValidationError(flows.NoStrategy(flows.KindVerification))
		}
		if strings.TrimSpace(body.Email) == "" {
			return nil, (&flows.ValidationError{}).AddNode("email", flows.Required("email"))
		}
		msg, err := h.send(ctx, tx, e, f, body.Email, true, nil)
		if err != nil {
			return nil, err
		}
		return func() {
			h.Courier.Relay(e.Ctx(), e.Project, msg)
			d.Show(e, f, http.StatusOK)
		}, nil
	}))
}

// send mails a code or link (the project's method) to address, or, for an
// address no identity has, the "unknown address" mail, and moves f to
// sent_email. Both cases do the same work and leave the flow alike. With
// limit, the request limits and the per-recipient mail limit refuse
// (429) before the address is looked up, so a refusal says nothing about
// the address; without (after a registration) the mail still counts
// against the recipient's limit. owner, when the caller knows the
// address's row (a registration), saves looking it up; its status goes
// to "sent" as the row's does.
func (h *Handler) send(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, address string, limit bool, owner *addressOwner) (uuid.UUID, error) {
	d := h.D
	addr := schema.NormalizeAddress("email", address)
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || len(addr) > 320 {
		return uuid.Nil, (&flows.ValidationError{Values: map[string]any{"email": address}}).
			AddNode("email", flows.Generic("The email address is not valid."))
	}
	if limit {
		if err := d.Limit(e, "verification:ip", flows.ClientIP(e.C), "verification requests"); err != nil {
			return uuid.Nil, err
		}
		if err := d.Limit(e, "verification:address", addr, "verification requests for this address"); err != nil {
			return uuid.Nil, err
		}
		if err := d.Limit(e, "verification:mail", addr, "verification mails to this address"); err != nil {
			return uuid.Nil, err
		}
	} else {
		_ = d.Limit(e, "verification:mail", addr, "")
	}
	method := flows.MethodOf(e.Config.Verification.Use)
	var (
		addrID, identityID uuid.UUID
		locale             string
		known              = true
	)
	if owner != nil {
		addrID, identityID, locale = owner.address.ID, owner.identityID, owner.locale
	} else {
		err := tx.QueryRow(ctx, `SELECT a.id, a.identity_id, coalesce(i.traits->>'locale', '') FROM identity_verifiable_addresses a
			JOIN identities i ON i.id = a.identity_id WHERE a.via = 'email' AND a.value = $1`, addr).
			Scan(&addrID, &identityID, &locale)
		if errors.Is(err, pgx.ErrNoRows) {
			known = false
		} else if err != nil {
			return uuid.Nil, err
		}
	}
	msg := courier.Message{Recipient: addr, TemplateType: courier.TemplateVerificationCodeInvalid,
		Data: courier.Data{RequestURL: f.RequestURL}}
	if method == link.ID {
		msg.TemplateType = courier.TemplateVerificationInvalid
	}
	// The same work for an unknown address: one secret hashed and stored,
	// bound to nobody, so it can never verify anything.
	var ownerID *uuid.UUID
	if known {
		ownerID = &identityID
	}
	if method == link.ID {
		is, err := link.Issue(ctx, tx, link.IssueParams{FlowID: f.ID, Kind: link.KindVerification, IdentityID: ownerID, Address: addr, Now: d.Now()})
		if err != nil {
			return uuid.Nil, err
		}
		if known {
			msg.TemplateType = courier.TemplateVerificationValid
			msg.Data.VerificationURL = is.URL(e.BaseURL, link.KindVerification, f.ID)
			msg.Data.ExpiresInMinutes = int(link.TTL.Minutes())
		}
	} else {
		is, err := h.Codes.Issue(ctx, tx, code.IssueParams{FlowID: f.ID, Kind: code.KindVerification, IdentityID: ownerID, Address: addr, Now: d.Now()})
		if err != nil {
			return uuid.Nil, err
		}
		if known {
			msg.TemplateType = courier.TemplateVerificationCodeValid
			msg.Data.VerificationCode = is.Code
			msg.Data.VerificationURL = e.BaseURL + "/self-service/verification?" + url.Values{"flow": {f.ID.String()}, "code": {is.Code}}.Encode()
			msg.Data.ExpiresInMinutes = int(code.TTL.Minutes())
		}
	}
	if known {
		msg.Locale = locale
		now := d.Now().UTC().Truncate(time.Microsecond)
		tx.Queue(`UPDATE identity_verifiable_addresses SET status = 'sent', updated_at = $2 WHERE id = $1 AND status = 'pending'`, addrID, now)
		if owner != nil && owner.address.Status == "pending" {
			owner.address.Status, owner.address.UpdatedAt = "sent", now
		}
		h.D.Identities.ChangedTx(ctx, tx, identityID)
	}
	id, err := courier.Enqueue(ctx, tx, msg)
	if err != nil {
		return uuid.Nil, err
	}
	f.UI.ResetMessages()
	if method == link.ID {
		f.UI.RemoveGroup(flows.GroupCode)
		link.ShowSent(f, addr)
		f.UI.AddMessage(flows.Message(flows.InfoVerificationLinkSent))
	} else {
		f.UI.RemoveGroup(flows.GroupLink)
		code.ShowCodeForm(f, addr, flows.InfoNodeLabelVerifyCodeNode)
		f.UI.AddMessage(flows.Message(flows.InfoVerificationCodeSent))
	}
	return id, nil
}

// verify checks a code. A wrong one answers the flow with 4070006 (HTTP
// 200, as Kratos does) and counts the attempt.
func (h *Handler) verify(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, c string) (func(), error) {
	d := h.D
	if err := code.Limit(d, e, "verification:code:ip", flows.ClientIP(e.C), code.LimitIP, "verification attempts"); err != nil {
		return nil, err
	}
	if err := code.Limit(d, e, "verification:code:flow", f.ID.String(), code.LimitFlow, "verification attempts"); err != nil {
		return nil, err
	}
	found, err := h.Codes.Use(ctx, tx, f.ID, code.KindVerification, c, d.Now())
	if errors.Is(err, code.ErrInvalid) {
		return h.invalid(e, f, flows.ErrVerificationCodeInvalid), nil
	}
	if err != nil {
		return nil, err
	}
	return h.complete(ctx, tx, e, f, code.ID, found.IdentityID, found.Address, flows.ErrVerificationCodeInvalid)
}

// verifyToken checks a link token; a wrong, used or expired one answers
// the flow with 4070001 (HTTP 200, as for codes).
func (h *Handler) verifyToken(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, tok string) (func(), error) {
	d := h.D
	if err := code.Limit(d, e, "verification:code:ip", flows.ClientIP(e.C), code.LimitIP, "verification attempts"); err != nil {
		return nil, err
	}
	found, err := link.Use(ctx, tx, f.ID, link.KindVerification, tok, d.Now())
	if errors.Is(err, link.ErrInvalid) {
		return h.invalid(e, f, flows.ErrVerificationTokenInvalid), nil
	}
	if err != nil {
		return nil, err
	}
	return h.complete(ctx, tx, e, f, link.ID, found.IdentityID, found.Address, flows.ErrVerificationTokenInvalid)
}

// invalid shows f with the message of a refused code or token.
func (h *Handler) invalid(e *flows.Env, f *flows.Flow, msg int) func() {
	f.UI.ResetMessages()
	f.UI.AddMessage(flows.Message(msg))
	if f.State == flows.StateChooseMethod {
		f.State = flows.StateSentEmail
	}
	return func() { h.D.Show(e, f, http.StatusOK) }
}

// complete marks the address a right code or token was sent to verified
// and moves f to passed_challenge. A secret sent to an unknown address, or
// to an address the identity no longer has, is refused with invalidMsg.
func (h *Handler) complete(ctx context.Context, tx tenant.Tx, e *flows.Env, f *flows.Flow, method string, identityID *uuid.UUID, address string, invalidMsg int) (func(), error) {
	d := h.D
	if identityID == nil {
		return h.invalid(e, f, invalidMsg), nil
	}
	tag, err := tx.Exec(ctx, `UPDATE identity_verifiable_addresses SET verified = true, status = 'completed',
		verified_at = coalesce(verified_at, now()), updated_at = now() WHERE identity_id = $1 AND via = 'email' AND value = $2`,
		*identityID, address)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return h.invalid(e, f, invalidMsg), nil
	}
	d.Identities.ChangedTx(ctx, tx, *identityID)
	// The project's verification "after" hooks (may stop the verification:
	// the address stays unverified).
	hr, err := d.RunHooks(ctx, tx, e, flows.HookStep{Kind: flows.KindVerification, Point: flows.HookAfter, Method: method,
		Flow: f, IdentityID: identityID})
	if err != nil {
		return nil, err
	}
	if err := hr.Apply(ctx, tx); err != nil {
		return nil, err
	}
	f.State = flows.StatePassedChallenge
	to := e.AfterURL(f)
	f.UI = flows.NewContainer(to)
	f.UI.Method = http.MethodGet
	f.UI.Add(flows.NewAnchor(flows.GroupDefault, "continue", to, flows.Message(flows.InfoNodeLabelContinue)))
	f.UI.AddMessage(flows.Message(flows.InfoVerificationSuccess))
	return func() {
		hr.After()
		d.Show(e, f, http.StatusOK)
	}, nil
}

// traitText is traits->>'name' (a string's value, other JSON as text, ""
// for none or null).
func traitText(traits json.RawMessage, name string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(traits, &m) != nil {
		return ""
	}
	raw := m[name]
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// addressOwner is a verifiable address whose row the caller holds.
type addressOwner struct {
	address    *identity.VerifiableAddress
	identityID uuid.UUID
	locale     string
}

// AfterRegistration is the registration's verification hook: for each
// unverified email address of the new identity i it creates a
// verification flow of the registration's type, mails its code in tx
// (the address's status becomes "sent", in i too), and returns the
// show_verification_ui continue_with items and the relay to run after
// the commit.
func (h *Handler) AfterRegistration(ctx context.Context, tx tenant.Tx, e *flows.Env, rf *flows.Flow, i *identity.Identity) ([]flows.ContinueWith, func(), error) {
	d := h.D
	var unverified []*identity.VerifiableAddress
	for k := range i.VerifiableAddresses {
		if a := &i.VerifiableAddresses[k]; a.Via == "email" && !a.Verified {
			unverified = append(unverified, a)
		}
	}
	slices.SortStableFunc(unverified, func(a, b *identity.VerifiableAddress) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	locale := traitText(i.Traits, "locale")
	var (
		out  []flows.ContinueWith
		msgs []uuid.UUID
	)
	for _, va := range unverified {
		a := va.Value
		f := flows.New(flows.NewParams{Kind: flows.KindVerification, Type: rf.Type, BaseURL: e.BaseURL, RequestURL: rf.RequestURL,
			Lifespan: e.Config.Lifespan(), Now: d.Now()})
		// Where the registration was to return to (checked against the
		// allow-list when that flow began) is where the verified page
		// continues, as in Kratos.
		f.ReturnTo = rf.ReturnTo
		// The registration rotates the CSRF cookie: a browser flow is bound
		// when the browser first opens it.
		if f.Type == flows.TypeBrowser {
			code.MarkUnbound(f)
		} else {
			flows.AddCSRFNode(f, nil)
		}
		save, err := flows.CreateFlowToSave(tx, f)
		if err != nil {
			return nil, nil, err
		}
		id, err := h.send(ctx, tx, e, f, a, false, &addressOwner{address: va, identityID: i.ID, locale: locale})
		if err != nil {
			return nil, nil, err
		}
		if err := save(); err != nil {
			return nil, nil, err
		}
		msgs = append(msgs, id)
		cw := flows.ContinueWith{Action: flows.ActionShowVerificationUI, Flow: &flows.ContinueWithFlow{ID: f.ID, VerifiableAddress: a}}
		if f.Type == flows.TypeBrowser {
			cw.Flow.URL = e.Config.UIURL(string(flows.KindVerification), e.BaseURL) + "?" + url.Values{"flow": {f.ID.String()}}.Encode()
		}
		out = append(out, cw)
	}
	return out, func() {
		if len(msgs) > 0 {
			h.Courier.Relay(e.Ctx(), e.Project, msgs...)
		}
	}, nil
}
