package identity

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Record is one line of an identities JSONL file: the identity as export
// writes it (the admin shape with every credential's config), or a
// createIdentityBody. schema_url is ignored.
type Record struct {
	ID                  *uuid.UUID                 `json:"id,omitempty"`
	SchemaID            string                     `json:"schema_id"`
	SchemaURL           string                     `json:"schema_url,omitempty"`
	State               string                     `json:"state,omitempty"`
	StateChangedAt      *time.Time                 `json:"state_changed_at,omitempty"`
	Traits              json.RawMessage            `json:"traits"`
	VerifiableAddresses []VerifiableAddress        `json:"verifiable_addresses,omitempty"`
	RecoveryAddresses   []RecoveryAddress          `json:"recovery_addresses,omitempty"`
	MetadataPublic      json.RawMessage            `json:"metadata_public,omitempty"`
	MetadataAdmin       json.RawMessage            `json:"metadata_admin,omitempty"`
	Credentials         map[string]json.RawMessage `json:"credentials,omitempty"`
	OrganizationID      *uuid.UUID                 `json:"organization_id,omitempty"`
	ExternalID          *string                    `json:"external_id,omitempty"`
	CreatedAt           *time.Time                 `json:"created_at,omitempty"`
	UpdatedAt           *time.Time                 `json:"updated_at,omitempty"`
}

type recordCredential struct {
	Type        string          `json:"type,omitempty"`
	Identifiers []string        `json:"identifiers,omitempty"`
	Config      json.RawMessage `json:"config"`
	Version     int             `json:"version,omitempty"`
	CreatedAt   *time.Time      `json:"created_at,omitempty"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
}

// LineError is a refused line of an import.
type LineError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

// ImportResult sums up an import.
type ImportResult struct {
	Imported int
	Failed   []LineError
}

// ImportOptions tune Import.
type ImportOptions struct {
	// BatchSize is how many identities one COPY transaction holds (1000).
	BatchSize int
	// Progress, if set, is called after each batch with the bytes read.
	Progress func(bytesRead int64, imported, failed int)
	Actor    Actor
}

const maxLine = 4 << 20

// Import reads JSONL identities from r and stores them in batches with
// COPY. Hashed passwords are stored as given (after a format check); clear
// ones are hashed. A bad line is reported by number and does not stop the
// import; a batch whose COPY fails on a conflict is retried line by line so
// that only the conflicting lines fail. It returns an error only when the
// import cannot go on (database down, unreadable input).
func (m *Manager) Import(ctx context.Context, p *tenant.Project, r io.Reader, o ImportOptions) (ImportResult, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	schemas, def, err := m.loadSchemas(ctx, p)
	if err != nil {
		return ImportResult{}, fmt.Errorf("identity.Manager.Import: %w", err)
	}
	type item struct {
		line int
		id   *Identity
	}
	type batch struct {
		items  []item
		failed []LineError
		read   int64
	}
	batches := make(chan batch, 2)
	var readErr error
	go func() { // parse and validate while the previous batch is written
		defer close(batches)
		cr := &countingReader{r: r}
		br := bufio.NewReaderSize(cr, 1<<20)
		cur := batch{}
		for line := 1; ; line++ {
			raw, err := readLine(br)
			if len(bytes.TrimSpace(raw)) > 0 {
				i, perr := prepareRecord(m.Hasher, schemas, def, raw)
				if perr != nil {
					cur.failed = append(cur.failed, LineError{Line: line, Err: reasonOf(perr)})
				} else {
					cur.items = append(cur.items, item{line, i})
				}
			}
			if err != nil || len(cur.items) >= o.BatchSize {
				cur.read = cr.n
				select {
				case batches <- cur:
				case <-ctx.Done():
					return
				}
				cur = batch{}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
		}
	}()
	// Imports only insert (an existing id or identifier is a conflict),
	// but the change is published all the same, once, at the end.
	done := m.writing(ctx, p)
	defer done()
	var res ImportResult
	for b := range batches {
		res.Failed = append(res.Failed, b.failed...)
		ids := make([]*Identity, len(b.items))
		for k, it := range b.items {
			ids[k] = it.id
		}
		err := m.DB.InTx(ctx, p, func(tx tenant.Tx) error { return copyIdentities(ctx, tx, ids) })
		if err == nil {
			res.Imported += len(ids)
		} else if errx.CodeOf(err) == errx.Conflict || errx.CodeOf(err) == errx.Invalid {
			// find the bad lines one by one, each in its own savepoint
			err = m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
				for _, it := range b.items {
					if _, err := tx.Exec(ctx, `SAVEPOINT import_item`); err != nil {
						return err
					}
					if werr := writeIdentity(ctx, tx, it.id, false); werr != nil {
						if errx.CodeOf(werr) == errx.Internal {
							return werr
						}
						res.Failed = append(res.Failed, LineError{Line: it.line, Err: reasonOf(werr)})
						if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT import_item`); err != nil {
							return err
						}
						continue
					}
					res.Imported++
				}
				return nil
			})
		}
		if err != nil {
			for range batches { // let the reader finish
			}
			return res, fmt.Errorf("identity.Manager.Import: %w", err)
		}
		if o.Progress != nil {
			o.Progress(b.read, res.Imported, len(res.Failed))
		}
	}
	if readErr != nil {
		return res, fmt.Errorf("identity.Manager.Import: read: %w", readErr)
	}
	err = m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if res.Imported >= analyzeAfter {
			// The planner's statistics of a project that just grew by a
			// bulk import are those of a small one until autovacuum runs.
			if _, err := tx.Exec(ctx, `ANALYZE identities, identity_credentials, identity_credential_identifiers,
				identity_verifiable_addresses, identity_recovery_addresses`); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, o.Actor, "identity.import", "", map[string]any{"imported": res.Imported, "failed": len(res.Failed)})
	})
	return res, err
}

