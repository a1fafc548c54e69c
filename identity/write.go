package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// CreateBody is the admin API's createIdentityBody.
type CreateBody struct {
	SchemaID            string              `json:"schema_id"`
	Traits              json.RawMessage     `json:"traits"`
	State               string              `json:"state,omitempty"`
	MetadataPublic      json.RawMessage     `json:"metadata_public,omitempty"`
	MetadataAdmin       json.RawMessage     `json:"metadata_admin,omitempty"`
	VerifiableAddresses []VerifiableAddress `json:"verifiable_addresses,omitempty"`
	RecoveryAddresses   []RecoveryAddress   `json:"recovery_addresses,omitempty"`
	Credentials         *ImportCredentials  `json:"credentials,omitempty"`
	OrganizationID      *uuid.UUID          `json:"organization_id,omitempty"`
	ExternalID          *string             `json:"external_id,omitempty"`
}

// UpdateBody is the admin API's updateIdentityBody (PUT).
type UpdateBody struct {
	SchemaID       string             `json:"schema_id"`
	Traits         json.RawMessage    `json:"traits"`
	State          string             `json:"state"`
	MetadataPublic json.RawMessage    `json:"metadata_public,omitempty"`
	MetadataAdmin  json.RawMessage    `json:"metadata_admin,omitempty"`
	Credentials    *ImportCredentials `json:"credentials,omitempty"`
	ExternalID     *string            `json:"external_id,omitempty"`
}

// ImportCredentials are the credentials an admin may set.
type ImportCredentials struct {
	Password *struct {
		Config PasswordImport `json:"config"`
	} `json:"password,omitempty"`
	OIDC *struct {
		Config struct {
			Providers []OIDCProvider `json:"providers"`
		} `json:"config"`
	} `json:"oidc,omitempty"`
}

// PasswordImport is a clear-text or an already hashed password.
type PasswordImport struct {
	Password                 string `json:"password,omitempty"`
	HashedPassword           string `json:"hashed_password,omitempty"`
	UsePasswordMigrationHook bool   `json:"use_password_migration_hook,omitempty"`
}

// Write is everything a write may set, after passwords are hashed. The
// schema decides identifiers and addresses; Addresses given here only
// carry the verification state of addresses the traits declare.
type Write struct {
	ID                  uuid.UUID // zero: a new id
	SchemaID            string
	Traits              json.RawMessage
	State               string
	MetadataPublic      json.RawMessage
	MetadataAdmin       json.RawMessage
	VerifiableAddresses []VerifiableAddress
	RecoveryAddresses   []RecoveryAddress
	Password            *PasswordConfig
	OIDC                []OIDCProvider
	OrganizationID      *uuid.UUID
	ExternalID          *string
	// Credentials are stored as given (lossless import); Password and
	// OIDC still apply on top.
	Credentials map[string]*Credential
	// Timestamps of a lossless import (zero: now).
	CreatedAt, UpdatedAt time.Time
	StateChangedAt       *time.Time
}

// passwordFrom hashes a clear-text password or checks a hashed one.
func (m *Manager) passwordFrom(pi PasswordImport) (*PasswordConfig, error) {
	switch {
	case pi.Password != "" && pi.HashedPassword != "":
		return nil, errx.New(errx.Invalid, "Give credentials.password.config either password or hashed_password, not both.")
	case pi.Password != "":
		h, err := m.Hasher.Hash(pi.Password)
		if err != nil {
			return nil, err
		}
		return &PasswordConfig{HashedPassword: h, UsePasswordMigrationHook: pi.UsePasswordMigrationHook}, nil
	case pi.HashedPassword != "":
		if err := hash.Check(pi.HashedPassword); err != nil {
			return nil, err
		}
		return &PasswordConfig{HashedPassword: pi.HashedPassword, UsePasswordMigrationHook: pi.UsePasswordMigrationHook}, nil
	case pi.UsePasswordMigrationHook:
		return &PasswordConfig{UsePasswordMigrationHook: true}, nil
	}
	return nil, errx.New(errx.Invalid, "credentials.password.config needs password or hashed_password.")
}

func (m *Manager) applyImport(w *Write, c *ImportCredentials) error {
	if c == nil {
		return nil
	}
	if c.Password != nil {
		pc, err := m.passwordFrom(c.Password.Config)
		if err != nil {
			return err
		}
		w.Password = pc
	}
	if c.OIDC != nil {
		for _, p := range c.OIDC.Config.Providers {
			if p.Provider == "" || p.Subject == "" {
				return errx.New(errx.Invalid, "Every credentials.oidc.config.providers entry needs provider and subject.")
			}
		}
		w.OIDC = c.OIDC.Config.Providers
	}
	return nil
}

