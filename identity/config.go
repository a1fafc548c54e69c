package identity

import (
	"crypto/rand"
	"fmt"

	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/tenant"
)

// HashConfig maps the deployment configuration to the password hasher's.
func HashConfig(cfg config.Config) hash.Config {
	return hash.Config{Algorithm: cfg.HashAlgorithm, Argon2Memory: cfg.Argon2Memory, Argon2Iterations: cfg.Argon2Iterations,
		Argon2Parallelism: cfg.Argon2Parallelism, BcryptCost: cfg.BcryptCost}
}

// NewManagerFromConfig builds the Manager of a process: the configured
// hasher and the current secret as the page-token key.
func NewManagerFromConfig(db *tenant.DB, cfg config.Config) (*Manager, error) {
	h, err := hash.New(HashConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("LANYARD_HASH_*: %w", err)
	}
	key := make([]byte, 32)
	if keys := cfg.SecretKeys(); len(keys) > 0 && len(keys[0]) > 0 {
		key = keys[0]
	} else if _, err := rand.Read(key); err != nil { // no secret: tokens live as long as the process
		return nil, err
	}
	return NewManager(db, h, key), nil
}