// analyzeAfter is the import size after which the identity tables'
// statistics are gathered at once.
const analyzeAfter = 10000

func reasonOf(err error) string {
	var xe *errx.Error
	if errors.As(err, &xe) && xe.Reason != "" {
		if id, ok := xe.Details["identifier"]; ok {
			return fmt.Sprintf("%s (%v)", xe.Reason, id)
		}
		if a, ok := xe.Details["address"]; ok {
			return fmt.Sprintf("%s (%v)", xe.Reason, a)
		}
		return xe.Reason
	}
	return err.Error()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			for isPrefix && err == nil { // skip the rest of the line
				_, isPrefix, err = br.ReadLine()
			}
			return []byte(`{"line too long":true}`), err
		}
		if !isPrefix || err != nil {
			return buf, err
		}
	}
}

func (m *Manager) loadSchemas(ctx context.Context, p *tenant.Project) (map[string]*schema.Schema, string, error) {
	out := map[string]*schema.Schema{}
	def := ""
	err := m.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
		list, err := listSchemas(ctx, tx)
		if err != nil {
			return err
		}
		for _, s := range list {
			c, err := m.schemas.Get(s.ID, s.Schema)
			if err != nil {
				return err
			}
			out[s.ID] = c
			if s.IsDefault {
				def = s.ID
			}
		}
		return nil
	})
	return out, def, err
}

// prepareRecord decodes, checks and builds one line's identity.
func prepareRecord(h *hash.Hasher, schemas map[string]*schema.Schema, def string, raw []byte) (*Identity, error) {
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, errx.Newf(errx.Invalid, "not a valid identity record: %v", err)
	}
	if rec.SchemaID == "" {
		rec.SchemaID = def
	}
	sch, ok := schemas[rec.SchemaID]
	if !ok {
		return nil, errx.Newf(errx.Invalid, "The identity schema %q does not exist.", rec.SchemaID)
	}
	w := &Write{SchemaID: rec.SchemaID, Traits: rec.Traits, State: rec.State, MetadataPublic: rec.MetadataPublic,
		MetadataAdmin: rec.MetadataAdmin, VerifiableAddresses: rec.VerifiableAddresses, RecoveryAddresses: rec.RecoveryAddresses,
		OrganizationID: rec.OrganizationID, ExternalID: rec.ExternalID, StateChangedAt: rec.StateChangedAt, Credentials: map[string]*Credential{}}
	if rec.ID != nil {
		w.ID = *rec.ID
	}
	if rec.CreatedAt != nil {
		w.CreatedAt = *rec.CreatedAt
	}
	if rec.UpdatedAt != nil {
		w.UpdatedAt = *rec.UpdatedAt
	}
	t := now()
	for typ, rawCred := range rec.Credentials {
		if !knownType(typ) {
			return nil, errx.Newf(errx.Invalid, "unknown credential type %q", typ)
		}
		var rc recordCredential
		d := json.NewDecoder(bytes.NewReader(rawCred))
		d.DisallowUnknownFields()
		if err := d.Decode(&rc); err != nil {
			return nil, errx.Newf(errx.Invalid, "credentials.%s: %v", typ, err)
		}
		c := &Credential{Type: typ, Identifiers: rc.Identifiers, Config: compactOrEmpty(rc.Config), Version: rc.Version, CreatedAt: t, UpdatedAt: t}
		if rc.CreatedAt != nil {
			c.CreatedAt = rc.CreatedAt.UTC()
		}
		if rc.UpdatedAt != nil {
			c.UpdatedAt = rc.UpdatedAt.UTC()
		}
		switch typ {
		case CredentialsPassword:
			var pi PasswordImport
			if err := json.Unmarshal(c.Config, &pi); err != nil {
				return nil, errx.Newf(errx.Invalid, "credentials.password.config: %v", err)
			}
			if pi.Password != "" {
				hv, err := h.Hash(pi.Password)
				if err != nil {
					return nil, err
				}
				c.Config, _ = json.Marshal(PasswordConfig{HashedPassword: hv, UsePasswordMigrationHook: pi.UsePasswordMigrationHook})
			} else if pi.HashedPassword != "" {
				if err := hash.Check(pi.HashedPassword); err != nil {
					return nil, err
				}
			}
		case CredentialsOIDC:
			var cfg OIDCConfig
			if err := json.Unmarshal(c.Config, &cfg); err != nil {
				return nil, errx.Newf(errx.Invalid, "credentials.oidc.config: %v", err)
			}
			c.Identifiers = nil
			for _, pr := range cfg.Providers {
				if pr.Provider == "" || pr.Subject == "" {
					return nil, errx.New(errx.Invalid, "Every credentials.oidc.config.providers entry needs provider and subject.")
				}
				c.Identifiers = appendUnique(c.Identifiers, pr.Provider+":"+pr.Subject)
			}
		}
		w.Credentials[typ] = c
	}
	return build(sch, w, nil)
}

func compactOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return json.RawMessage("{}")
	}
	return compact(raw)
}

// copyIdentities bulk-loads built identities with COPY, table by table.
func copyIdentities(ctx context.Context, tx tenant.Tx, ids []*Identity) error {
	var identities, creds, idents, vas, ras [][]any
	for _, i := range ids {
		identities = append(identities, []any{pgID(i.ID), i.SchemaID, i.State, i.StateChangedAt, []byte(i.Traits), jsonArg(i.MetadataPublic),
			jsonArg(i.MetadataAdmin), i.ExternalID, i.OrganizationID, i.CreatedAt, i.UpdatedAt})
		for _, t := range sortedTypes(i.Credentials) {
			c := i.Credentials[t]
			cid := uuid.New()
			creds = append(creds, []any{pgID(cid), pgID(i.ID), c.Type, []byte(compactOrEmpty(c.Config)), c.Version, c.CreatedAt, c.UpdatedAt})
			for _, ident := range c.Identifiers {
				idents = append(idents, []any{pgID(uuid.New()), pgID(cid), pgID(i.ID), c.Type, ident, c.CreatedAt})
			}
		}
		for _, a := range i.VerifiableAddresses {
			vas = append(vas, []any{pgID(a.ID), pgID(i.ID), a.Via, a.Value, a.Verified, a.VerifiedAt, a.Status, a.CreatedAt, a.UpdatedAt})
		}
		for _, a := range i.RecoveryAddresses {
			ras = append(ras, []any{pgID(a.ID), pgID(i.ID), a.Via, a.Value, a.CreatedAt, a.UpdatedAt})
		}
	}
	tables := []struct {
		name string
		cols []string
		rows [][]any
	}{
		{"identities", []string{"id", "schema_id", "state", "state_changed_at", "traits", "metadata_public", "metadata_admin", "external_id", "organization_id", "created_at", "updated_at"}, identities},
		{"identity_credentials", []string{"id", "identity_id", "type", "config", "version", "created_at", "updated_at"}, creds},
		{"identity_credential_identifiers", []string{"id", "credential_id", "identity_id", "type", "identifier", "created_at"}, idents},
		{"identity_verifiable_addresses", []string{"id", "identity_id", "via", "value", "verified", "verified_at", "status", "created_at", "updated_at"}, vas},
		{"identity_recovery_addresses", []string{"id", "identity_id", "via", "value", "created_at", "updated_at"}, ras},
	}
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			return mapWriteError(err)
		}
	}
	return nil
}

// Export writes every identity of the project to w as JSONL, ordered by
// id, with all credentials and their configs (hashes included): a file
// Import reads back into the same identities. progress, if set, is called
// after each page with the count so far.
func (m *Manager) Export(ctx context.Context, p *tenant.Project, w io.Writer, baseURL string, progress func(n int)) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	n := 0
	after := uuid.Nil
	for {
		var page []*Identity
		err := m.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
			page, err = listIdentities(ctx, tx, listFilter{After: after, Limit: 1000})
			return err
		})
		if err != nil {
			return n, fmt.Errorf("identity.Manager.Export: %w", err)
		}
		for _, i := range page {
			if baseURL != "" {
				i.SchemaURL = SchemaURL(baseURL, i.SchemaID)
			}
			if err := enc.Encode(i); err != nil {
				return n, err
			}
			n++
		}
		if progress != nil {
			progress(n)
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	return n, bw.Flush()
}

// pgID skips pgx's driver.Valuer path (format, then parse) for uuid.UUID.
func pgID(u uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: true} }
