package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

const sessionColumns = `s.id, s.identity_id, s.active, s.aal, s.authentication_methods, s.authenticated_at,
	s.issued_at, s.expires_at, s.max_expires_at, s.token_hash`

func scanSession(row pgx.Row, extra ...any) (*Session, error) {
	var s Session
	var methods []byte
	dest := append([]any{&s.ID, &s.IdentityID, &s.Active, &s.AAL, &methods, &s.AuthenticatedAt,
		&s.IssuedAt, &s.ExpiresAt, &s.MaxExpiresAt, &s.TokenHash}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(methods, &s.AuthenticationMethods); err != nil {
		return nil, fmt.Errorf("authentication_methods: %w", err)
	}
	if s.AuthenticationMethods == nil {
		s.AuthenticationMethods = []AuthenticationMethod{}
	}
	s.Devices = []Device{}
	return &s, nil
}

var errNoSession = errx.New(errx.NotFound, "The session could not be found.")

func insertSession(ctx context.Context, tx tenant.Tx, s *Session, logoutHash []byte, d Device) error {
	methods, err := json.Marshal(s.AuthenticationMethods)
	if err != nil {
		return err
	}
	// Queued: the ids and the token hash are fresh, so only the
	// transaction can fail them, at its next statement or commit. One
	// statement for both rows (the device's foreign key is checked at its
	// end, when the session row is there): Postgres plans each statement
	// again when the connection comes from another project's schema.
	tx.Queue(`WITH s AS (INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal,
		authentication_methods, authenticated_at, issued_at, expires_at, max_expires_at)
		VALUES ($1, $2, $3, $4, true, $5, $6, $7, $8, $9, $10))
		INSERT INTO session_devices (id, session_id, ip_address, user_agent, location) VALUES ($11, $1, $12, $13, $14)`,
		s.ID, s.IdentityID, s.TokenHash, logoutHash, s.AAL, methods, s.AuthenticatedAt, s.IssuedAt, s.ExpiresAt, s.MaxExpiresAt,
		d.ID, d.IPAddress, d.UserAgent, d.Location)
	return nil
}

// byTokenHash loads the session of a token together with whether its
// identity is active. It locks the session row (it may extend it) and
// share-locks the identity row, so that it waits for (and then sees) a
// concurrent revocation, deactivation or deletion; the whoami cache relies
// on that (see cache.go). Taking the session lock up front, not upgrading
// a share lock later, keeps two concurrent extensions from deadlocking.
func byTokenHash(ctx context.Context, tx tenant.Tx, hash []byte) (*Session, bool, error) {
	var identityActive bool
	s, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+`, i.state = 'active'
		FROM sessions s JOIN identities i ON i.id = s.identity_id
		WHERE s.token_hash = $1 FOR NO KEY UPDATE OF s FOR SHARE OF i`, hash), &identityActive)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, errNoSession
	}
	if err != nil {
		return nil, false, fmt.Errorf("session by token: %w", err)
	}
	return s, identityActive, nil
}

