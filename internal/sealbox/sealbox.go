// Package sealbox seals secrets at rest (SMTP passwords, webhook signing
// secrets and credentials) with AES-256-GCM under keys derived from the
// configured secrets. Each sealed value keeps the id of the key that sealed
// it, so values sealed with an older secret still open while that secret is
// configured (rotation: add a new secret first, older ones after it, and
// re-save the settings to reseal).
//
// Errors: Open returns an error wrapping ErrNoKey when the key a value was
// sealed with is no longer configured, and another error when the value was
// altered or bound to other associated data.
package sealbox

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

// DeriveKey derives a 32-byte key for one purpose from a configured secret.
func DeriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce
	}
	return k
}

// Keyring holds one AEAD per configured secret for one purpose.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New builds the keyring of purpose from secrets, current first. It panics
// without secrets (the configuration guarantees one).
func New(secrets [][]byte, purpose string) *Keyring {
	if len(secrets) == 0 {
		panic("sealbox: no secret configured")
	}
	kr := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, s := range secrets {
		k := DeriveKey(s, purpose)
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

// Seal encrypts plain, bound to aad, with the current key.
func (kr *Keyring) Seal(plain, aad []byte) (sealed []byte, keyID string) {
	aead := kr.aeads[kr.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return aead.Seal(nonce, nonce, plain, aad), kr.current
}

// ErrNoKey is wrapped by Open when the sealing key is no longer configured.
var ErrNoKey = errors.New("the key this secret was sealed with is no longer configured")

// Open decrypts a value sealed by Seal with the same aad.
func (kr *Keyring) Open(sealed []byte, keyID string, aad []byte) ([]byte, error) {
	aead, ok := kr.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("sealbox: key %s: %w", keyID, ErrNoKey)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealbox: sealed value too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("sealbox: open sealed value: %w", err)
	}
	return plain, nil
}
