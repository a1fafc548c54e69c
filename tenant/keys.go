package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// APIKeyPrefix starts every project API key, so that secret scanners can
// recognise a leaked one. The rest is 32 random bytes, base64url.
const APIKeyPrefix = "lanyard_sk_"

const apiKeyLen = len(APIKeyPrefix) + 43

// APIKey is the stored description of a key; the secret itself is never
// stored, only its SHA-256.
type APIKey struct {
	ID         uuid.UUID  `json:"id"`
	ProjectID  uuid.UUID  `json:"project_id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// ErrUnauthorized is the one answer to every failed key check, whatever the
// reason (missing, malformed, unknown, revoked, another project's).
var ErrUnauthorized = errx.New(errx.Unauthorized, "The request could not be authorized: a valid project API key is required as 'Authorization: Bearer <key>'.")

func newSecret() (secret, hint string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	secret = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(secret))
	return secret, secret[:len(APIKeyPrefix)+4], sum[:]
}

func insertAPIKey(ctx context.Context, tx pgx.Tx, projectID uuid.UUID, name string) (string, error) {
	secret, hint, hash := newSecret()
	_, err := tx.Exec(ctx, `INSERT INTO platform.project_api_keys (id, project_id, name, hint, hash) VALUES ($1, $2, $3, $4, $5)`,
		uuid.New(), projectID, name, hint, hash)
	if err != nil {
		return "", fmt.Errorf("insert api key: %w", err)
	}
	return secret, nil
}

// CreateAPIKey makes a new key for an active project and returns its secret
// (shown once) and its description.
func (r *Registry) CreateAPIKey(ctx context.Context, projectID uuid.UUID, name string) (string, *APIKey, error) {
	name, err := ValidateName(name)
	if err != nil {
		return "", nil, err
	}
	var secret string
	var key *APIKey
	err = pgx.BeginFunc(ctx, r.db.Platform(), func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM platform.projects WHERE id = $1 FOR SHARE`, projectID).Scan(&state); err != nil || state != StateActive {
			return errProjectNotFound
		}
		if secret, err = insertAPIKey(ctx, tx, projectID, name); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(secret))
		key, err = scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM platform.project_api_keys WHERE hash = $1`, sum[:]))
		return err
	})
	if err == nil {
		r.cache.changed(ctx, "") // a miss for this hash may be cached
	}
	if err != nil {
		return "", nil, fmt.Errorf("tenant.Registry.CreateAPIKey: %w", err)
	}
	return secret, key, nil
}

const keyColumns = `id, project_id, name, hint, created_at, last_used_at, revoked_at`

func scanKey(row pgx.Row) (*APIKey, error) {
	var k APIKey
	if err := row.Scan(&k.ID, &k.ProjectID, &k.Name, &k.Hint, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListAPIKeys lists a project's keys, newest first, revoked ones included.
func (r *Registry) ListAPIKeys(ctx context.Context, projectID uuid.UUID) ([]*APIKey, error) {
	rows, err := r.db.Platform().Query(ctx, `SELECT `+keyColumns+` FROM platform.project_api_keys WHERE project_id = $1 ORDER BY created_at DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("tenant.Registry.ListAPIKeys: %w", err)
	}
	defer rows.Close()
	var out []*APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key of the given project; the key stops working at
