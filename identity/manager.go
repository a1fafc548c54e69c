package identity

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/pagetoken"
	"github.com/lanyard-id/lanyard/tenant"
)

// Manager creates, reads, changes and deletes a project's identities. Its
// exported methods own their transaction; the *Tx variants compose into the
// caller's (flows use them).
type Manager struct {
	DB     *tenant.DB
	Hasher *hash.Hasher
	// Revoker ends an identity's sessions when it is set inactive or
	// deleted, in the same transaction. Nil means there are no sessions.
	Revoker SessionRevoker

	pages   pagetoken.Sealer
	schemas schema.Cache
	cache   *Cache // nil: admin reads go to Postgres
	// stored is the process's copy of each project's identity schemas:
	// every registration and settings flow reads them.
	stored *tenant.Copies[[]StoredSchema]
}

// NewManager returns a Manager. pageKey signs list page tokens (use the
// current configured secret).
func NewManager(db *tenant.DB, h *hash.Hasher, pageKey []byte) *Manager {
	return &Manager{DB: db, Hasher: h, pages: pagetoken.New(append([]byte(nil), pageKey...)),
		stored: tenant.NewCopies[[]StoredSchema](tenant.SettingsTTL)}
}

// Get returns one identity with its credentials (configs included: the
// caller strips them). errx.NotFound if there is none.
func (m *Manager) Get(ctx context.Context, p *tenant.Project, id uuid.UUID) (*Identity, error) {
	var list []*Identity
	// One round trip: the schema pin and the query are pipelined.
	err := m.DB.Read(ctx, p, selectIdentities+`WHERE i.id = $1`, []any{id}, func(rows pgx.Rows) (err error) {
		list, err = scanIdentities(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Get: %w", err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("identity.Manager.Get: %w", errIdentityNotFound)
	}
	return list[0], nil
}

// GetTx is Get inside the caller's transaction.
func (m *Manager) GetTx(ctx context.Context, tx tenant.Tx, id uuid.UUID) (*Identity, error) {
	return getIdentity(ctx, tx, id, false)
}

// Create validates and stores a new identity. A clear-text password is
// hashed with the configured hasher; a hashed one must be in a format
// Verify understands.
func (m *Manager) Create(ctx context.Context, p *tenant.Project, body CreateBody, actor Actor) (*Identity, error) {
	w, err := m.writeFromCreate(body)
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Create: %w", err)
	}
	var out *Identity
	err = m.DB.InTx(ctx, p, func(tx tenant.Tx) (err error) {
		out, err = m.CreateTx(ctx, tx, w)
		if err != nil {
			return err
		}
		return writeAudit(ctx, tx, actor, "identity.create", out.ID.String(), map[string]any{"schema_id": out.SchemaID})
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Create: %w", err)
	}
	return out, nil
}

// CreateTx stores a new identity from w inside the caller's transaction.
// Passwords in w must already be hashed (Write.Password.HashedPassword).
// Creating needs no cache invalidation: the cache never stores a miss, so
// no process holds an entry for an id that did not exist; and later
// changes in the same transaction need none either (tx.MarkInserted).
func (m *Manager) CreateTx(ctx context.Context, tx tenant.Tx, w *Write) (*Identity, error) {
	i, err := m.assemble(ctx, tx, w, nil)
	if err != nil {
		return nil, err
	}
	if err := writeIdentity(ctx, tx, i, false); err != nil {
		return nil, err
	}
	tx.MarkInserted(i.ID)
	return i, nil
}

// Update replaces an identity (PUT): schema, traits, state and both
// metadata are set from body (omitted metadata is cleared); credentials in
// body are added; other credentials and verified addresses are kept.
func (m *Manager) Update(ctx context.Context, p *tenant.Project, id uuid.UUID, body UpdateBody, actor Actor) (*Identity, error) {
	w, err := m.writeFromUpdate(body)
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Update: %w", err)
	}
	var out *Identity
	done := m.writing(ctx, p, id)
	defer done()
	err = m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		existing, err := getIdentity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		w.OrganizationID = existing.OrganizationID
		if out, err = m.replace(ctx, tx, existing, w); err != nil {
			return err
		}
		return writeAudit(ctx, tx, actor, "identity.update", id.String(), map[string]any{"state": out.State})
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Update: %w", err)
	}
	return out, nil
}