func (m *Manager) writeFromCreate(b CreateBody) (*Write, error) {
	w := &Write{SchemaID: b.SchemaID, Traits: b.Traits, State: b.State, MetadataPublic: b.MetadataPublic,
		MetadataAdmin: b.MetadataAdmin, VerifiableAddresses: b.VerifiableAddresses, RecoveryAddresses: b.RecoveryAddresses,
		OrganizationID: b.OrganizationID, ExternalID: b.ExternalID}
	return w, m.applyImport(w, b.Credentials)
}

func (m *Manager) writeFromUpdate(b UpdateBody) (*Write, error) {
	if b.State == "" {
		return nil, errx.New(errx.Invalid, "state is required (active or inactive).")
	}
	w := &Write{SchemaID: b.SchemaID, Traits: b.Traits, State: b.State, MetadataPublic: b.MetadataPublic,
		MetadataAdmin: b.MetadataAdmin, ExternalID: b.ExternalID}
	return w, m.applyImport(w, b.Credentials)
}

// assemble builds the identity that w describes (over existing, if any):
// it validates schema, traits and state, derives identifiers and addresses
// from the schema extension and carries over verification state.
func (m *Manager) assemble(ctx context.Context, tx tenant.Tx, w *Write, existing *Identity) (*Identity, error) {
	var err error
	if w.SchemaID == "" {
		if w.SchemaID, err = defaultSchemaID(ctx, tx); err != nil {
			return nil, err
		}
	}
	sch, err := m.compiledSchema(ctx, tx, w.SchemaID)
	if err != nil {
		return nil, err
	}
	return build(sch, w, existing)
}

// build is assemble once the schema is known; it touches no database.
func build(sch *schema.Schema, w *Write, existing *Identity) (*Identity, error) {
	if len(bytes.TrimSpace(w.Traits)) == 0 {
		return nil, errx.New(errx.Invalid, "traits is required.")
	}
	if err := sch.ValidateTraits(w.Traits); err != nil {
		return nil, err
	}
	state := w.State
	if state == "" {
		state = StateActive
	}
	if state != StateActive && state != StateInactive {
		return nil, errx.Newf(errx.Invalid, "state must be %q or %q.", StateActive, StateInactive)
	}
	if w.ExternalID != nil && *w.ExternalID == "" {
		w.ExternalID = nil
	}
	t := now()
	i := &Identity{ID: w.ID, SchemaID: w.SchemaID, State: state, Traits: compact(w.Traits),
		MetadataPublic: nullable(w.MetadataPublic), MetadataAdmin: nullable(w.MetadataAdmin),
		OrganizationID: w.OrganizationID, ExternalID: w.ExternalID, CreatedAt: t, UpdatedAt: t, StateChangedAt: w.StateChangedAt,
		Credentials: map[string]*Credential{}}
	if !w.CreatedAt.IsZero() {
		i.CreatedAt = w.CreatedAt.UTC()
	}
	if !w.UpdatedAt.IsZero() {
		i.UpdatedAt = w.UpdatedAt.UTC()
	}
	var prevVA []VerifiableAddress
	var prevRA []RecoveryAddress
	if existing != nil {
		i.ID, i.CreatedAt, i.StateChangedAt = existing.ID, existing.CreatedAt, existing.StateChangedAt
		for k, c := range existing.Credentials {
			i.Credentials[k] = c
		}
		prevVA, prevRA = existing.VerifiableAddresses, existing.RecoveryAddresses
	} else if i.ID == uuid.Nil {
		i.ID, _ = uuid.NewV7()
	}
	for k, c := range w.Credentials {
		i.Credentials[k] = c
	}
	cred := func(typ string) *Credential {
		c, ok := i.Credentials[typ]
		if !ok {
			c = &Credential{Type: typ, Identifiers: []string{}, Config: json.RawMessage("{}"), CreatedAt: t, UpdatedAt: t}
			i.Credentials[typ] = c
		}
		return c
	}
	if w.Password != nil {
		c := cred(CredentialsPassword)
		c.Config, _ = json.Marshal(w.Password)
		c.UpdatedAt = t
	}
	if len(w.OIDC) > 0 {
		c := cred(CredentialsOIDC)
		var cfg OIDCConfig
		_ = json.Unmarshal(c.Config, &cfg)
		for _, p := range w.OIDC {
			cfg.Providers = append(cfg.Providers, p)
			c.Identifiers = appendUnique(c.Identifiers, p.Provider+":"+p.Subject)
		}
		c.Config, _ = json.Marshal(cfg)
		c.UpdatedAt = t
	}
	ex := sch.Extract(i.Traits)
	for _, typ := range []string{CredentialsPassword, CredentialsWebAuthn, CredentialsCode} {
		idents := ex.Identifiers[typ]
		if len(idents) == 0 {
			if c, ok := i.Credentials[typ]; ok {
				c.Identifiers = []string{}
			}
			continue
		}
		c := cred(typ)
		c.Identifiers = append([]string(nil), idents...)
	}
	if len(ex.CodeAddresses) > 0 {
		type addr struct {
			Channel string `json:"channel"`
			Address string `json:"address"`
		}
		list := make([]addr, 0, len(ex.CodeAddresses))
		for _, a := range ex.CodeAddresses {
			list = append(list, addr{Channel: a.Via, Address: a.Value})
		}
		i.Credentials[CredentialsCode].Config, _ = json.Marshal(map[string]any{"addresses": list})
	}
	for _, c := range i.Credentials {
		if c.Identifiers == nil {
			c.Identifiers = []string{}
		}
		sort.Strings(c.Identifiers)
	}
	i.VerifiableAddresses = mergeVerifiable(ex.Verifiable, w.VerifiableAddresses, prevVA, t)
	i.RecoveryAddresses = mergeRecovery(ex.Recovery, w.RecoveryAddresses, prevRA, t)
	return i, nil
}

