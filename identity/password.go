package identity

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// FindByIdentifierTx returns the identity owning a credential identifier
// of type typ (normalised as stored), for login. errx.NotFound if none.
func (m *Manager) FindByIdentifierTx(ctx context.Context, tx tenant.Tx, typ, identifier string) (*Identity, error) {
	ident := identifier
	if typ != CredentialsOIDC {
		ident = schema.NormalizeIdentifier(identifier)
	}
	// One statement: the identifier's identity with everything it holds.
	return queryIdentity(ctx, tx, selectIdentities+`WHERE i.id = (SELECT identity_id FROM identity_credential_identifiers
		WHERE type = $1 AND identifier = $2)`, typ, ident)
}

// CheckPasswordTx verifies password against the identity's password
// credential in constant time. When it matches a hash the configured
// hasher would not produce (an imported legacy hash, older parameters), it
// stores a fresh hash in the caller's transaction. It returns false for a
// wrong password or an identity without a password.
func (m *Manager) CheckPasswordTx(ctx context.Context, tx tenant.Tx, i *Identity, password string) (bool, error) {
	c, ok := i.Credentials[CredentialsPassword]
	if !ok {
		return false, nil
	}
	var cfg PasswordConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil || cfg.HashedPassword == "" {
		return false, nil
	}
	ok, rehash, err := m.Hasher.Verify(password, cfg.HashedPassword)
	if err != nil {
		if errx.Has(err, errx.Invalid) { // a stored hash we cannot read never matches
			return false, nil
		}
		return false, err
	}
	if !ok || !rehash {
		return ok, nil
	}
	fresh, err := m.Hasher.Hash(password)
	if err != nil {
		return true, nil // keep the old hash; the login still succeeded
	}
	cfg.HashedPassword = fresh
	b, _ := json.Marshal(cfg)
	_, err = tx.Exec(ctx, `UPDATE identity_credentials SET config = $3, updated_at = now() WHERE identity_id = $1 AND type = $2`,
		i.ID, CredentialsPassword, b)
	if err != nil {
		return true, err
	}
	m.ChangedTx(ctx, tx, i.ID)
	c.Config = b
	return true, nil
}

// HashedPassword returns the stored password hash of i ("" if none).
func HashedPassword(i *Identity) string {
	c, ok := i.Credentials[CredentialsPassword]
	if !ok {
		return ""
	}
	var cfg PasswordConfig
	_ = json.Unmarshal(c.Config, &cfg)
	return strings.TrimSpace(cfg.HashedPassword)
}
