package hash_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"

	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/internal/errx"
)

var b64 = base64.StdEncoding.EncodeToString
var raw64 = base64.RawStdEncoding.EncodeToString

func salt(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Legacy hashes of "correct horse", made with the libraries (not typed in).
func legacyHashes(t *testing.T, pw string) map[string]string {
	t.Helper()
	out := map[string]string{}
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	out["bcrypt"] = string(bc)
	out["bcrypt-2y"] = "$2y$" + string(bc[4:])
	s := salt(16)
	out["argon2id-foreign"] = fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", 1024, 3, 2, raw64(s), raw64(argon2.IDKey([]byte(pw), s, 3, 1024, 2, 32)))
	out["argon2i"] = fmt.Sprintf("$argon2i$v=19$m=%d,t=%d,p=%d$%s$%s", 512, 2, 1, raw64(s), raw64(argon2.Key([]byte(pw), s, 2, 512, 1, 24)))
	out["pbkdf2-sha1"] = fmt.Sprintf("$pbkdf2-sha1$i=1000,l=20$%s$%s", raw64(s), raw64(pbkdf2.Key([]byte(pw), s, 1000, 20, sha1.New)))
	out["pbkdf2-sha256"] = fmt.Sprintf("$pbkdf2-sha256$i=1000,l=32$%s$%s", raw64(s), raw64(pbkdf2.Key([]byte(pw), s, 1000, 32, sha256.New)))
	out["pbkdf2-sha512"] = fmt.Sprintf("$pbkdf2-sha512$i=1000,l=64$%s$%s", raw64(s), raw64(pbkdf2.Key([]byte(pw), s, 1000, 64, sha512.New)))
	sk, err := scrypt.Key([]byte(pw), s, 1024, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	out["scrypt"] = fmt.Sprintf("$scrypt$ln=1024,r=8,p=1$%s$%s", b64(s), b64(sk))
	out["scrypt-log2"] = fmt.Sprintf("$scrypt$ln=10,r=8,p=1$%s$%s", b64(s), b64(sk))
	// Firebase: scrypt(pw, salt+sep) keys AES-256-CTR over the signer key.
	sep, signer := salt(1), salt(64)
	dk, _ := scrypt.Key([]byte(pw), append(append([]byte{}, s...), sep...), 1<<10, 8, 1, 32)
	block, _ := aes.NewCipher(dk)
	fh := make([]byte, len(signer))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(fh, signer)
	out["firescrypt"] = fmt.Sprintf("$firescrypt$ln=10,r=8,p=1$%s$%s$%s$%s", b64(s), b64(fh), b64(sep), b64(signer))
	m := md5.Sum([]byte(pw))
	out["md5"] = "$md5$" + b64(m[:])
	tpl := "{SALT}$${PASSWORD}"
	d := sha256.Sum256([]byte(strings.ReplaceAll(strings.ReplaceAll(tpl, "{SALT}", "pepper"), "{PASSWORD}", pw)))
	out["sha256-pf"] = fmt.Sprintf("$sha256$pf=%s$%s$%s", b64([]byte(tpl)), b64([]byte("pepper")), b64(d[:]))
	ss := sha1.New()
	ss.Write([]byte(pw))
	ss.Write(s[:8])
	out["ssha"] = "{SSHA}" + b64(append(ss.Sum(nil), s[:8]...))
	s5 := sha512.New()
	s5.Write([]byte(pw))
	s5.Write(s[:8])
	out["ssha512"] = "{SSHA512}" + b64(append(s5.Sum(nil), s[:8]...))
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte(pw))
	out["hmac-sha256"] = fmt.Sprintf("$hmac-sha256$%s$%s", b64(mac.Sum(nil)), b64([]byte("key")))
	// Kratos's own encoding: base64 of the hex MAC.
	out["hmac-sha256-hex"] = fmt.Sprintf("$hmac-sha256$%s$%s", b64([]byte(hex.EncodeToString(mac.Sum(nil)))), b64([]byte("key")))
	mac5 := hmac.New(md5.New, []byte("k2"))
	mac5.Write([]byte(pw))
	out["hmac-md5-hex"] = fmt.Sprintf("$hmac-md5$%s$%s", b64([]byte(hex.EncodeToString(mac5.Sum(nil)))), b64([]byte("k2")))
	for name, c := range cryptHashes(t, pw) {
		out[name] = c
	}
	return out
}

// cryptHashes returns crypt(3) hashes of pw made by github.com/go-crypt/crypt
// (the library Kratos uses), in Kratos's import encoding: the crypt(3)
// identifier $1$, $5$ or $6$ replaced by $md5-crypt$, $sha256-crypt$ or
// $sha512-crypt$.
func cryptHashes(t *testing.T, pw string) map[string]string {
	t.Helper()
	out := map[string]string{}
	add := func(name, ident, prefix string, digest interface{ Encode() string }, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		enc, ok := strings.CutPrefix(digest.Encode(), ident)
		if !ok {
			t.Fatalf("%s: library produced %q, want a %s hash", name, digest.Encode(), ident)
		}
		out[name] = prefix + enc
	}
	md5h, err := md5crypt.New()
	if err != nil {
		t.Fatal(err)
	}
	d, err := md5h.Hash(pw)
	add("md5-crypt", "$1$", "$md5-crypt$", d, err)
	for _, c := range []struct {
		name   string
		opt    shacrypt.Opt
		rounds int
	}{
		{"sha256-crypt", shacrypt.WithSHA256(), shacrypt.IterationsDefaultOmitted},
		{"sha256-crypt-rounds", shacrypt.WithSHA256(), 7000},
		{"sha512-crypt", shacrypt.WithSHA512(), shacrypt.IterationsDefaultOmitted},
		{"sha512-crypt-rounds", shacrypt.WithSHA512(), 6000},
	} {
		sh, err := shacrypt.New(c.opt, shacrypt.WithIterations(c.rounds))
		if err != nil {
			t.Fatal(err)
		}
		ident, prefix := "$5$", "$sha256-crypt$"
		if strings.HasPrefix(c.name, "sha512") {
			ident, prefix = "$6$", "$sha512-crypt$"
		}
		d, err := sh.Hash(pw)
		add(c.name, ident, prefix, d, err)
	}
	if !strings.HasPrefix(out["sha256-crypt-rounds"], "$sha256-crypt$rounds=7000$") || strings.Contains(out["sha512-crypt"], "rounds=") {
		t.Fatalf("rounds not encoded as expected: %v", out)
	}
	return out
}

// TestCryptHashesFromOpenSSL checks the crypt formats against a second,
// independent crypt(3) implementation: openssl passwd -1/-5/-6.
func TestCryptHashesFromOpenSSL(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	h := hash.MustNew(hash.Config{Argon2Memory: 64, Argon2Iterations: 1})
	const pw = "correct horse"
	for flag, prefix := range map[string]string{"-1": "$md5-crypt$", "-5": "$sha256-crypt$", "-6": "$sha512-crypt$"} {
		out, err := exec.Command("openssl", "passwd", flag, pw).Output()
		if err != nil {
			t.Fatalf("openssl passwd %s: %v", flag, err)
		}
		c := strings.TrimSpace(string(out))
		hv := prefix + c[3:] // "$1$salt$hash" -> "$md5-crypt$salt$hash"
		if ok, rehash, err := h.Verify(pw, hv); !ok || !rehash || err != nil {
			t.Fatalf("Verify(%s) = %v, %v, %v; want true, true, nil", hv, ok, rehash, err)
		}
		if ok, _, err := h.Verify("wrong horse", hv); ok || err != nil {
			t.Fatalf("Verify(wrong, %s) = %v, %v", hv, ok, err)
		}
	}
}

func TestVerifyLegacyHashes(t *testing.T) {
	t.Parallel()
	h := hash.MustNew(hash.Config{Argon2Memory: 64, Argon2Iterations: 1})
	const pw = "correct horse"
	for name, hv := range legacyHashes(t, pw) {
		t.Run(name, func(t *testing.T) {
			if err := hash.Check(hv); err != nil {
				t.Fatalf("Check(%s) = %v", hv, err)
			}
			ok, rehash, err := h.Verify(pw, hv)
			if err != nil || !ok {
				t.Fatalf("Verify(right password) = %v, %v, %v; want ok", ok, rehash, err)
			}
			if !rehash {
				t.Fatalf("Verify(%s) did not ask for a rehash to argon2id", name)
			}
			if ok, _, err := h.Verify("wrong horse", hv); ok || err != nil {
				t.Fatalf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestHashAndVerifyCurrent(t *testing.T) {
	t.Parallel()
	h := hash.MustNew(hash.Config{Argon2Memory: 64, Argon2Iterations: 1})
	hv, err := h.Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hv, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %s, want argon2id with the configured parameters", hv)
	}
	ok, rehash, err := h.Verify("s3cret", hv)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	// Stronger parameters make the old hash due for an upgrade.
	stronger := hash.MustNew(hash.Config{Argon2Memory: 128, Argon2Iterations: 1})
	if ok, rehash, _ := stronger.Verify("s3cret", hv); !ok || !rehash {
		t.Fatalf("Verify with new params = %v, %v; want true, true", ok, rehash)
	}
	bc := hash.MustNew(hash.Config{Algorithm: hash.Bcrypt, BcryptCost: 4})
	bh, err := bc.Hash("s3cret")
	if err != nil || !strings.HasPrefix(bh, "$2a$04$") {
		t.Fatalf("bcrypt Hash = %q, %v", bh, err)
	}
	if ok, rehash, _ := bc.Verify("s3cret", bh); !ok || rehash {
		t.Fatalf("bcrypt Verify = %v, %v", ok, rehash)
	}
	if _, err := bc.Hash(strings.Repeat("x", 73)); !errx.Has(err, errx.Invalid) {
		t.Fatalf("bcrypt of 73 bytes = %v, want errx.Invalid", err)
	}
}

func TestDefaultsAreOWASP(t *testing.T) {
	t.Parallel()
	c := hash.MustNew(hash.Config{}).Config()
	if c.Algorithm != hash.Argon2id || c.Argon2Memory != 19*1024 || c.Argon2Iterations != 2 || c.Argon2Parallelism != 1 {
		t.Fatalf("defaults = %+v, want argon2id m=19456 t=2 p=1", c)
	}
	if _, err := hash.New(hash.Config{Algorithm: "md5"}); err == nil {
		t.Fatal("New accepted md5 as the hasher")
	}
}

func TestRefusesUnknownAndMalformed(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "plain", "$unknown$x", "$2a$99$abc", "$argon2id$v=19$m=x$a$b", "$pbkdf2-md5$i=1,l=1$a$b",
		"$scrypt$ln=3,r=8,p=1$!!$a", "{SSHA}c2hvcnQ=", "$md5$short", "$hmac-whirlpool$a$b", "$sha1$pf=x$y",
		// crypt(3) formats: the raw crypt(3) identifiers, Kratos's names with
		// a crypt identifier left in, short keys, bad rounds, long salts.
		"$1$abc$mEYYKBYwc4Odg5SoPgnFr/", "$md5-crypt$$1$abc$mEYYKBYwc4Odg5SoPgnFr/", "$md5-crypt$abc$short",
		"$md5-crypt$rounds=5000$abc$mEYYKBYwc4Odg5SoPgnFr/", "$md5-crypt$abcdefghi$mEYYKBYwc4Odg5SoPgnFr/",
		"$sha256-crypt$abcdefgh$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7e", "$sha256-crypt$rounds=10$abcdefgh$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB",
		"$sha256-crypt$rounds=999999999$abcdefgh$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB", "$sha512-crypt$abc$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB",
		"$sha512-crypt$a!c$" + strings.Repeat("a", 86)} {
		err := hash.Check(bad)
		if !errx.Has(err, errx.Invalid) {
			t.Errorf("Check(%q) = %v, want errx.Invalid", bad, err)
		}
	}
}
