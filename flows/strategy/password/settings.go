package password

import (
	"context"
	"encoding/json"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/tenant"
)

var _ flows.SettingsStrategy = (*Strategy)(nil)

// PopulateSettings adds a new-password input and its Save button.
func (s *Strategy) PopulateSettings(_ context.Context, _ tenant.Tx, _ *flows.Request, f *flows.Flow) error {
	pw := flows.NewInput(flows.GroupPassword, "password", flows.InputPassword, nil, flows.Message(flows.InfoNodeLabelPassword))
	pw.Input().Required, pw.Input().Autocomplete = true, "new-password"
	f.UI.RemoveGroup(flows.GroupPassword)
	f.UI.Add(pw, flows.NewSubmit(flows.GroupPassword, ID, flows.Message(flows.InfoNodeLabelSave)))
	return nil
}

// Settings checks a new password against the policy; changing it is
// always privileged.
func (s *Strategy) Settings(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) (*flows.SettingsResult, error) {
	var b struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return nil, flows.NewValidationError(flows.Generic("The request body does not match the password method: " + err.Error()))
	}
	ve := &flows.ValidationError{}
	if b.Password == "" {
		return nil, ve.AddNode("password", flows.Required("password"))
	}
	i, err := s.Identities.GetTx(ctx, tx, *f.IdentityID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range i.Credentials {
		ids = append(ids, c.Identifiers...)
	}
	if m := s.checkPolicy(r, b.Password, ids); m != nil {
		return nil, ve.AddNode("password", m)
	}
	return &flows.SettingsResult{Privileged: true, Apply: func(ctx context.Context) error {
		creds := &identity.ImportCredentials{Password: &struct {
			Config identity.PasswordImport `json:"config"`
		}{Config: identity.PasswordImport{Password: b.Password}}}
		_, err := s.Identities.Update(ctx, r.Project, i.ID, identity.UpdateBody{SchemaID: i.SchemaID, Traits: i.Traits, State: i.State,
			MetadataPublic: i.MetadataPublic, MetadataAdmin: i.MetadataAdmin, ExternalID: i.ExternalID, Credentials: creds},
			identity.Actor{Name: "self-service:" + i.ID.String(), IP: r.HTTP.RemoteAddr})
		return err
	}}, nil
}