func mergeVerifiable(derived []schema.Address, given, prev []VerifiableAddress, t time.Time) []VerifiableAddress {
	out := make([]VerifiableAddress, 0, len(derived))
	for _, d := range derived {
		a := VerifiableAddress{Value: d.Value, Via: d.Via, Status: AddressPending, CreatedAt: t, UpdatedAt: t}
		if p, ok := findVA(given, d); ok {
			a = p
			a.Value, a.Via = d.Value, d.Via
			if a.Status == "" {
				a.Status = AddressPending
				if a.Verified {
					a.Status = AddressCompleted
				}
			}
			if old, ok := findVA(prev, d); ok && a.ID == uuid.Nil {
				a.ID, a.CreatedAt = old.ID, old.CreatedAt
			}
		} else if p, ok := findVA(prev, d); ok {
			a = p
		}
		if a.ID == uuid.Nil {
			a.ID = uuid.New()
		}
		if a.CreatedAt.IsZero() {
			a.CreatedAt = t
		}
		if a.UpdatedAt.IsZero() {
			a.UpdatedAt = t
		}
		if a.Verified && a.VerifiedAt == nil {
			v := t
			a.VerifiedAt = &v
		}
		if !a.Verified {
			a.VerifiedAt = nil
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(x, y int) bool {
		if !out[x].CreatedAt.Equal(out[y].CreatedAt) {
			return out[x].CreatedAt.Before(out[y].CreatedAt)
		}
		return out[x].Value < out[y].Value
	})
	return out
}

func findVA(list []VerifiableAddress, d schema.Address) (VerifiableAddress, bool) {
	for _, a := range list {
		if a.Via == d.Via && schema.NormalizeAddress(a.Via, a.Value) == d.Value {
			return a, true
		}
	}
	return VerifiableAddress{}, false
}

func mergeRecovery(derived []schema.Address, given, prev []RecoveryAddress, t time.Time) []RecoveryAddress {
	out := make([]RecoveryAddress, 0, len(derived))
	for _, d := range derived {
		a := RecoveryAddress{ID: uuid.New(), Value: d.Value, Via: d.Via, CreatedAt: t, UpdatedAt: t}
		for _, list := range [][]RecoveryAddress{prev, given} {
			for _, p := range list {
				if p.Via == d.Via && schema.NormalizeAddress(p.Via, p.Value) == d.Value {
					if p.ID != uuid.Nil {
						a.ID = p.ID
					}
					if !p.CreatedAt.IsZero() {
						a.CreatedAt = p.CreatedAt
					}
					if !p.UpdatedAt.IsZero() {
						a.UpdatedAt = p.UpdatedAt
					}
				}
			}
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(x, y int) bool {
		if !out[x].CreatedAt.Equal(out[y].CreatedAt) {
			return out[x].CreatedAt.Before(out[y].CreatedAt)
		}
		return out[x].Value < out[y].Value
	})
	return out
}

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func sortedTypes(m map[string]*Credential) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
