package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// SQL of identities and identity schemas. Every helper takes a tenant.Tx,
// so callers compose them in one transaction pinned to one project.

const selectIdentities = `SELECT i.id, i.schema_id, i.state, i.state_changed_at, i.traits, i.metadata_public, i.metadata_admin,
  i.external_id, i.organization_id, i.created_at, i.updated_at,
  (SELECT json_agg(json_build_object('type', c.type, 'config', c.config, 'version', c.version,
      'created_at', c.created_at, 'updated_at', c.updated_at,
      'identifiers', (SELECT coalesce(json_agg(ci.identifier ORDER BY ci.identifier), '[]')
                      FROM identity_credential_identifiers ci WHERE ci.credential_id = c.id)) ORDER BY c.type)
   FROM identity_credentials c WHERE c.identity_id = i.id),
  (SELECT json_agg(json_build_object('id', v.id, 'value', v.value, 'verified', v.verified, 'via', v.via, 'status', v.status,
      'verified_at', v.verified_at, 'created_at', v.created_at, 'updated_at', v.updated_at) ORDER BY v.created_at, v.value)
   FROM identity_verifiable_addresses v WHERE v.identity_id = i.id),
  (SELECT json_agg(json_build_object('id', r.id, 'value', r.value, 'via', r.via,
      'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.created_at, r.value)
   FROM identity_recovery_addresses r WHERE r.identity_id = i.id)
FROM identities i `

