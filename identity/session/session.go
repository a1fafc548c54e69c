// Package session issues, checks, extends and ends the sessions of a
// project's identities, and serves the Kratos session API (/sessions/...,
// /admin/sessions/...).
//
// Tokens. A session token is "lyst_" followed by 44 characters from
// [0-9A-Za-z] drawn with crypto/rand (262 bits); a logout token is "lylo_"
// plus the same. Only the SHA-256 of each is stored. Clients treat both as
// opaque, as they do Kratos's "ory_st_" tokens.
//
// Lifetime. Per project (project_settings key "session"): a session lives
// Lifespan (24h) from issue; with sliding expiry (on by default) a session
// that is used when less than half its lifespan remains is extended to
// now + Lifespan, never past its absolute limit max_expires_at (issue +
// MaxLifespan, 30 days). POST /sessions/refresh (a Lanyard addition) lets
// the client extend its own session the same way without a redirect.
//
// Errors: lookups return errx.Unauthorized (no, unknown, inactive or
// expired session) and errx.NotFound (unknown session id); store failures
// are wrapped with the operation name.
package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Token prefixes.
const (
	TokenPrefix       = "lyst_"
	LogoutTokenPrefix = "lylo_"
	tokenChars        = 44
)

// Authenticator assurance levels.
const (
	AAL0 = "aal0"
	AAL1 = "aal1"
	AAL2 = "aal2"
	AAL3 = "aal3"
)

// AuthenticationMethod is one way the identity proved itself in this
// session (Kratos session.authentication_methods[]).
type AuthenticationMethod struct {
	Method       string    `json:"method"`
	AAL          string    `json:"aal"`
	CompletedAt  time.Time `json:"completed_at"`
	Provider     string    `json:"provider,omitempty"`
	Organization string    `json:"organization,omitempty"`
}

// Device is where a session was used from.
type Device struct {
	ID        uuid.UUID `json:"id"`
	IPAddress string    `json:"ip_address"`
	UserAgent string    `json:"user_agent"`
	Location  string    `json:"location"`
}

// Session is the Kratos session object. Identity is the public identity
// JSON, nil when not expanded.
type Session struct {
	ID                    uuid.UUID              `json:"id"`
	Active                bool                   `json:"active"`
	ExpiresAt             time.Time              `json:"expires_at"`
	AuthenticatedAt       time.Time              `json:"authenticated_at"`
	AAL                   string                 `json:"authenticator_assurance_level"`
	AuthenticationMethods []AuthenticationMethod `json:"authentication_methods"`
	IssuedAt              time.Time              `json:"issued_at"`
	Identity              json.RawMessage        `json:"identity,omitempty"`
	Devices               []Device               `json:"devices,omitempty"`

	IdentityID   uuid.UUID `json:"-"`
	MaxExpiresAt time.Time `json:"-"`
	TokenHash    []byte    `json:"-"`
}

// Usable reports whether s can authenticate a request at now.
func (s *Session) Usable(now time.Time) bool { return s.Active && now.Before(s.ExpiresAt) }

// Issued is a new session with its tokens, which are shown once.
type Issued struct {
	Session     *Session
	Token       string
	LogoutToken string
}

// IssueParams describes a new session.
type IssueParams struct {
	IdentityID uuid.UUID
	Methods    []AuthenticationMethod
	// AAL is computed from Methods when empty.
	AAL       string
	IPAddress string
	UserAgent string
	Location  string
}

// AALOf computes the assurance level of a list of methods: aal2 when it
// holds both an aal1 and an aal2 method (an aal2 first factor counts for
// both), aal1 with any method, aal0 with none.
func AALOf(ms []AuthenticationMethod) string {
	var one, two bool
	for _, m := range ms {
		switch m.AAL {
		case AAL1:
			one = true
		case AAL2:
			two = true
			if m.Method == "oidc" || m.Method == "saml" {
				one = true
			}
		}
	}
	switch {
	case one && two:
		return AAL2
	case one || two:
		return AAL1
	}
	return AAL0
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewToken returns prefix + 44 uniformly drawn alphanumerics (262 bits).
func NewToken(prefix string) string {
	out := make([]byte, 0, len(prefix)+tokenChars)
	out = append(out, prefix...)
	var buf [64]byte
	for len(out) < len(prefix)+tokenChars {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: reject to stay uniform
				continue
			}
			out = append(out, alnum[b%62])
			if len(out) == len(prefix)+tokenChars {
				break
			}
		}
	}
	return string(out)
}

// LogoutTokenFor derives a session's logout token from its session token:
// "lylo_" + 44 alphanumerics of SHA-256("lanyard-logout:" + token). Only the
// holder of the session token can compute it, it reveals nothing of the
// session token, and it stays the same for the session's life, so every
// logout URL handed out for a session works.
func LogoutTokenFor(token string) string {
	h := sha256.Sum256([]byte("lanyard-logout:" + token))
	out := make([]byte, 0, len(LogoutTokenPrefix)+tokenChars)
	out = append(out, LogoutTokenPrefix...)
	// 32 bytes give 44 base-62 digits of a big-endian number; a simple
	// repeated division keeps all 256 bits.
	n := h[:]
	for range tokenChars {
		var rem int
		for i := range n {
			cur := rem*256 + int(n[i])
			n[i] = byte(cur / 62)
			rem = cur % 62
		}
		out = append(out, alnum[rem])
	}
	return string(out)
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// wellFormed cheaply refuses strings that cannot be tokens before any
// hashing or lookup.
func wellFormed(token, prefix string) bool {
	if len(token) != len(prefix)+tokenChars || token[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(token); i++ {
		c := token[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
