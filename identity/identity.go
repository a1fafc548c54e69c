// Package identity holds a project's identities (the Kratos model: traits
// validated by an identity schema, credentials, verifiable and recovery
// addresses, metadata), its identity schemas, and the admin API over them.
//
// Errors: the Manager returns errx.NotFound for an unknown identity or
// schema, errx.Invalid (400) for bad input — invalid traits carry
// *schema.ValidationError — and errx.Conflict when an identifier, address
// or external id belongs to another identity.
package identity

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant"
)

// Identity states.
const (
	StateActive   = "active"
	StateInactive = "inactive"
)

// Credential types.
const (
	CredentialsPassword     = "password"
	CredentialsOIDC         = "oidc"
	CredentialsTOTP         = "totp"
	CredentialsLookupSecret = "lookup_secret"
	CredentialsWebAuthn     = "webauthn"
	CredentialsCode         = "code"
	CredentialsPasskey      = "passkey"
	CredentialsProfile      = "profile"
)

// KnownCredentialTypes are the types Lanyard stores.
var KnownCredentialTypes = []string{CredentialsPassword, CredentialsOIDC, CredentialsTOTP, CredentialsLookupSecret,
	CredentialsWebAuthn, CredentialsCode, CredentialsPasskey, CredentialsProfile}

// Identity is the Kratos identity, in its admin JSON shape.
type Identity struct {
	ID                  uuid.UUID              `json:"id"`
	SchemaID            string                 `json:"schema_id"`
	SchemaURL           string                 `json:"schema_url"`
	State               string                 `json:"state"`
	StateChangedAt      *time.Time             `json:"state_changed_at,omitempty"`
	Traits              json.RawMessage        `json:"traits"`
	VerifiableAddresses []VerifiableAddress    `json:"verifiable_addresses,omitempty"`
	RecoveryAddresses   []RecoveryAddress      `json:"recovery_addresses,omitempty"`
	MetadataPublic      json.RawMessage        `json:"metadata_public"`
	MetadataAdmin       json.RawMessage        `json:"metadata_admin,omitempty"`
	Credentials         map[string]*Credential `json:"credentials,omitempty"`
	OrganizationID      *uuid.UUID             `json:"organization_id"`
	ExternalID          *string                `json:"external_id,omitempty"`
	CreatedAt           time.Time              `json:"created_at"`
	UpdatedAt           time.Time              `json:"updated_at"`
}

// Credential is one credential of an identity. Config is the type's
// secret material (for password: {"hashed_password": ...}); admin reads
// strip it unless asked for.
type Credential struct {
	Type        string          `json:"type"`
	Identifiers []string        `json:"identifiers"`
	Config      json.RawMessage `json:"config,omitempty"`
	Version     int             `json:"version"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// VerifiableAddress is an address the identity can verify.
type VerifiableAddress struct {
	ID         uuid.UUID  `json:"id"`
	Value      string     `json:"value"`
	Verified   bool       `json:"verified"`
	Via        string     `json:"via"`
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// RecoveryAddress is an address recovery messages go to.
type RecoveryAddress struct {
	ID        uuid.UUID `json:"id"`
	Value     string    `json:"value"`
	Via       string    `json:"via"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Verifiable address statuses.
const (
	AddressPending   = "pending"
	AddressSent      = "sent"
	AddressCompleted = "completed"
)

// PasswordConfig is the stored config of a password credential.
type PasswordConfig struct {
	HashedPassword           string `json:"hashed_password,omitempty"`
	UsePasswordMigrationHook bool   `json:"use_password_migration_hook,omitempty"`
}

// OIDCProvider is one linked social sign-in account.
type OIDCProvider struct {
	Subject             string `json:"subject"`
	Provider            string `json:"provider"`
	InitialIDToken      string `json:"initial_id_token,omitempty"`
	InitialAccessToken  string `json:"initial_access_token,omitempty"`
	InitialRefreshToken string `json:"initial_refresh_token,omitempty"`
	Organization        string `json:"organization,omitempty"`
	UseAutoLink         bool   `json:"use_auto_link,omitempty"`
}

// OIDCConfig is the stored config of an oidc credential.
type OIDCConfig struct {
	Providers []OIDCProvider `json:"providers"`
}

// Public returns a copy fit for the identity itself (sessions, settings):
// no credentials and no admin metadata.
func (i *Identity) Public() *Identity {
	c := *i
	c.Credentials = nil
	c.MetadataAdmin = nil
	return &c
}

// StripCredentials removes the config of every credential whose type is
// not in include (the admin API's include_credential).
func (i *Identity) StripCredentials(include []string) {
	for t, c := range i.Credentials {
		keep := false
		for _, in := range include {
			if in == t {
				keep = true
			}
		}
		if !keep {
			c.Config = nil
		}
	}
}

// SessionRevoker ends every session of an identity inside the caller's
// transaction. The sessions package implements it; the Manager calls it
// when an identity is set inactive or deleted, and calls IdentityChanged
// after every other change so that cached whoami answers (which carry the
// identity) are not served stale.
type SessionRevoker interface {
	RevokeIdentitySessions(ctx context.Context, tx tenant.Tx, identityID uuid.UUID) error
	IdentityChanged(ctx context.Context, tx tenant.Tx, identityID uuid.UUID) error
}

// Actor names who made a change, for the audit log.
type Actor struct {
	// Name is e.g. "api_key:<id>" or "cli".
	Name string
	IP   string
}
