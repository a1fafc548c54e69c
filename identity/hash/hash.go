// Package hash hashes and verifies passwords. New passwords are hashed with
// argon2id (OWASP parameters by default) or bcrypt; Verify also understands
// every legacy format Kratos imports (argon2i, pbkdf2, scrypt,
// firebase-scrypt, md5, sha*, ssha*, hmac, md5-crypt, sha256-crypt,
// sha512-crypt), compares in constant time and
// says when a hash should be upgraded to the configured hasher.
//
// Errors: Verify and Check return errx.Invalid (id "invalid_hash") for a hash
// whose format is unknown or malformed; Hash returns errx.Invalid for a
// password bcrypt cannot take (over 72 bytes).
package hash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Algorithms a Hasher can produce.
const (
	Argon2id = "argon2id"
	Bcrypt   = "bcrypt"
)

// Config chooses the hasher. Zero fields take the defaults: argon2id with
// m=19 MiB, t=2, p=1 (OWASP), bcrypt cost 12.
type Config struct {
	Algorithm string
	// Argon2 memory in KiB, iterations and parallelism.
	Argon2Memory      uint32
	Argon2Iterations  uint32
	Argon2Parallelism uint8
	BcryptCost        int
}

// Defaults.
const (
	DefaultArgon2Memory      = 19 * 1024
	DefaultArgon2Iterations  = 2
	DefaultArgon2Parallelism = 1
	DefaultBcryptCost        = 12
	argon2SaltLen            = 16
	argon2KeyLen             = 32
)

// Hasher hashes new passwords with one configured algorithm.
type Hasher struct {
	cfg Config
}

// New validates cfg and returns a Hasher.
func New(cfg Config) (*Hasher, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = Argon2id
	}
	if cfg.Argon2Memory == 0 {
		cfg.Argon2Memory = DefaultArgon2Memory
	}
	if cfg.Argon2Iterations == 0 {
		cfg.Argon2Iterations = DefaultArgon2Iterations
	}
	if cfg.Argon2Parallelism == 0 {
		cfg.Argon2Parallelism = DefaultArgon2Parallelism
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultBcryptCost
	}
	switch cfg.Algorithm {
	case Argon2id, Bcrypt:
	default:
		return nil, fmt.Errorf("hash: algorithm must be %s or %s, got %q", Argon2id, Bcrypt, cfg.Algorithm)
	}
	if cfg.BcryptCost < bcrypt.MinCost || cfg.BcryptCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("hash: bcrypt cost must be in [%d, %d]", bcrypt.MinCost, bcrypt.MaxCost)
	}
	if cfg.Argon2Memory < 8*uint32(cfg.Argon2Parallelism) {
		return nil, fmt.Errorf("hash: argon2 memory must be at least 8 KiB per lane")
	}
	return &Hasher{cfg: cfg}, nil
}

