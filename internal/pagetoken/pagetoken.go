// Package pagetoken seals keyset-pagination cursors so that a token is
// bound to one project and one list: a token from another project, another
// list or tampered with does not open.
package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/google/uuid"
)

// ErrInvalid is returned by Open for any token that does not open.
var ErrInvalid = errors.New("pagetoken: invalid token")

// maxLen bounds what Open looks at.
const maxLen = 256

// Sealer seals and opens tokens with one key.
type Sealer struct {
	key []byte
}

// New returns a Sealer keyed by secret (the deployment's current secret).
func New(secret []byte) Sealer { return Sealer{key: secret} }

// mac is HMAC-SHA256(key, purpose | 0 | project id | cursor), cut to 16 bytes.
func (s Sealer) mac(purpose string, project uuid.UUID, cursor []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(project[:])
	m.Write(cursor)
	return m.Sum(nil)[:16]
}

// Seal returns base64url(cursor) "." base64url(mac).
func (s Sealer) Seal(purpose string, project uuid.UUID, cursor []byte) string {
	return base64.RawURLEncoding.EncodeToString(cursor) + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, project, cursor))
}

// Open returns the cursor of a token sealed for the same purpose and
// project, or ErrInvalid.
func (s Sealer) Open(purpose string, project uuid.UUID, token string) ([]byte, error) {
	if len(token) > maxLen {
		return nil, ErrInvalid
	}
	cur, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, ErrInvalid
	}
	c, err1 := base64.RawURLEncoding.Strict().DecodeString(cur)
	m, err2 := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(m, s.mac(purpose, project, c)) {
		return nil, ErrInvalid
	}
	return c, nil
}
