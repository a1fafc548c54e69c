package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// StoredSchema is one identity schema of a project.
type StoredSchema struct {
	ID        string          `json:"id"`
	Schema    json.RawMessage `json:"schema"`
	IsDefault bool            `json:"-"`
}

var errSchemaNotFound = errx.New(errx.NotFound, "The requested identity schema does not exist.")

// SchemaURL is where the public API serves schema id, under baseURL.
func SchemaURL(baseURL, id string) string {
	return baseURL + "/schemas/" + base64.RawURLEncoding.EncodeToString([]byte(id))
}

func getSchema(ctx context.Context, tx tenant.Tx, id string) (*StoredSchema, error) {
	s := &StoredSchema{ID: id}
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT schema, is_default FROM identity_schemas WHERE id = $1`, id).Scan(&raw, &s.IsDefault)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSchemaNotFound
	}
	s.Schema = raw
	return s, err
}

func defaultSchemaID(ctx context.Context, tx tenant.Tx) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT id FROM identity_schemas WHERE is_default`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errx.New(errx.Invalid, "The project has no default identity schema; name one in schema_id.")
	}
	return id, err
}

func listSchemas(ctx context.Context, tx tenant.Tx) ([]StoredSchema, error) {
	rows, err := tx.Query(ctx, `SELECT id, schema, is_default FROM identity_schemas ORDER BY is_default DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []StoredSchema{}
	for rows.Next() {
		var s StoredSchema
		var raw []byte
		if err := rows.Scan(&s.ID, &raw, &s.IsDefault); err != nil {
			return nil, err
		}
		s.Schema = raw
		out = append(out, s)
	}
	return out, rows.Err()
}

var schemaIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Schemas returns the project's identity schemas, the default first. It
// answers from the process's copy (at most tenant.SettingsTTL old when
// another process changed them); the caller must not change the schemas'
// bytes.
func (m *Manager) Schemas(ctx context.Context, p *tenant.Project) ([]StoredSchema, error) {
	if p == nil {
		return nil, tenant.ErrNoProject
	}
	out, err := m.stored.Load(p.ID, func() (out []StoredSchema, err error) {
		err = m.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
			out, err = listSchemas(ctx, tx)
			return err
		})
		return out, err
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Schemas: %w", err)
	}
	return slices.Clone(out), nil
}

// storedSchema returns schema id of tx's project: from the process's copy
// when it has one that holds id, else from Postgres in tx.
func (m *Manager) storedSchema(ctx context.Context, tx tenant.Tx, id string) (*StoredSchema, error) {
	if p := tx.Project(); p != nil {
		if list, ok := m.stored.Get(p.ID); ok {
			for i := range list {
				if list[i].ID == id {
					s := list[i]
					return &s, nil
				}
			}
		}
	}
	return getSchema(ctx, tx, id)
}

// Schema returns one schema by id; the id may also be given base64url
// encoded (as in schema_url). errx.NotFound when there is none.
func (m *Manager) Schema(ctx context.Context, p *tenant.Project, id string) (*StoredSchema, error) {
	candidates := []string{}
	if schemaIDRE.MatchString(id) {
		candidates = append(candidates, id)
	}
	if dec, err := base64.RawURLEncoding.DecodeString(trimPad(id)); err == nil && schemaIDRE.Match(dec) {
		candidates = append(candidates, string(dec))
	}
	if len(candidates) == 0 {
		return nil, errSchemaNotFound
	}
	var out *StoredSchema
	err := m.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		for _, c := range candidates {
			if out, err = getSchema(ctx, tx, c); !errx.Has(err, errx.NotFound) {
				return err
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Schema: %w", err)
	}
	return out, nil
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// SaveSchema validates raw as an identity schema and stores it under id
// (creating or replacing it); makeDefault makes it the project's default.
// It returns errx.Invalid with the reason for an invalid id or schema.
// Existing identities are not re-validated: they are checked against the
// new version on their next write.
func (m *Manager) SaveSchema(ctx context.Context, p *tenant.Project, id string, raw []byte, makeDefault bool) error {
	if !schemaIDRE.MatchString(id) {
		return errx.New(errx.Invalid, "The schema id must be 1-128 characters: letters, digits, '.', '_' or '-'.")
	}
	if _, err := schema.Compile(id, raw); err != nil {
		return err
	}
	err := m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if makeDefault {
			if _, err := tx.Exec(ctx, `UPDATE identity_schemas SET is_default = false WHERE is_default AND id <> $1`, id); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO identity_schemas (id, schema, is_default) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET schema = excluded.schema, updated_at = now(),
			is_default = identity_schemas.is_default OR excluded.is_default`, id, raw, makeDefault)
		if err == nil {
			m.stored.DropAt(tx)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("identity.Manager.SaveSchema: %w", err)
	}
	return nil
}

// compiledSchema loads and compiles the schema of an identity; an unknown
// schema id is errx.Invalid (the client named it).
func (m *Manager) compiledSchema(ctx context.Context, tx tenant.Tx, id string) (*schema.Schema, error) {
	s, err := m.storedSchema(ctx, tx, id)
	if errx.Has(err, errx.NotFound) {
		return nil, errx.Newf(errx.Invalid, "The identity schema %q does not exist.", id).WithID("unknown_identity_schema")
	}
	if err != nil {
		return nil, err
	}
	return m.schemas.Get(s.ID, s.Schema)
}
