// Package code is the one-time code method of the verification and
// recovery flows: 6-digit codes from crypto/rand, stored only as an
// HMAC-SHA256 (keyed by a key derived from the deployment secret and bound
// to the flow id), valid for TTL (10 minutes), used once, and burned after
// MaxAttempts wrong guesses on their flow. It also renders the method's
// nodes and carries the rate-limit helper the flows share.
//
// Errors: Use returns ErrInvalid for a wrong, expired, used, burned or
// unknown code (callers answer 4070006 / 4060006 without saying which).
package code

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/tenant"
)

// ID is the method name.
const ID = "code"

// Code parameters.
const (
	// TTL is how long a sent code is valid.
	TTL = 10 * time.Minute
	// MaxAttempts wrong codes burn the flow's code.
	MaxAttempts = 5
	// Digits of a code (10^6 ≈ 20 bits).
	Digits = 6
)

// Kind is the flow a code belongs to.
type Kind string

// Kinds.
const (
	KindVerification Kind = "verification"
	KindRecovery     Kind = "recovery"
)

// ErrInvalid is any code that cannot be used.
var ErrInvalid = errors.New("code: invalid, expired, used or burned")

// Codes issues and checks codes.
type Codes struct{ key []byte }

// New derives the code key from the deployment's current secret.
func New(secret []byte) *Codes {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("lanyard one-time code v1"))
	return &Codes{key: m.Sum(nil)}
}

func (c *Codes) hash(flowID uuid.UUID, code string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(flowID[:])
	m.Write([]byte(":" + code))
	return m.Sum(nil)
}

// Generate returns a uniformly random code of Digits digits.
func Generate() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// IssueParams describe a code to send.
type IssueParams struct {
	FlowID     uuid.UUID
	Kind       Kind
	IdentityID *uuid.UUID
	Address    string
	TTL        time.Duration // TTL when zero
	Now        time.Time
}

// Issued is a new code, in clear only in memory (for the mail).
type Issued struct {
	Code      string
	ExpiresAt time.Time
}

// Issue stores a new code for a flow in tx; earlier unused codes of the
// flow stop working (a resend replaces the code).
func (c *Codes) Issue(ctx context.Context, tx tenant.Tx, p IssueParams) (*Issued, error) {
	if p.TTL <= 0 {
		p.TTL = TTL
	}
	code, err := Generate()
	if err != nil {
		return nil, err
	}
	now := p.Now.UTC()
	exp := now.Add(p.TTL).Truncate(time.Microsecond)
	// One statement: the burn of the earlier codes does not see the new
	// one (both run on the statement's snapshot).
	// Queued with the transaction's next statement or its commit: the id
	// is fresh, so only the transaction can fail it.
	tx.Queue(`WITH burnt AS (UPDATE selfservice_codes SET used_at = $8 WHERE flow_id = $2 AND used_at IS NULL)
		INSERT INTO selfservice_codes (id, flow_id, kind, identity_id, address, code_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.Must(uuid.NewV7()), p.FlowID, p.Kind, p.IdentityID, p.Address, c.hash(p.FlowID, code), exp, now)
	return &Issued{Code: code, ExpiresAt: exp}, nil
}

// Found is what a used code was for.
type Found struct {
	IdentityID *uuid.UUID
	Address    string
}

// Use checks code against the flow's current code in tx (the caller holds
// the flow's row lock). A wrong code counts an attempt, and the
// MaxAttempts-th burns the code; the attempt is written in tx, so the
// caller must commit it. A right code is marked used.
func (c *Codes) Use(ctx context.Context, tx tenant.Tx, flowID uuid.UUID, kind Kind, code string, now time.Time) (*Found, error) {
	code = strings.Join(strings.Fields(code), "")
	var (
		id       uuid.UUID
		f        Found
		hash     []byte
		attempts int
		exp      time.Time
	)
	err := tx.QueryRow(ctx, `SELECT id, identity_id, address, code_hash, attempts, expires_at FROM selfservice_codes
		WHERE flow_id = $1 AND kind = $2 AND used_at IS NULL ORDER BY created_at DESC LIMIT 1 FOR UPDATE`, flowID, kind).
		Scan(&id, &f.IdentityID, &f.Address, &hash, &attempts, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("code.Use: %w", err)
	}
	if !now.Before(exp) || attempts >= MaxAttempts {
		return nil, ErrInvalid
	}
	if len(code) != Digits || !hmac.Equal(c.hash(flowID, code), hash) {
		_, err := tx.Exec(ctx, `UPDATE selfservice_codes SET attempts = attempts + 1,
			used_at = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE used_at END WHERE id = $1`, id, MaxAttempts, now.UTC())
		if err != nil {
			return nil, fmt.Errorf("code.Use: %w", err)
		}
		return nil, ErrInvalid
	}
	if _, err := tx.Exec(ctx, `UPDATE selfservice_codes SET used_at = $2 WHERE id = $1`, id, now.UTC()); err != nil {
		return nil, fmt.Errorf("code.Use: %w", err)
	}
	return &f, nil
}