// MustNew is New for tests and fixed configurations.
func MustNew(cfg Config) *Hasher {
	h, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// slots bounds how many hashes are computed at once to the number of
// cores. More gains no throughput, while each hash in flight holds its
// memory (19 MiB for the default argon2id) and evicts the others' from
// the CPU caches: under a burst of logins the extra ones wait their turn
// instead of multiplying memory use and slowing every hash down.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

// running takes a slot; the returned func gives it back.
func running() func() {
	slots <- struct{}{}
	return func() { <-slots }
}

// Config returns the effective configuration.
func (h *Hasher) Config() Config { return h.cfg }

var errTooLong = errx.New(errx.Invalid, "The password is longer than the 72 bytes bcrypt can hash.").WithID("password_too_long")

// Hash returns the password hashed with the configured algorithm, in PHC
// (argon2id) or modular crypt (bcrypt) format.
func (h *Hasher) Hash(password string) (string, error) {
	defer running()()
	if h.cfg.Algorithm == Bcrypt {
		if len(password) > 72 {
			return "", errTooLong
		}
		b, err := bcrypt.GenerateFromPassword([]byte(password), h.cfg.BcryptCost)
		if err != nil {
			return "", fmt.Errorf("hash: bcrypt: %w", err)
		}
		return string(b), nil
	}
	salt := make([]byte, argon2SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.cfg.Argon2Iterations, h.cfg.Argon2Memory, h.cfg.Argon2Parallelism, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.cfg.Argon2Memory, h.cfg.Argon2Iterations,
		h.cfg.Argon2Parallelism, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify checks password against hash in constant time. ok is false for a
// wrong password; needsRehash is true when the password matched but the
// hash is not what this Hasher would produce now (another algorithm, or
// other parameters), so the caller should store Hash(password) instead.
// err is errx.Invalid for a hash in an unknown or malformed format.
func (h *Hasher) Verify(password, hash string) (ok bool, needsRehash bool, err error) {
	p, err := parse(hash)
	if err != nil {
		return false, false, err
	}
	done := running()
	ok, err = p.verify([]byte(password))
	done()
	if err != nil || !ok {
		return false, false, err
	}
	return true, !h.current(p), nil
}

// Check reports whether hash is in a format Verify understands, without a
// password: imports use it to refuse unknown hashes up front.
func Check(hash string) error {
	_, err := parse(hash)
	return err
}

// current reports whether p was made by this hasher's configuration.
func (h *Hasher) current(p parsed) bool {
	switch v := p.(type) {
	case *argon2Hash:
		return h.cfg.Algorithm == Argon2id && v.variant == Argon2id && v.memory == h.cfg.Argon2Memory &&
			v.iterations == h.cfg.Argon2Iterations && v.threads == h.cfg.Argon2Parallelism && len(v.key) == argon2KeyLen
	case *bcryptHash:
		cost, err := bcrypt.Cost(v.raw)
		return h.cfg.Algorithm == Bcrypt && err == nil && cost == h.cfg.BcryptCost
	}
	return false
}

// ErrInvalidHash is the error of a hash in an unknown or malformed format.
var ErrInvalidHash = errx.New(errx.Invalid, "").WithID("invalid_hash")

func invalid(format string, args ...any) error {
	e := *ErrInvalidHash
	e.Reason = "The password hash is not valid: " + fmt.Sprintf(format, args...)
	return &e
}

// parsed is a decoded hash that can check a password.
type parsed interface {
	verify(password []byte) (bool, error)
}

func parse(hash string) (parsed, error) {
	if hash == "" {
		return nil, invalid("it is empty")
	}
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, invalid("malformed bcrypt hash: %v", err)
		}
		return &bcryptHash{raw: []byte(hash)}, nil
	case strings.HasPrefix(hash, "$argon2id$"), strings.HasPrefix(hash, "$argon2i$"):
		return parseArgon2(hash)
	case strings.HasPrefix(hash, "$pbkdf2-"):
		return parsePBKDF2(hash)
	case strings.HasPrefix(hash, "$scrypt$"):
		return parseScrypt(hash)
	case strings.HasPrefix(hash, "$firescrypt$"):
		return parseFirebaseScrypt(hash)
	case strings.HasPrefix(hash, "{SSHA}"), strings.HasPrefix(hash, "{SSHA256}"), strings.HasPrefix(hash, "{SSHA512}"):
		return parseSSHA(hash)
	case strings.HasPrefix(hash, "$md5$"), strings.HasPrefix(hash, "$sha1$"), strings.HasPrefix(hash, "$sha256$"), strings.HasPrefix(hash, "$sha512$"):
		return parseDigest(hash)
	case strings.HasPrefix(hash, "$hmac-"):
		return parseHMAC(hash)
	case strings.HasPrefix(hash, "$md5-crypt$"), strings.HasPrefix(hash, "$sha256-crypt$"), strings.HasPrefix(hash, "$sha512-crypt$"):
		return parseCrypt(hash)
	}
	return nil, invalid("unknown format (accepted: bcrypt, argon2id, argon2i, pbkdf2-sha1/sha256/sha512, scrypt, firescrypt, md5, sha1/sha256/sha512, {SSHA}, {SSHA256}, {SSHA512}, hmac-<alg>, md5-crypt, sha256-crypt, sha512-crypt)")
}

type bcryptHash struct{ raw []byte }

func (b *bcryptHash) verify(password []byte) (bool, error) {
	err := bcrypt.CompareHashAndPassword(b.raw, password)
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	if err != nil {
		return false, invalid("bcrypt: %v", err)
	}
	return true, nil
}

type argon2Hash struct {
	variant            string
	memory, iterations uint32
	threads            uint8
	salt, key          []byte
}

func parseArgon2(hash string) (*argon2Hash, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return nil, invalid("argon2 hashes look like $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>")
	}
	a := &argon2Hash{variant: parts[1]}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, invalid("argon2 version must be v=%d", argon2.Version)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &a.memory, &a.iterations, &threads); err != nil {
		return nil, invalid("argon2 parameters must be m=<KiB>,t=<iterations>,p=<threads>")
	}
	if a.memory == 0 || a.iterations == 0 || threads == 0 || threads > 255 || a.memory > 4<<20 {
		return nil, invalid("argon2 parameters out of range")
	}
	a.threads = uint8(threads)
	var err error
	if a.salt, err = decodeB64(parts[4]); err != nil {
		return nil, invalid("argon2 salt is not base64")
	}
	if a.key, err = decodeB64(parts[5]); err != nil || len(a.key) == 0 {
		return nil, invalid("argon2 hash is not base64")
	}
	return a, nil
}

func (a *argon2Hash) verify(password []byte) (bool, error) {
	var got []byte
	if a.variant == Argon2id {
		got = argon2.IDKey(password, a.salt, a.iterations, a.memory, a.threads, uint32(len(a.key)))
	} else {
		got = argon2.Key(password, a.salt, a.iterations, a.memory, a.threads, uint32(len(a.key)))
	}
	return subtle.ConstantTimeCompare(got, a.key) == 1, nil
}

// decodeB64 accepts standard base64 with or without padding.
func decodeB64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
