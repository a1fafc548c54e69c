package courier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// deriveKey derives a 32-byte key for one purpose from a configured secret.
func deriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}

// keyring seals secrets at rest (SMTP passwords) with AES-256-GCM under a
// key derived from the current configured secret; each sealed value keeps
// the id of its key, so values sealed with an older secret still open
// while that secret is configured (rotation: add a new secret first, older
// ones after it, and re-save settings to reseal).
type keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

const smtpKeyPurpose = "lanyard courier smtp password v1"

func newKeyring(secrets [][]byte) *keyring {
	kr := &keyring{aeads: map[string]cipher.AEAD{}}
	for i, s := range secrets {
		k := deriveKey(s, smtpKeyPurpose)
		sum := sha256.Sum256(k)
		id := hex.EncodeToString(sum[:4])
		block, err := aes.NewCipher(k)
		if err != nil {
			panic(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			panic(err)
		}
		if i == 0 {
			kr.current = id
		}
		if _, dup := kr.aeads[id]; !dup {
			kr.aeads[id] = aead
		}
	}
	return kr
}

// seal encrypts plain, bound to aad, with the current key.
func (kr *keyring) seal(plain, aad []byte) (sealed []byte, keyID string) {
	aead := kr.aeads[kr.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return aead.Seal(nonce, nonce, plain, aad), kr.current
}

var errNoKey = errors.New("the key this secret was sealed with is no longer configured")

// open decrypts a value sealed by seal.
func (kr *keyring) open(sealed []byte, keyID string, aad []byte) ([]byte, error) {
	aead, ok := kr.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("courier: key %s: %w", keyID, errNoKey)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("courier: sealed value too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("courier: open sealed value: %w", err)
	}
	return plain, nil
}
