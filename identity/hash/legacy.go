package hash

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/md4" //nolint:staticcheck // legacy hmac-md4 imports
	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"
)

// The formats below are only ever verified, never produced: a successful
// Verify reports needsRehash so the caller upgrades them.

var digests = map[string]func() hash.Hash{
	"md4": md4.New, "md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224,
	"sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New,
}

// pbkdf2: $pbkdf2-<sha1|sha256|sha512>$i=<iterations>,l=<key length>$<salt>$<hash>
type pbkdf2Hash struct {
	fn         func() hash.Hash
	iterations int
	salt, key  []byte
}

func parsePBKDF2(s string) (*pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 {
		return nil, invalid("pbkdf2 hashes look like $pbkdf2-sha256$i=100000,l=32$<salt>$<hash>")
	}
	alg := strings.TrimPrefix(parts[1], "pbkdf2-")
	if alg != "sha1" && alg != "sha256" && alg != "sha512" {
		return nil, invalid("pbkdf2 digest must be sha1, sha256 or sha512")
	}
	p := &pbkdf2Hash{fn: digests[alg]}
	var keyLen int
	if _, err := fmt.Sscanf(parts[2], "i=%d,l=%d", &p.iterations, &keyLen); err != nil || p.iterations < 1 || p.iterations > 1e8 {
		return nil, invalid("pbkdf2 parameters must be i=<iterations>,l=<key length>")
	}
	var err error
	if p.salt, err = decodeB64(parts[3]); err != nil {
		return nil, invalid("pbkdf2 salt is not base64")
	}
	if p.key, err = decodeB64(parts[4]); err != nil || len(p.key) == 0 || len(p.key) != keyLen {
		return nil, invalid("pbkdf2 hash is not base64 of l bytes")
	}
	return p, nil
}

func (p *pbkdf2Hash) verify(password []byte) (bool, error) {
	got := pbkdf2.Key(password, p.salt, p.iterations, len(p.key), p.fn)
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// scrypt: $scrypt$ln=<N or log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>
// Kratos writes N itself after ln=; passlib-style exports write log2(N).
// Both are accepted: a value below 32 is read as log2(N).
type scryptHash struct {
	n, r, p   int
	salt, key []byte
}

func scryptN(ln int) (int, bool) {
	if ln > 0 && ln < 32 {
		return 1 << ln, true
	}
	return ln, ln > 1 && ln&(ln-1) == 0
}

func parseScrypt(s string) (*scryptHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 {
		return nil, invalid("scrypt hashes look like $scrypt$ln=16384,r=8,p=1$<salt>$<hash>")
	}
	h := &scryptHash{}
	var ln int
	if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &ln, &h.r, &h.p); err != nil {
		return nil, invalid("scrypt parameters must be ln=<N>,r=<r>,p=<p>")
	}
	var ok bool
	if h.n, ok = scryptN(ln); !ok || h.r < 1 || h.p < 1 || h.n > 1<<22 {
		return nil, invalid("scrypt parameters out of range")
	}
	var err error
	if h.salt, err = decodeB64(parts[3]); err != nil {
		return nil, invalid("scrypt salt is not base64")
	}
	if h.key, err = decodeB64(parts[4]); err != nil || len(h.key) == 0 {
		return nil, invalid("scrypt hash is not base64")
	}
	return h, nil
}

