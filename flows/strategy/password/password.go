// Package password is the password method: sign-up with traits and a
// password, sign-in with an identifier and a password.
//
// Policy (package policy, per project in flows.Config.Password): at least
// 8 characters (configurable), at most 4096 bytes, never truncated
// (argon2id hashes the whole password), no composition rules, refused when
// it is too similar to an identifier or on the offline list of common
// passwords. Unknown identifiers cost one hash verification like known
// ones, and get the same message (4000006), so responses do not reveal
// whether an account exists.
package password

import (
	"context"
	"sync"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/password/policy"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/tenant"
)

// ID is the method name.
const ID = "password"

// MaxBytes bounds a password (longer ones are refused, never truncated).
const MaxBytes = policy.MaxBytes

// Strategy is the password method.
type Strategy struct {
	Identities *identity.Manager
	// MinLength of a password when the project sets none (8 when zero).
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

// checkPolicy returns the policy message for pw under the project's
// password policy, nil when it is fine.
func (s *Strategy) checkPolicy(r *flows.Request, pw string, identifiers []string) *flows.Text {
	c := r.Config.Password
	if c.MinLength <= 0 {
		c.MinLength = s.minLength()
	}
	return policy.Check(c, pw, identifiers)
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
