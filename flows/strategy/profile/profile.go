// Package profile is the profile method: in settings, the identity's
// traits rendered from its schema (group profile) and saved with "Save".
// Changing an identifier trait or an address is privileged (it needs a
// recent login).
package profile

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// ID is the method name.
const ID = "profile"

// Strategy is the profile method.
type Strategy struct {
	Identities *identity.Manager
	schemas    schema.Cache
}

var _ flows.SettingsStrategy = (*Strategy)(nil)

// ID implements flows.Strategy.
func (s *Strategy) ID() string { return ID }

func (s *Strategy) compiled(ctx context.Context, p *tenant.Project, id string) (*schema.Schema, error) {
	st, err := s.Identities.Schema(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.schemas.Get(st.ID, st.Schema)
}

// PopulateSettings renders the identity's traits and the Save button.
func (s *Strategy) PopulateSettings(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) error {
	if f.IdentityID == nil {
		return errx.New(errx.Internal, "").Wrap(errNoIdentity)
	}
	i, err := s.Identities.GetTx(ctx, tx, *f.IdentityID)
	if err != nil {
		return err
	}
	sch, err := s.compiled(ctx, r.Project, i.SchemaID)
	if err != nil {
		return err
	}
	values := map[string]any{}
	flows.Flatten("traits", i.Traits, values)
	f.UI.RemoveGroup(flows.GroupProfile)
	f.UI.Add(flows.TraitNodes(sch.Raw, flows.GroupProfile, values)...)
	f.UI.Add(flows.NewSubmit(flows.GroupProfile, ID, flows.Message(flows.InfoNodeLabelSave)))
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoIdentity = errString("profile: settings flow without identity")

// Settings validates new traits; changing identifiers or addresses is
// privileged.
func (s *Strategy) Settings(ctx context.Context, tx tenant.Tx, r *flows.Request, f *flows.Flow) (*flows.SettingsResult, error) {
	var b struct {
		Traits json.RawMessage `json:"traits"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return nil, flows.NewValidationError(flows.Generic("The request body does not match the profile method: " + err.Error()))
	}
	ve := &flows.ValidationError{Values: map[string]any{}}
	flows.Flatten("traits", b.Traits, ve.Values)
	if len(b.Traits) == 0 || string(b.Traits) == "null" {
		return nil, ve.AddNode("traits", flows.Required("traits"))
	}
	i, err := s.Identities.GetTx(ctx, tx, *f.IdentityID)
	if err != nil {
		return nil, err
	}
	sch, err := s.compiled(ctx, r.Project, i.SchemaID)
	if err != nil {
		return nil, err
	}
	if err := sch.ValidateTraits(b.Traits); err != nil {
		return nil, flows.TraitErrors(err, ve)
	}
	before, after := sch.Extract(i.Traits), sch.Extract(b.Traits)
	privileged := !sameExtracted(before, after)
	return &flows.SettingsResult{Privileged: privileged, Apply: func(ctx context.Context) error {
		_, err := s.Identities.Update(ctx, r.Project, i.ID, identity.UpdateBody{SchemaID: i.SchemaID, Traits: b.Traits, State: i.State,
			MetadataPublic: i.MetadataPublic, MetadataAdmin: i.MetadataAdmin, ExternalID: i.ExternalID},
			identity.Actor{Name: "self-service:" + i.ID.String(), IP: r.HTTP.RemoteAddr})
		if errx.Has(err, errx.Conflict) {
			return &flows.ValidationError{Flow: []*flows.Text{flows.Message(flows.ErrValidationDuplicate)}, Values: ve.Values}
		}
		if err != nil {
			return flows.TraitErrors(err, ve)
		}
		return nil
	}}, nil
}

func sameExtracted(a, b schema.Extracted) bool {
	keys := func(m map[string][]string) []string {
		var out []string
		for t, vs := range m {
			for _, v := range vs {
				out = append(out, t+":"+v)
			}
		}
		slices.Sort(out)
		return out
	}
	addrs := func(as []schema.Address) []string {
		var out []string
		for _, x := range as {
			out = append(out, x.Via+":"+x.Value)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(keys(a.Identifiers), keys(b.Identifiers)) && slices.Equal(addrs(a.Verifiable), addrs(b.Verifiable)) &&
		slices.Equal(addrs(a.Recovery), addrs(b.Recovery)) && slices.Equal(addrs(a.CodeAddresses), addrs(b.CodeAddresses))
}
