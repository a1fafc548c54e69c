package password

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// PopulateRegistration adds the trait inputs of the default schema (group
// default, as newer Kratos and elements-react expect), the password input
// and the "Sign up" submit.
func (s *Strategy) PopulateRegistration(ctx context.Context, _ tenant.Tx, r *flows.Request, f *flows.Flow) error {
	sch, err := s.defaultSchema(ctx, r.Project)
	if err != nil {
		return err
	}
	for _, n := range flows.TraitNodes(sch.Schema, flows.GroupDefault, nil) {
		if f.UI.Find(n.Name(), flows.GroupDefault) == nil {
			f.UI.Add(n)
		}
	}
	pw := flows.NewInput(flows.GroupPassword, "password", flows.InputPassword, nil, flows.Message(flows.InfoNodeLabelPassword))
	pw.Input().Required, pw.Input().Autocomplete = true, "new-password"
	f.UI.Add(pw, flows.NewSubmit(flows.GroupPassword, ID, flows.Message(flows.InfoRegistrationSignUp)))
	return nil
}

type registrationBody struct {
	Traits   json.RawMessage `json:"traits"`
	Password string          `json:"password"`
}

// Register validates traits and password and creates the identity in tx.
func (s *Strategy) Register(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) (*flows.RegistrationResult, error) {
	var b registrationBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return nil, flows.NewValidationError(flows.Generic("The request body does not match the password method: " + err.Error()))
	}
	ve := &flows.ValidationError{Values: map[string]any{}}
	flows.Flatten("traits", b.Traits, ve.Values)
	if len(bytes.TrimSpace(b.Traits)) == 0 || bytes.Equal(bytes.TrimSpace(b.Traits), []byte("null")) {
		ve.AddNode("traits", flows.Required("traits"))
		return nil, ve
	}
	if b.Password == "" {
		ve.AddNode("password", flows.Required("password"))
		return nil, ve
	}
	sch, err := s.defaultSchema(ctx, r.Project)
	if err != nil {
		return nil, err
	}
	compiled, err := s.schemas.Get(sch.ID, sch.Schema)
	if err != nil {
		return nil, err
	}
	if err := compiled.ValidateTraits(b.Traits); err != nil {
		return nil, flows.TraitErrors(err, ve)
	}
	ids := compiled.Extract(b.Traits).Identifiers[identity.CredentialsPassword]
	if len(ids) == 0 {
		return nil, ve.AddNode("traits", flows.Generic("No login identifiers found: the identity schema marks no trait as a password identifier."))
	}
	if m := s.checkPolicy(r, b.Password, ids); m != nil {
		return nil, ve.AddNode("password", m)
	}
	hashed, err := s.Identities.Hasher.Hash(b.Password)
	if err != nil {
		return nil, err
	}
	created, err := s.Identities.CreateTx(ctx, tx, &identity.Write{SchemaID: sch.ID, Traits: b.Traits, State: identity.StateActive,
		Password: &identity.PasswordConfig{HashedPassword: hashed}})
	switch {
	case errx.Has(err, errx.Conflict):
		return nil, &flows.ValidationError{Flow: []*flows.Text{flows.Message(flows.ErrValidationDuplicate)}, Values: ve.Values}
	case err != nil:
		return nil, flows.TraitErrors(err, ve)
	}
	return &flows.RegistrationResult{IdentityID: created.ID, Method: session.AuthenticationMethod{Method: ID, AAL: session.AAL1}, Identity: created}, nil
}