// ChangeTx sets the traits and metadata of identity id inside the caller's
// transaction (hooks that change an identity before its flow commits); a
// nil field keeps its value, credentials and address states are kept.
// errx.NotFound, errx.Invalid (traits), errx.Conflict.
func (m *Manager) ChangeTx(ctx context.Context, tx tenant.Tx, id uuid.UUID, traits, metadataPublic, metadataAdmin json.RawMessage) (*Identity, error) {
	existing, err := getIdentity(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	w := &Write{SchemaID: existing.SchemaID, Traits: existing.Traits, State: existing.State,
		MetadataPublic: existing.MetadataPublic, MetadataAdmin: existing.MetadataAdmin,
		VerifiableAddresses: existing.VerifiableAddresses, RecoveryAddresses: existing.RecoveryAddresses,
		OrganizationID: existing.OrganizationID, ExternalID: existing.ExternalID}
	if traits != nil {
		w.Traits = traits
	}
	if metadataPublic != nil {
		w.MetadataPublic = metadataPublic
	}
	if metadataAdmin != nil {
		w.MetadataAdmin = metadataAdmin
	}
	i, err := m.replace(ctx, tx, existing, w)
	if err != nil {
		return nil, err
	}
	m.ChangedTx(ctx, tx, id)
	return i, nil
}

// replace writes w over existing, recording a state change and ending the
// identity's sessions when it becomes inactive.
func (m *Manager) replace(ctx context.Context, tx tenant.Tx, existing *Identity, w *Write) (*Identity, error) {
	i, err := m.assemble(ctx, tx, w, existing)
	if err != nil {
		return nil, err
	}
	if i.State != existing.State {
		t := i.UpdatedAt
		i.StateChangedAt = &t
		if i.State == StateInactive && m.Revoker != nil {
			if err := m.Revoker.RevokeIdentitySessions(ctx, tx, i.ID); err != nil {
				return nil, err
			}
		}
	}
	if err := writeIdentity(ctx, tx, i, true); err != nil {
		return nil, err
	}
	if m.Revoker != nil && !tx.Inserted(i.ID) {
		if err := m.Revoker.IdentityChanged(ctx, tx, i.ID); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// Delete removes an identity with its credentials, addresses and sessions
// and writes an audit event. errx.NotFound if there is none.
func (m *Manager) Delete(ctx context.Context, p *tenant.Project, id uuid.UUID, actor Actor) error {
	done := m.writing(ctx, p, id)
	defer done()
	err := m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		existing, err := getIdentity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if m.Revoker != nil {
			if err := m.Revoker.RevokeIdentitySessions(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := deleteIdentity(ctx, tx, id); err != nil {
			return err
		}
		idents := map[string][]string{}
		for t, c := range existing.Credentials {
			idents[t] = c.Identifiers
		}
		return writeAudit(ctx, tx, actor, "identity.delete", id.String(), map[string]any{
			"schema_id": existing.SchemaID, "identifiers": idents, "external_id": existing.ExternalID})
	})
	if err != nil {
		return fmt.Errorf("identity.Manager.Delete: %w", err)
	}
	return nil
}

// DeleteCredential removes one credential type from an identity. First
// factors (password, code) cannot be removed (errx.Invalid); oidc needs the
// identifier ("provider:subject") of the link to remove.
func (m *Manager) DeleteCredential(ctx context.Context, p *tenant.Project, id uuid.UUID, typ, identifier string, actor Actor) error {
	if !knownType(typ) {
		return errx.Newf(errx.Invalid, "%q is not a credential type.", typ)
	}
	if typ == CredentialsPassword || typ == CredentialsCode {
		return errx.New(errx.Invalid, "You cannot remove first factor credentials.")
	}
	if typ == CredentialsOIDC && identifier == "" {
		return errx.New(errx.Invalid, "Removing oidc credentials needs the identifier query parameter (provider:subject).")
	}
	done := m.writing(ctx, p, id)
	defer done()
	err := m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		i, err := getIdentity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		c, ok := i.Credentials[typ]
		if !ok {
			return errx.Newf(errx.NotFound, "The identity has no %s credentials.", typ)
		}
		if typ == CredentialsOIDC {
			if err := removeOIDC(c, identifier); err != nil {
				return err
			}
			if len(c.Identifiers) == 0 {
				delete(i.Credentials, typ)
			}
		} else {
			delete(i.Credentials, typ)
		}
		i.UpdatedAt = now()
		if err := writeIdentity(ctx, tx, i, true); err != nil {
			return err
		}
		return writeAudit(ctx, tx, actor, "identity.credentials.delete", id.String(), map[string]any{"type": typ, "identifier": identifier})
	})
	if err != nil {
		return fmt.Errorf("identity.Manager.DeleteCredential: %w", err)
	}
	return nil
}

func removeOIDC(c *Credential, identifier string) error {
	var cfg OIDCConfig
	_ = json.Unmarshal(c.Config, &cfg)
	kept := cfg.Providers[:0]
	found := false
	for _, pr := range cfg.Providers {
		if pr.Provider+":"+pr.Subject == identifier {
			found = true
			continue
		}
		kept = append(kept, pr)
	}
	if !found {
		return errx.Newf(errx.NotFound, "The identity has no oidc credential %q.", identifier)
	}
	cfg.Providers = kept
	c.Config, _ = json.Marshal(cfg)
	idents := c.Identifiers[:0]
	for _, x := range c.Identifiers {
		if x != identifier {
			idents = append(idents, x)
		}
	}
	c.Identifiers = idents
	return nil
}

func knownType(t string) bool {
	for _, k := range KnownCredentialTypes {
		if k == t {
			return true
		}
	}
	return false
}

// PublicIdentity renders identity id as the identity itself may see it (no
// credentials, no admin metadata), with schema_url under baseURL. It is
// what sessions embed; errx.NotFound when there is none.
func (m *Manager) PublicIdentity(ctx context.Context, tx tenant.Tx, id uuid.UUID, baseURL string) (json.RawMessage, error) {
	i, err := getIdentity(ctx, tx, id, false)
	if err != nil {
		return nil, err
	}
	return PublicJSON(i, baseURL)
}

// PublicJSON is i as the public API shows it (no credentials, no admin
// metadata), with its schema_url under baseURL.
func PublicJSON(i *Identity, baseURL string) (json.RawMessage, error) {
	p := i.Public()
	p.SchemaURL = SchemaURL(baseURL, p.SchemaID)
	return json.Marshal(p)
}
