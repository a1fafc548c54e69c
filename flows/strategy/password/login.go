package password

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// PopulateLogin adds identifier, password and submit to a first-factor
// login flow. A refresh pre-fills the identifier of the session's identity.
func (s *Strategy) PopulateLogin(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
	if f.RequestedAAL == session.AAL2 {
		return nil // a first factor adds nothing to a second-factor flow
	}
	var value any
	if f.Refresh != nil && *f.Refresh && r.Session != nil {
		if i, err := s.Identities.GetTx(ctx, tx, r.Session.IdentityID); err == nil {
			if c := i.Credentials[identity.CredentialsPassword]; c != nil && len(c.Identifiers) > 0 {
				value = c.Identifiers[0]
			}
		}
	}
	id := flows.NewInput(flows.GroupDefault, "identifier", flows.InputText, value, flows.Message(flows.InfoNodeLabelID))
	id.Input().Required, id.Input().Autocomplete = true, "username"
	pw := flows.NewInput(flows.GroupPassword, "password", flows.InputPassword, nil, flows.Message(flows.InfoNodeLabelPassword))
	pw.Input().Required, pw.Input().Autocomplete = true, "current-password"
	f.UI.Upsert(id)
	f.UI.Add(pw, flows.NewSubmit(flows.GroupPassword, ID, flows.Message(flows.InfoLoginPassword)))
	return nil
}

type loginBody struct {
	Identifier         string `json:"identifier"`
	PasswordIdentifier string `json:"password_identifier"` // deprecated alias
	Password           string `json:"password"`
}

// Identifier reads the identifier of a password login body (for rate
// limits), "" when there is none.
func Identifier(raw json.RawMessage) string {
	var b loginBody
	_ = json.Unmarshal(raw, &b)
	if b.Identifier == "" {
		b.Identifier = b.PasswordIdentifier
	}
	return strings.ToLower(strings.TrimSpace(b.Identifier))
}

var errDisabled = errx.New(errx.Unauthorized, "account disabled")

// Login checks identifier and password. An unknown identifier and a wrong
// password take one hash verification each and give the same 4000006.
func (s *Strategy) Login(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) (*flows.LoginResult, error) {
	var b loginBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return nil, flows.NewValidationError(flows.Generic("The request body does not match the password method: " + err.Error()))
	}
	if b.Identifier == "" {
		b.Identifier = b.PasswordIdentifier
	}
	ve := &flows.ValidationError{Values: map[string]any{"identifier": b.Identifier}}
	if strings.TrimSpace(b.Identifier) == "" {
		ve.AddNode("identifier", flows.Required("identifier"))
	}
	if b.Password == "" {
		ve.AddNode("password", flows.Required("password"))
	}
	if len(ve.Nodes) > 0 {
		return nil, ve
	}
	invalid := &flows.ValidationError{Flow: []*flows.Text{flows.Message(flows.ErrValidationInvalidCredentials)}, Values: ve.Values}
	if len(b.Password) > MaxBytes {
		return nil, invalid
	}
	i, err := s.Identities.FindByIdentifierTx(ctx, tx, identity.CredentialsPassword, b.Identifier)
	if errx.Has(err, errx.NotFound) {
		_, _, _ = s.Identities.Hasher.Verify(b.Password, s.dummyHash())
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if identity.HashedPassword(i) == "" {
		_, _, _ = s.Identities.Hasher.Verify(b.Password, s.dummyHash())
		return nil, invalid
	}
	ok, err := s.Identities.CheckPasswordTx(ctx, tx, i, b.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalid
	}
	if i.State != identity.StateActive {
		return nil, errDisabled
	}
	return &flows.LoginResult{IdentityID: i.ID, Identity: i, Method: session.AuthenticationMethod{Method: ID, AAL: session.AAL1}}, nil
}