func (h *scryptHash) verify(password []byte) (bool, error) {
	got, err := scrypt.Key(password, h.salt, h.n, h.r, h.p, len(h.key))
	if err != nil {
		return false, invalid("scrypt: %v", err)
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// firebase scrypt: $firescrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>$<salt separator>$<signer key>
// The derived key (scrypt of salt+separator) AES-256-CTR-encrypts the
// signer key with a zero IV; the result is the stored hash.
type firebaseHash struct {
	ln, r, p                        int
	salt, key, separator, signerKey []byte
}

func parseFirebaseScrypt(s string) (*firebaseHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 7 {
		return nil, invalid("firebase scrypt hashes look like $firescrypt$ln=14,r=8,p=1$<salt>$<hash>$<salt separator>$<signer key>")
	}
	h := &firebaseHash{}
	if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &h.ln, &h.r, &h.p); err != nil || h.ln < 1 || h.ln > 22 || h.r < 1 || h.p < 1 {
		return nil, invalid("firebase scrypt parameters must be ln=<log2 N>,r=<r>,p=<p>")
	}
	for i, dst := range []*[]byte{&h.salt, &h.key, &h.separator, &h.signerKey} {
		b, err := decodeB64(parts[3+i])
		if err != nil {
			return nil, invalid("firebase scrypt field %d is not base64", i+1)
		}
		*dst = b
	}
	if len(h.key) == 0 || len(h.signerKey) == 0 {
		return nil, invalid("firebase scrypt hash and signer key must not be empty")
	}
	return h, nil
}

func (h *firebaseHash) verify(password []byte) (bool, error) {
	salt := append(append([]byte{}, h.salt...), h.separator...)
	dk, err := scrypt.Key(password, salt, 1<<h.ln, h.r, h.p, 32)
	if err != nil {
		return false, invalid("firebase scrypt: %v", err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return false, err
	}
	got := make([]byte, len(h.signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, h.signerKey)
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// SSHA: {SSHA}base64(sha1(password+salt)+salt), likewise {SSHA256}, {SSHA512}.
type sshaHash struct {
	fn           func() hash.Hash
	digest, salt []byte
}

func parseSSHA(s string) (*sshaHash, error) {
	end := strings.IndexByte(s, '}')
	name, rest := s[1:end], s[end+1:]
	fn := map[string]func() hash.Hash{"SSHA": sha1.New, "SSHA256": sha256.New, "SSHA512": sha512.New}[name]
	raw, err := base64.StdEncoding.DecodeString(rest)
	size := fn().Size()
	if err != nil || len(raw) <= size {
		return nil, invalid("{%s} hashes are base64 of the digest followed by a salt", name)
	}
	return &sshaHash{fn: fn, digest: raw[:size], salt: raw[size:]}, nil
}

func (h *sshaHash) verify(password []byte) (bool, error) {
	d := h.fn()
	d.Write(password)
	d.Write(h.salt)
	return subtle.ConstantTimeCompare(d.Sum(nil), h.digest) == 1, nil
}

// digest: $<md5|sha1|sha256|sha512>$<hash>, or
// $<alg>$pf=<base64 template>$<base64 salt>$<base64 hash> where the
// template combines {SALT} and {PASSWORD} (e.g. "{SALT}{PASSWORD}").
type digestHash struct {
	fn             func() hash.Hash
	template, salt []byte
	digest         []byte
}

func parseDigest(s string) (*digestHash, error) {
	parts := strings.Split(s, "$")
	h := &digestHash{fn: digests[parts[1]], template: []byte("{PASSWORD}")}
	var err error
	switch len(parts) {
	case 3:
		h.digest, err = decodeB64(parts[2])
	case 5:
		if !strings.HasPrefix(parts[2], "pf=") {
			return nil, invalid("%s hashes with a salt look like $%s$pf=<base64 template>$<salt>$<hash>", parts[1], parts[1])
		}
		if h.template, err = decodeB64(strings.TrimPrefix(parts[2], "pf=")); err != nil {
			return nil, invalid("%s template is not base64", parts[1])
		}
		if h.salt, err = decodeB64(parts[3]); err != nil {
			return nil, invalid("%s salt is not base64", parts[1])
		}
		h.digest, err = decodeB64(parts[4])
	default:
		return nil, invalid("%s hashes look like $%s$<hash> or $%s$pf=<template>$<salt>$<hash>", parts[1], parts[1], parts[1])
	}
	if err != nil || len(h.digest) != h.fn().Size() {
		return nil, invalid("%s hash is not base64 of a %s digest", parts[1], parts[1])
	}
	return h, nil
}

func (h *digestHash) verify(password []byte) (bool, error) {
	in := strings.ReplaceAll(string(h.template), "{SALT}", string(h.salt))
	in = strings.ReplaceAll(in, "{PASSWORD}", string(password))
	d := h.fn()
	d.Write([]byte(in))
	return subtle.ConstantTimeCompare(d.Sum(nil), h.digest) == 1, nil
}

// hmac: $hmac-<md4|md5|sha1|sha224|sha256|sha384|sha512>$<base64 hash>$<base64 key>,
// the hash being base64 of the hex MAC (Kratos) or of the raw MAC.
type hmacHash struct {
	fn       func() hash.Hash
	mac, key []byte
}

func parseHMAC(s string) (*hmacHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		return nil, invalid("hmac hashes look like $hmac-sha256$<base64 hash>$<base64 key>")
	}
	fn, ok := digests[strings.TrimPrefix(parts[1], "hmac-")]
	if !ok {
		return nil, invalid("hmac digest must be md4, md5, sha1, sha224, sha256, sha384 or sha512")
	}
	h := &hmacHash{fn: fn}
	var err error
	if h.mac, err = decodeB64(parts[2]); err != nil {
		return nil, invalid("hmac hash is not base64 of a digest")
	}
	// Kratos stores base64 of the hex-encoded MAC; raw MAC bytes are
	// accepted too.
	if len(h.mac) == 2*fn().Size() {
		if raw, err := hex.DecodeString(string(h.mac)); err == nil {
			h.mac = raw
		}
	}
	if len(h.mac) != fn().Size() {
		return nil, invalid("hmac hash is not base64 of a digest (raw or hex-encoded)")
	}
	if h.key, err = decodeB64(parts[3]); err != nil {
		return nil, invalid("hmac key is not base64")
	}
	return h, nil
}

func (h *hmacHash) verify(password []byte) (bool, error) {
	m := hmac.New(h.fn, h.key)
	m.Write(password)
	return hmac.Equal(m.Sum(nil), h.mac), nil
}
