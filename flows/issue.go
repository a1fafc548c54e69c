package flows

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/tenant"
)

// IssueSession issues a session for a completed login or registration in
// the flow's transaction and renders its identity.
func (d *Deps) IssueSession(ctx context.Context, tx tenant.Tx, e *Env, identityID uuid.UUID, m session.AuthenticationMethod) (*session.Issued, error) {
	i, err := d.Identities.GetTx(ctx, tx, identityID)
	if err != nil {
		return nil, err
	}
	return d.IssueSessionFor(ctx, tx, e, i, m)
}

// IssueSessionFor is IssueSession for an identity the caller has read in
// tx (and kept up to date with what it changed since).
func (d *Deps) IssueSessionFor(ctx context.Context, tx tenant.Tx, e *Env, i *identity.Identity, m session.AuthenticationMethod) (*session.Issued, error) {
	is, err := d.Sessions.Issue(ctx, tx, session.IssueParams{IdentityID: i.ID, Methods: []session.AuthenticationMethod{m},
		IPAddress: ClientIP(e.C), UserAgent: e.C.Request.UserAgent()})
	if err != nil {
		return nil, err
	}
	if err := d.recordActive(ctx, tx, i.ID); err != nil {
		return nil, err
	}
	if is.Session.Identity, err = identity.PublicJSON(i, e.BaseURL); err != nil {
		return nil, err
	}
	return is, nil
}

// SetSessionCookie sets the project's session cookie for is and rotates
// the CSRF cookie (a new identity gets a new CSRF secret).
func (d *Deps) SetSessionCookie(e *Env, is *session.Issued) error {
	cfg, err := d.Sessions.Config(e.Ctx(), e.Project)
	if err != nil {
		return err
	}
	http.SetCookie(e.C.Writer, session.Cookie(cfg, e.BaseURL, is.Token, is.Session.ExpiresAt, d.Now()))
	RotateCSRF(e.C.Writer, e.BaseURL)
	return nil
}

// BodyField reads a top-level string field of a submit body.
func BodyField(raw json.RawMessage, name string) string {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	s, _ := m[name].(string)
	return s
}
