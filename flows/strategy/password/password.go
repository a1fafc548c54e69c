// Package password is the password method: sign-up with traits and a
// password, sign-in with an identifier and a password.
//
// Policy: at least MinLength (8) characters, at most 4096 bytes, never
// truncated (argon2id hashes the whole password), no composition rules,
// and refused when it is too similar to an identifier. Unknown identifiers
// cost one hash verification like known ones, and get the same message
// (4000006), so responses do not reveal whether an account exists.
package password

import (
	"context"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/tenant"
)

// ID is the method name.
const ID = "password"

// MaxBytes bounds a password (longer ones are refused, never truncated).
const MaxBytes = 4096

// Strategy is the password method.
type Strategy struct {
	Identities *identity.Manager
	// MinLength of a password (8 when zero).
	MinLength int

	dummyOnce sync.Once
	dummy     string
	schemas   schema.Cache
}

var (
	_ flows.LoginStrategy        = (*Strategy)(nil)
	_ flows.RegistrationStrategy = (*Strategy)(nil)
)

// ID implements flows.Strategy.
func (s *Strategy) ID() string { return ID }

func (s *Strategy) minLength() int {
	if s.MinLength > 0 {
		return s.MinLength
	}
	return 8
}

// dummyHash is verified against when the identifier is unknown, so that
// both paths cost one hash verification.
func (s *Strategy) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = s.Identities.Hasher.Hash("lanyard-dummy-password-for-timing")
	})
	return s.dummy
}

// checkPolicy returns the policy message for pw, nil when it is fine.
func (s *Strategy) checkPolicy(pw string, identifiers []string) *flows.Text {
	n := utf8.RuneCountInString(pw)
	if n < s.minLength() {
		return flows.PasswordTooShort(s.minLength(), n)
	}
	if len(pw) > MaxBytes {
		return flows.PasswordTooLong(MaxBytes, len(pw))
	}
	lp := strings.ToLower(pw)
	for _, id := range identifiers {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" {
			continue
		}
		local, _, _ := strings.Cut(id, "@")
		if strings.Contains(lp, id) || strings.Contains(id, lp) || len(local) >= 4 && strings.Contains(lp, local) {
			return flows.Message(flows.ErrValidationPasswordSimilar)
		}
	}
	return nil
}

// defaultSchema returns the project's default identity schema.
func (s *Strategy) defaultSchema(ctx context.Context, p *tenant.Project) (*identity.StoredSchema, error) {
	list, err := s.Identities.Schemas(ctx, p)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].IsDefault {
			return &list[i], nil
		}
	}
	if len(list) > 0 {
		return &list[0], nil
	}
	return nil, flows.NewValidationError(flows.System("The project has no identity schema."))
}