func scanIdentities(rows pgx.Rows) ([]*Identity, error) {
	defer rows.Close()
	var out []*Identity
	for rows.Next() {
		i := &Identity{}
		var traits, mpub, madm, creds, vas, ras []byte
		if err := rows.Scan(&i.ID, &i.SchemaID, &i.State, &i.StateChangedAt, &traits, &mpub, &madm, &i.ExternalID,
			&i.OrganizationID, &i.CreatedAt, &i.UpdatedAt, &creds, &vas, &ras); err != nil {
			return nil, err
		}
		i.Traits = json.RawMessage(traits)
		i.MetadataPublic = nullable(mpub)
		i.MetadataAdmin = nullable(madm)
		i.CreatedAt, i.UpdatedAt = i.CreatedAt.UTC(), i.UpdatedAt.UTC()
		if i.StateChangedAt != nil {
			t := i.StateChangedAt.UTC()
			i.StateChangedAt = &t
		}
		if len(creds) > 0 {
			var list []*Credential
			if err := json.Unmarshal(creds, &list); err != nil {
				return nil, fmt.Errorf("decode credentials: %w", err)
			}
			i.Credentials = make(map[string]*Credential, len(list))
			for _, c := range list {
				c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
				i.Credentials[c.Type] = c
			}
		}
		if len(vas) > 0 {
			if err := json.Unmarshal(vas, &i.VerifiableAddresses); err != nil {
				return nil, fmt.Errorf("decode verifiable addresses: %w", err)
			}
			for k := range i.VerifiableAddresses {
				a := &i.VerifiableAddresses[k]
				a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
				if a.VerifiedAt != nil {
					t := a.VerifiedAt.UTC()
					a.VerifiedAt = &t
				}
			}
		}
		if len(ras) > 0 {
			if err := json.Unmarshal(ras, &i.RecoveryAddresses); err != nil {
				return nil, fmt.Errorf("decode recovery addresses: %w", err)
			}
			for k := range i.RecoveryAddresses {
				a := &i.RecoveryAddresses[k]
				a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
			}
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

func nullable(b []byte) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return json.RawMessage(b)
}

var errIdentityNotFound = errx.New(errx.NotFound, "Unable to locate the resource")

func getIdentity(ctx context.Context, tx tenant.Tx, id uuid.UUID, forUpdate bool) (*Identity, error) {
	q := selectIdentities + `WHERE i.id = $1`
	if forUpdate {
		// lock the row first so that concurrent writers serialise
		if _, err := tx.Exec(ctx, `SELECT 1 FROM identities WHERE id = $1 FOR UPDATE`, id); err != nil {
			return nil, err
		}
	}
	return queryIdentity(ctx, tx, q, id)
}

// queryIdentity runs q, a selectIdentities query for at most one
// identity; errIdentityNotFound when it finds none.
func queryIdentity(ctx context.Context, tx tenant.Tx, q string, args ...any) (*Identity, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	list, err := scanIdentities(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errIdentityNotFound
	}
	return list[0], nil
}

// listFilter selects identities for the admin list (at most one filter).
type listFilter struct {
	After      uuid.UUID // keyset cursor, exclusive
	Offset     int       // legacy page pagination: rows to skip after After
	Limit      int
	IDs        []uuid.UUID
	Identifier string
}

// where returns the filter's condition on i (without the cursor) and its
// arguments, numbered from $first.
func (f listFilter) where(first int) (string, []any) {
	switch {
	case f.IDs != nil:
		return fmt.Sprintf(` AND i.id = ANY($%d)`, first), []any{f.IDs}
	case f.Identifier != "":
		return fmt.Sprintf(` AND i.id IN (SELECT identity_id FROM identity_credential_identifiers WHERE identifier IN ($%d, lower($%d)))`, first, first),
			[]any{f.Identifier}
	}
	return "", nil
}

func listIdentities(ctx context.Context, tx tenant.Tx, f listFilter) ([]*Identity, error) {
	cond, extra := f.where(4)
	q := selectIdentities + `WHERE i.id > $1` + cond + ` ORDER BY i.id LIMIT $2 OFFSET $3`
	rows, err := tx.Query(ctx, q, append([]any{f.After, f.Limit, f.Offset}, extra...)...)
	if err != nil {
		return nil, err
	}
	return scanIdentities(rows)
}

// countIdentities counts the identities f selects, ignoring its cursor,
// offset and limit.
func countIdentities(ctx context.Context, tx tenant.Tx, f listFilter) (int64, error) {
	cond, args := f.where(1)
	var n int64
	err := tx.QueryRow(ctx, `SELECT count(*) FROM identities i WHERE true`+cond, args...).Scan(&n)
	return n, err
}

// writeIdentity inserts or replaces the identity row and everything that
// hangs off it (credentials, identifiers, addresses) in one round trip.
func writeIdentity(ctx context.Context, tx tenant.Tx, i *Identity, replace bool) error {
	b := &pgx.Batch{}
	rows := childRows(i)
	if replace {
		b.Queue(`UPDATE identities SET schema_id = $2, state = $3, state_changed_at = $4, traits = $5, metadata_public = $6,
			metadata_admin = $7, external_id = $8, organization_id = $9, updated_at = $10 WHERE id = $1`,
			i.ID, i.SchemaID, i.State, i.StateChangedAt, []byte(i.Traits), jsonArg(i.MetadataPublic), jsonArg(i.MetadataAdmin),
			i.ExternalID, i.OrganizationID, i.UpdatedAt)
		b.Queue(`DELETE FROM identity_credentials WHERE identity_id = $1`, i.ID)
		b.Queue(`DELETE FROM identity_verifiable_addresses WHERE identity_id = $1`, i.ID)
		b.Queue(`DELETE FROM identity_recovery_addresses WHERE identity_id = $1`, i.ID)
		b.Queue(insertChildrenSQL, append([]any{i.ID}, rows...)...)
	} else {
		// One statement for the identity and all its rows: Postgres
		// checks the foreign keys at its end, when the identity is there.
		b.Queue(insertIdentitySQL, append([]any{i.ID, i.SchemaID, i.State, i.StateChangedAt, []byte(i.Traits),
			jsonArg(i.MetadataPublic), jsonArg(i.MetadataAdmin), i.ExternalID, i.OrganizationID, i.CreatedAt, i.UpdatedAt}, rows...)...)
	}
	br := tx.SendBatch(ctx, b)
	for k := 0; k < b.Len(); k++ {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return mapWriteError(err)
		}
	}
	return br.Close()
}

// childrenSQL inserts an identity's credentials, addresses and
// identifiers, each kind from arrays (one element per row), for the
// identity $1; the arrays are parameters first to first+23 (childRows).
// The identifiers are the main statement, which Postgres runs before the
// WITH items: a conflict on an identifier is the one reported when there
// are several.
func childrenSQL(first int) string {
	n := first - 1
	p := func(typ string) string { n++; return fmt.Sprintf("$%d::%s[]", n, typ) }
	c := `c AS (INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at)
	SELECT u.id, $1, u.type, u.config::jsonb, u.version, u.created_at, u.updated_at
	FROM unnest(` + p("uuid") + `, ` + p("text") + `, ` + p("text") + `, ` + p("int") + `, ` + p("timestamptz") + `, ` + p("timestamptz") + `)
		AS u (id, type, config, version, created_at, updated_at))`
	ids := `INSERT INTO identity_credential_identifiers (id, credential_id, identity_id, type, identifier, created_at)
	SELECT u.id, u.credential_id, $1, u.type, u.identifier, u.created_at
	FROM unnest(` + p("uuid") + `, ` + p("uuid") + `, ` + p("text") + `, ` + p("text") + `, ` + p("timestamptz") + `)
		AS u (id, credential_id, type, identifier, created_at)`
	v := `v AS (INSERT INTO identity_verifiable_addresses (id, identity_id, via, value, verified, verified_at, status, created_at, updated_at)
	SELECT u.id, $1, u.via, u.value, u.verified, u.verified_at, u.status, u.created_at, u.updated_at
	FROM unnest(` + p("uuid") + `, ` + p("text") + `, ` + p("text") + `, ` + p("bool") + `, ` + p("timestamptz") + `, ` + p("text") + `, ` + p("timestamptz") + `, ` + p("timestamptz") + `)
		AS u (id, via, value, verified, verified_at, status, created_at, updated_at))`
	r := `r AS (INSERT INTO identity_recovery_addresses (id, identity_id, via, value, created_at, updated_at)
	SELECT u.id, $1, u.via, u.value, u.created_at, u.updated_at
	FROM unnest(` + p("uuid") + `, ` + p("text") + `, ` + p("text") + `, ` + p("timestamptz") + `, ` + p("timestamptz") + `)
		AS u (id, via, value, created_at, updated_at))`
	return c + ",\n" + v + ",\n" + r + "\n" + ids
}

var (
	insertChildrenSQL = "WITH " + childrenSQL(2)
	insertIdentitySQL = `WITH i AS (INSERT INTO identities (id, schema_id, state, state_changed_at, traits, metadata_public, metadata_admin,
	external_id, organization_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)),
` + childrenSQL(12)
)

// childRows are the 24 array arguments of childrenSQL for i's rows.
func childRows(i *Identity) []any {
	var (
		cID, cType, cConfig, cVersion, cCreated, cUpdated    = []uuid.UUID{}, []string{}, []string{}, []int32{}, []time.Time{}, []time.Time{}
		nID, nCred, nType, nIdent, nCreated                  = []uuid.UUID{}, []uuid.UUID{}, []string{}, []string{}, []time.Time{}
		vID, vVia, vValue, vVerified, vAt, vStatus, vCreated = []uuid.UUID{}, []string{}, []string{}, []bool{}, []*time.Time{}, []string{}, []time.Time{}
		vUpdated                                             = []time.Time{}
		rID, rVia, rValue, rCreated, rUpdated                = []uuid.UUID{}, []string{}, []string{}, []time.Time{}, []time.Time{}
	)
	for _, t := range sortedTypes(i.Credentials) {
		c := i.Credentials[t]
		cid := uuid.New()
		cfg := c.Config
		if len(cfg) == 0 {
			cfg = json.RawMessage("{}")
		}
		cID, cType, cConfig = append(cID, cid), append(cType, c.Type), append(cConfig, string(cfg))
		cVersion, cCreated, cUpdated = append(cVersion, int32(c.Version)), append(cCreated, c.CreatedAt), append(cUpdated, c.UpdatedAt)
		for _, ident := range c.Identifiers {
			nID, nCred, nType = append(nID, uuid.New()), append(nCred, cid), append(nType, c.Type)
			nIdent, nCreated = append(nIdent, ident), append(nCreated, c.CreatedAt)
		}
	}
	for _, a := range i.VerifiableAddresses {
		vID, vVia, vValue, vVerified = append(vID, a.ID), append(vVia, a.Via), append(vValue, a.Value), append(vVerified, a.Verified)
		vAt, vStatus, vCreated, vUpdated = append(vAt, a.VerifiedAt), append(vStatus, a.Status), append(vCreated, a.CreatedAt), append(vUpdated, a.UpdatedAt)
	}
	for _, a := range i.RecoveryAddresses {
		rID, rVia, rValue = append(rID, a.ID), append(rVia, a.Via), append(rValue, a.Value)
		rCreated, rUpdated = append(rCreated, a.CreatedAt), append(rUpdated, a.UpdatedAt)
	}
	return []any{cID, cType, cConfig, cVersion, cCreated, cUpdated,
		nID, nCred, nType, nIdent, nCreated,
		vID, vVia, vValue, vVerified, vAt, vStatus, vCreated, vUpdated,
		rID, rVia, rValue, rCreated, rUpdated}
}

func jsonArg(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return []byte(m)
}

var keyRE = regexp.MustCompile(`^Key \((.+)\)=\((.+)\) already exists`)

// mapWriteError turns unique violations into errx.Conflict naming the
// value (only admins see it) and foreign keys into errx.Invalid.
func mapWriteError(err error) error {
	if constraint, ok := tenant.IsUniqueViolation(err); ok {
		details := map[string]any{"constraint": constraint}
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			if m := keyRE.FindStringSubmatch(pe.Detail); m != nil {
				cols, vals := strings.Split(m[1], ", "), strings.SplitN(m[2], ", ", len(strings.Split(m[1], ", ")))
				renames := map[string]string{"type": "credential_type", "value": "address"}
				for k, col := range cols {
					if alias, ok := renames[col]; ok {
						col = alias
					}
					if k < len(vals) {
						details[col] = vals[k]
					}
				}
			}
		}
		return (&errx.Error{Code: errx.Conflict, ID: "conflict", Reason: conflictReason(constraint), Details: details}).Wrap(err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return errx.New(errx.Invalid, "The identity refers to something that does not exist.").Wrap(err)
	}
	return err
}

func conflictReason(constraint string) string {
	switch constraint {
	case "identity_credential_identifiers_type_identifier_key":
		return "This identity conflicts with another identity that already exists: a credential identifier is in use."
	case "identity_verifiable_addresses_via_value_key":
		return "This identity conflicts with another identity that already exists: a verifiable address is in use."
	case "identity_recovery_addresses_via_value_key":
		return "This identity conflicts with another identity that already exists: a recovery address is in use."
	case "identities_external_id_key":
		return "This identity conflicts with another identity that already exists: the external_id is in use."
	case "identities_pkey":
		return "This identity conflicts with another identity that already exists: the id is in use."
	}
	return "This identity conflicts with another identity that already exists."
}

func deleteIdentity(ctx context.Context, tx tenant.Tx, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `DELETE FROM identities WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errIdentityNotFound
	}
	return nil
}

func writeAudit(ctx context.Context, tx tenant.Tx, a Actor, action, target string, data map[string]any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	name := a.Name
	if name == "" {
		name = "unknown"
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_events (actor, action, target, data, ip) VALUES ($1, $2, $3, $4, $5)`,
		name, action, target, b, a.IP)
	return err
}

// now is the store's clock, at the database's precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