// identityOfToken reads (without locking) which identity a token belongs
// to, so that the cache generation can be read before the locked load.
func identityOfToken(ctx context.Context, tx tenant.Tx, hash []byte) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT identity_id FROM sessions WHERE token_hash = $1`, hash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, errNoSession
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("session by token: %w", err)
	}
	return id, nil
}

func byID(ctx context.Context, tx tenant.Tx, id uuid.UUID, lock bool) (*Session, error) {
	q := `SELECT ` + sessionColumns + ` FROM sessions s WHERE s.id = $1`
	if lock {
		q += ` FOR NO KEY UPDATE`
	}
	s, err := scanSession(tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("session by id: %w", err)
	}
	return s, nil
}

// listQuery selects one page of sessions in id order (ids are UUIDv7, so
// this is creation order).
type listQuery struct {
	IdentityID *uuid.UUID
	Active     *bool // nil: both
	ExcludeID  *uuid.UUID
	After      *uuid.UUID
	Limit      int
	Offset     int
}

func listSessions(ctx context.Context, tx tenant.Tx, q listQuery, now time.Time) ([]*Session, error) {
	rows, err := tx.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s
		WHERE ($1::uuid IS NULL OR s.identity_id = $1)
		  AND ($2::boolean IS NULL OR (s.active AND s.expires_at > $6) = $2)
		  AND ($3::uuid IS NULL OR s.id <> $3)
		  AND ($4::uuid IS NULL OR s.id > $4)
		ORDER BY s.id LIMIT $5 OFFSET $7`, q.IdentityID, q.Active, q.ExcludeID, q.After, q.Limit, now, q.Offset)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func countSessions(ctx context.Context, tx tenant.Tx, q listQuery, now time.Time) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM sessions s
		WHERE ($1::uuid IS NULL OR s.identity_id = $1)
		  AND ($2::boolean IS NULL OR (s.active AND s.expires_at > $4) = $2)
		  AND ($3::uuid IS NULL OR s.id <> $3)`, q.IdentityID, q.Active, q.ExcludeID, now).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}

// loadDevices fills the devices of ss.
func loadDevices(ctx context.Context, tx tenant.Tx, ss ...*Session) error {
	if len(ss) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ss))
	by := make(map[uuid.UUID]*Session, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
		by[s.ID] = s
	}
	rows, err := tx.Query(ctx, `SELECT id, session_id, ip_address, user_agent, location FROM session_devices
		WHERE session_id = ANY($1) ORDER BY created_at, id`, ids)
	if err != nil {
		return fmt.Errorf("load devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Device
		var sid uuid.UUID
		if err := rows.Scan(&d.ID, &sid, &d.IPAddress, &d.UserAgent, &d.Location); err != nil {
			return fmt.Errorf("load devices: %w", err)
		}
		by[sid].Devices = append(by[sid].Devices, d)
	}
	return rows.Err()
}

func setExpiry(ctx context.Context, tx tenant.Tx, id uuid.UUID, exp, max time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET expires_at = $2, max_expires_at = $3, updated_at = now() WHERE id = $1`, id, exp, max)
	if err != nil {
		return fmt.Errorf("extend session: %w", err)
	}
	return nil
}

// revoked is what a deactivation touched: the identities whose cached
// sessions must be invalidated and the token hashes to drop.
type revoked struct {
	identities map[uuid.UUID]bool
	hashes     [][]byte
}

// deactivate ends the active sessions matching the filter and returns what
// it ended. identityID nil means any identity; sessionID nil means every
// session of the identity; exceptID excludes one session.
func deactivate(ctx context.Context, tx tenant.Tx, identityID, sessionID, exceptID *uuid.UUID) (revoked, error) {
	rows, err := tx.Query(ctx, `UPDATE sessions SET active = false, updated_at = now()
		WHERE active
		  AND ($1::uuid IS NULL OR identity_id = $1)
		  AND ($2::uuid IS NULL OR id = $2)
		  AND ($3::uuid IS NULL OR id <> $3)
		RETURNING identity_id, token_hash`, identityID, sessionID, exceptID)
	if err != nil {
		return revoked{}, fmt.Errorf("deactivate sessions: %w", err)
	}
	defer rows.Close()
	r := revoked{identities: map[uuid.UUID]bool{}}
	for rows.Next() {
		var id uuid.UUID
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return revoked{}, fmt.Errorf("deactivate sessions: %w", err)
		}
		r.identities[id] = true
		r.hashes = append(r.hashes, h)
	}
	return r, rows.Err()
}

// byLogoutTokenHash returns the id of the active session owning a logout
// token.
func byLogoutTokenHash(ctx context.Context, tx tenant.Tx, hash []byte) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM sessions WHERE logout_token_hash = $1 AND active`, hash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, errNoSession
	}
	return id, err
}
