package hash

import (
	"strings"

	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

// crypt(3) hashes as Kratos imports them: the crypt(3) identifier ($1$, $5$,
// $6$) is replaced by a name, and the rest is the usual crypt(3) string:
//
//	$md5-crypt$<salt>$<hash>                  (crypt(3) $1$<salt>$<hash>)
//	$sha256-crypt$[rounds=<N>$]<salt>$<hash>  (crypt(3) $5$...)
//	$sha512-crypt$[rounds=<N>$]<salt>$<hash>  (crypt(3) $6$...)
//
// Kratos (hash/hash_comparator.go) swaps the prefix back and hands the string
// to github.com/go-crypt/crypt; so do we, with the same library.

// maxSHACryptRounds bounds the work one login can cost: crypt(3) allows
// 999,999,999 rounds, far beyond anything a real system stores (glibc's
// default is 5,000, passlib's about 650,000).
const maxSHACryptRounds = 10_000_000

var cryptFormats = []struct {
	prefix, ident, name string
	keyLen, maxSalt     int // length of the encoded hash, most salt characters
	decode              func(string) (algorithm.Digest, error)
}{
	{"$md5-crypt$", "$1$", "md5-crypt", 22, md5crypt.SaltLengthMax, md5crypt.DecodeVariant(md5crypt.VariantStandard)},
	{"$sha256-crypt$", "$5$", "sha256-crypt", 43, shacrypt.SaltLengthMax, shacrypt.DecodeVariant(shacrypt.VariantSHA256)},
	{"$sha512-crypt$", "$6$", "sha512-crypt", 86, shacrypt.SaltLengthMax, shacrypt.DecodeVariant(shacrypt.VariantSHA512)},
}

type cryptHash struct{ digest algorithm.Digest }

func parseCrypt(s string) (*cryptHash, error) {
	for _, f := range cryptFormats {
		rest, ok := strings.CutPrefix(s, f.prefix)
		if !ok {
			continue
		}
		shape := f.prefix + "<salt>$<hash>"
		if f.ident != "$1$" {
			shape = f.prefix + "[rounds=<N>$]<salt>$<hash>"
		}
		parts := strings.Split(rest, "$")
		key, salt := parts[len(parts)-1], ""
		if len(parts) >= 2 {
			salt = parts[len(parts)-2]
		}
		if len(parts) < 2 || len(parts) > 3 || len(key) != f.keyLen || !isCryptB64(key) || len(salt) > f.maxSalt || !isCryptB64(salt) {
			return nil, invalid("%s hashes look like %s (a crypt(3) %s hash with %q replaced)", f.name, shape, f.ident, f.ident)
		}
		if len(parts) == 3 {
			var rounds int
			if f.ident == "$1$" || !scanRounds(parts[0], &rounds) || rounds > maxSHACryptRounds {
				return nil, invalid("%s parameters must be rounds=<N> with N at most %d", f.name, maxSHACryptRounds)
			}
		}
		d, err := f.decode(f.ident + rest)
		if err != nil {
			return nil, invalid("%s: %v", f.name, err)
		}
		return &cryptHash{digest: d}, nil
	}
	return nil, invalid("unknown crypt format")
}

func scanRounds(s string, n *int) bool {
	v, ok := strings.CutPrefix(s, "rounds=")
	if !ok || v == "" || len(v) > 10 {
		return false
	}
	*n = 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
		*n = *n*10 + int(c-'0')
	}
	return true
}

// isCryptB64 reports whether s is non-empty and uses only crypt(3)'s
// base-64 alphabet.
func isCryptB64(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// verify runs the library's constant-time comparison.
func (c *cryptHash) verify(password []byte) (bool, error) {
	return c.digest.MatchBytes(password), nil
}
