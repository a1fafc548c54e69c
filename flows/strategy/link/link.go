// Package link is the link method of the verification and recovery flows
// (Kratos' method=link): a mail carries
// {base}/self-service/{verification,recovery}?flow=ID&token=T, where T is
// 256 random bits. Only the SHA-256 of a token is stored; a token is bound
// to its flow, valid until its expiry (TTL, or what the admin API asks),
// and used once. It also renders the method's nodes.
//
// Errors: Use returns ErrInvalid for a wrong, expired, used or unknown
// token, or one of another flow (callers answer 4070001 / 4060004 without
// saying which).
package link

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/tenant"
)

// ID is the method name.
const ID = flows.MethodLink

// TTL is how long a mailed link is valid (Kratos'
// selfservice.methods.link.config.lifespan default).
const TTL = time.Hour

// Kind is the flow a token belongs to.
type Kind string

// Kinds.
const (
	KindVerification Kind = "verification"
	KindRecovery     Kind = "recovery"
)

// ErrInvalid is any token that cannot be used.
var ErrInvalid = errors.New("link: token invalid, expired or used")

// Generate returns a new token: 32 random bytes, base64url (43 characters).
func Generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// IssueParams describe a token to send.
type IssueParams struct {
	FlowID     uuid.UUID
	Kind       Kind
	IdentityID *uuid.UUID
	Address    string
	TTL        time.Duration // TTL when zero
	Now        time.Time
}

// Issued is a new token, in clear only in memory (for the mail or the
// admin answer).
type Issued struct {
	Token     string
	ExpiresAt time.Time
}

// URL is the link that uses the token: {base}/self-service/<kind>?flow=&token=.
func (i *Issued) URL(base string, kind Kind, flowID uuid.UUID) string {
	return base + "/self-service/" + string(kind) + "?" + url.Values{"flow": {flowID.String()}, "token": {i.Token}}.Encode()
}

// Issue stores a new token for a flow in tx; earlier unused tokens of the
// flow stop working (a resend replaces the link).
func Issue(ctx context.Context, tx tenant.Tx, p IssueParams) (*Issued, error) {
	if p.TTL <= 0 {
		p.TTL = TTL
	}
	tok, err := Generate()
	if err != nil {
		return nil, err
	}
	now := p.Now.UTC()
	if _, err := tx.Exec(ctx, `UPDATE selfservice_link_tokens SET used_at = $2 WHERE flow_id = $1 AND used_at IS NULL`, p.FlowID, now); err != nil {
		return nil, fmt.Errorf("link.Issue: %w", err)
	}
	exp := now.Add(p.TTL).Truncate(time.Microsecond)
	_, err = tx.Exec(ctx, `INSERT INTO selfservice_link_tokens (id, flow_id, kind, identity_id, address, token_hash, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.Must(uuid.NewV7()), p.FlowID, p.Kind, p.IdentityID, p.Address, hash(tok), exp)
	if err != nil {
		return nil, fmt.Errorf("link.Issue: %w", err)
	}
	return &Issued{Token: tok, ExpiresAt: exp}, nil
}

// Found is what a used token was for.
type Found struct {
	IdentityID *uuid.UUID
	Address    string
}

// Use checks token against flowID's tokens of kind in tx and marks it used.
// A token of another flow, kind or project is ErrInvalid: the lookup is by
// hash within the flow, in the project's schema.
func Use(ctx context.Context, tx tenant.Tx, flowID uuid.UUID, kind Kind, token string, now time.Time) (*Found, error) {
	if token == "" || len(token) > 256 {
		return nil, ErrInvalid
	}
	var (
		id  uuid.UUID
		f   Found
		exp time.Time
	)
	err := tx.QueryRow(ctx, `SELECT id, identity_id, address, expires_at FROM selfservice_link_tokens
		WHERE token_hash = $1 AND flow_id = $2 AND kind = $3 AND used_at IS NULL FOR UPDATE`, hash(token), flowID, kind).
		Scan(&id, &f.IdentityID, &f.Address, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("link.Use: %w", err)
	}
	if !now.Before(exp) {
		return nil, ErrInvalid
	}
	if _, err := tx.Exec(ctx, `UPDATE selfservice_link_tokens SET used_at = $2 WHERE id = $1`, id, now.UTC()); err != nil {
		return nil, fmt.Errorf("link.Use: %w", err)
	}
	return &f, nil
}

// PopulateEmail adds the "enter your address" step of the link method: an
// email input and the submit (Kratos group "link").
func PopulateEmail(_ context.Context, _ tenant.Tx, _ *flows.Request, f *flows.Flow) error {
	f.UI.RemoveGroup(flows.GroupLink)
	em := flows.NewInput(flows.GroupLink, "email", flows.InputEmail, nil, flows.Message(flows.InfoNodeLabelEmail))
	em.Input().Required, em.Input().Autocomplete = true, "email"
	f.UI.Add(em, flows.NewSubmit(flows.GroupLink, ID, flows.Message(flows.InfoNodeLabelSubmit)))
	f.Active = ID
	return nil
}

// ShowSent turns f into the "check your mail" step: the address kept in
// the email input, and the submit again to resend.
func ShowSent(f *flows.Flow, address string) {
	f.UI.RemoveGroup(flows.GroupLink)
	em := flows.NewInput(flows.GroupLink, "email", flows.InputEmail, address, flows.Message(flows.InfoNodeLabelEmail))
	em.Input().Required, em.Input().Autocomplete = true, "email"
	f.UI.Add(em, flows.NewSubmit(flows.GroupLink, ID, flows.Message(flows.InfoNodeLabelSubmit)))
	f.State, f.Active = flows.StateSentEmail, ID
}