// once. errx.NotFound when the key is not that project's.
func (r *Registry) RevokeAPIKey(ctx context.Context, projectID, keyID uuid.UUID) error {
	tag, err := r.db.Platform().Exec(ctx, `UPDATE platform.project_api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND project_id = $2`, keyID, projectID)
	if err != nil {
		return fmt.Errorf("tenant.Registry.RevokeAPIKey: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errx.New(errx.NotFound, "The API key could not be found.")
	}
	r.cache.changed(ctx, "")
	return nil
}

// BearerToken extracts the token from an "Authorization: Bearer <t>" value.
func BearerToken(header string) string {
	const p = "bearer "
	if len(header) > len(p) && strings.EqualFold(header[:len(p)], p) {
		return strings.TrimSpace(header[len(p):])
	}
	return ""
}

// Authenticate checks that presented is a live API key of project p. Every
// failure returns ErrUnauthorized after the same work — one SHA-256 and one
// lookup of the hash, in the key cache or else by index, whatever the key
// — so timing does not tell a missing key from a malformed, revoked or
// foreign one.
func (r *Registry) Authenticate(ctx context.Context, p *Project, presented string) (*APIKey, error) {
	if p == nil {
		return nil, ErrNoProject
	}
	candidate := presented
	if len(candidate) != apiKeyLen || !strings.HasPrefix(candidate, APIKeyPrefix) {
		candidate = "" // still looked up, never matches a stored hash
	}
	sum := sha256.Sum256([]byte(candidate))
	k, err := r.keys.get(sum, func() (keyEntry, error) {
		var e keyEntry
		err := r.db.Platform().QueryRow(ctx, `SELECT id, project_id, revoked_at IS NOT NULL FROM platform.project_api_keys WHERE hash = $1`, sum[:]).
			Scan(&e.id, &e.projectID, &e.revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return keyEntry{}, nil
		}
		e.found = err == nil
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("tenant.Registry.Authenticate: %w", err)
	}
	ok := k.found
	ok = subtle.ConstantTimeCompare(k.projectID[:], p.ID[:]) == 1 && ok
	ok = !k.revoked && ok
	if !ok {
		return nil, ErrUnauthorized
	}
	return &APIKey{ID: k.id, ProjectID: k.projectID}, nil
}

// keyEntry is what Authenticate remembers of a presented key's hash,
// found or not.
type keyEntry struct {
	id, projectID uuid.UUID
	found         bool
	revoked       bool
	expires       time.Time
}

// keyCache remembers key lookups, hits and misses alike, so that every
// class of presented key costs the same; entries live keyTTL or until a
// change notice (a revocation, a deleted project) clears the cache.
type keyCache struct {
	mu      sync.RWMutex
	entries map[[32]byte]keyEntry
	ttl     time.Duration
	maxSize int
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{entries: map[[32]byte]keyEntry{}, ttl: ttl, maxSize: 100_000}
}

func (c *keyCache) get(sum [32]byte, load func() (keyEntry, error)) (keyEntry, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	e, err := load()
	if err != nil {
		return e, err
	}
	e.expires = now.Add(c.ttl)
	c.mu.Lock()
	if len(c.entries) >= c.maxSize {
		c.entries = map[[32]byte]keyEntry{}
	}
	c.entries[sum] = e
	c.mu.Unlock()
	return e, nil
}

func (c *keyCache) clear() {
	c.mu.Lock()
	c.entries = map[[32]byte]keyEntry{}
	c.mu.Unlock()
}

// touchEvery is how often the last use of a key is written, at most.
const touchEvery = time.Minute

// touchSoon records a key's use unless this process did so within
// touchEvery, so that a busy key costs one write a minute, not one per
// request. A failure is logged, never the request's.
func (r *Registry) touchSoon(ctx context.Context, keyID uuid.UUID) {
	now := time.Now()
	if v, ok := r.touched.Load(keyID); ok && now.Sub(v.(time.Time)) < touchEvery {
		return
	}
	r.touched.Store(keyID, now)
	_, err := r.db.Platform().Exec(ctx, `UPDATE platform.project_api_keys SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, keyID)
	if err != nil {
		r.log.WarnContext(ctx, "recording an API key's last use failed", "error", err.Error())
	}
}

// TouchAPIKey records that a key was used now.
func (r *Registry) TouchAPIKey(ctx context.Context, keyID uuid.UUID) error {
	_, err := r.db.Platform().Exec(ctx, `UPDATE platform.project_api_keys SET last_used_at = now() WHERE id = $1`, keyID)
	return err
}
