package session

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Identities renders the identity a session belongs to, as the public API
// shows it (Kratos §8 without credentials and metadata_admin). baseURL is
// the project's public URL as the request addressed it (for schema_url).
// It returns errx.NotFound when the identity does not exist.
//
// The identity package is expected to provide the real implementation;
// TableIdentities reads the tables of migration 0002 directly.
type Identities interface {
	PublicIdentity(ctx context.Context, tx tenant.Tx, id uuid.UUID, baseURL string) (json.RawMessage, error)
}

// TableIdentities implements Identities over the identities,
// identity_verifiable_addresses and identity_recovery_addresses tables.
type TableIdentities struct{}

type publicAddress struct {
	ID         uuid.UUID  `json:"id"`
	Value      string     `json:"value"`
	Verified   *bool      `json:"verified,omitempty"`
	Via        string     `json:"via"`
	Status     string     `json:"status,omitempty"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

type publicIdentity struct {
	ID                  uuid.UUID       `json:"id"`
	SchemaID            string          `json:"schema_id"`
	SchemaURL           string          `json:"schema_url"`
	State               string          `json:"state"`
	StateChangedAt      *time.Time      `json:"state_changed_at,omitempty"`
	Traits              json.RawMessage `json:"traits"`
	VerifiableAddresses []publicAddress `json:"verifiable_addresses"`
	RecoveryAddresses   []publicAddress `json:"recovery_addresses"`
	MetadataPublic      json.RawMessage `json:"metadata_public"`
	CreatedAt           time.Time       `json:"created_at"`
	UpdatedAt           time.Time       `json:"updated_at"`
	OrganizationID      *uuid.UUID      `json:"organization_id"`
}

// PublicIdentity implements Identities.
func (TableIdentities) PublicIdentity(ctx context.Context, tx tenant.Tx, id uuid.UUID, baseURL string) (json.RawMessage, error) {
	var pi publicIdentity
	var meta []byte
	err := tx.QueryRow(ctx, `SELECT id, schema_id, state, state_changed_at, traits, metadata_public, created_at, updated_at, organization_id
		FROM identities WHERE id = $1`, id).Scan(&pi.ID, &pi.SchemaID, &pi.State, &pi.StateChangedAt, &pi.Traits, &meta,
		&pi.CreatedAt, &pi.UpdatedAt, &pi.OrganizationID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errx.New(errx.NotFound, "The identity could not be found.").Wrap(err)
	}
	if err != nil {
		return nil, fmt.Errorf("session.TableIdentities: %w", err)
	}
	pi.MetadataPublic = json.RawMessage("null")
	if meta != nil {
		pi.MetadataPublic = meta
	}
	pi.SchemaURL = baseURL + "/schemas/" + base64.RawURLEncoding.EncodeToString([]byte(pi.SchemaID))
	pi.VerifiableAddresses = []publicAddress{}
	rows, err := tx.Query(ctx, `SELECT id, value, verified, via, status, verified_at, created_at, updated_at
		FROM identity_verifiable_addresses WHERE identity_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("session.TableIdentities: %w", err)
	}
	for rows.Next() {
		var a publicAddress
		a.Verified = new(bool)
		if err := rows.Scan(&a.ID, &a.Value, a.Verified, &a.Via, &a.Status, &a.VerifiedAt, &a.CreatedAt, &a.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("session.TableIdentities: %w", err)
		}
		pi.VerifiableAddresses = append(pi.VerifiableAddresses, a)
	}
	rows.Close()
	pi.RecoveryAddresses = []publicAddress{}
	rows, err = tx.Query(ctx, `SELECT id, value, via, created_at, updated_at
		FROM identity_recovery_addresses WHERE identity_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("session.TableIdentities: %w", err)
	}
	for rows.Next() {
		var a publicAddress
		if err := rows.Scan(&a.ID, &a.Value, &a.Via, &a.CreatedAt, &a.UpdatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("session.TableIdentities: %w", err)
		}
		pi.RecoveryAddresses = append(pi.RecoveryAddresses, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session.TableIdentities: %w", err)
	}
	return json.Marshal(pi)
}
