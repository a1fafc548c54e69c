package courier

import "github.com/lanyard-id/lanyard/internal/sealbox"

// deriveKey derives a 32-byte key for one purpose from a configured secret.
func deriveKey(secret []byte, purpose string) []byte { return sealbox.DeriveKey(secret, purpose) }

// keyring seals SMTP passwords at rest (internal/sealbox, with its own
// purpose so the key differs from other sealed secrets).
type keyring struct{ kr *sealbox.Keyring }

const smtpKeyPurpose = "lanyard courier smtp password v1"

func newKeyring(secrets [][]byte) *keyring { return &keyring{kr: sealbox.New(secrets, smtpKeyPurpose)} }

// seal encrypts plain, bound to aad, with the current key.
func (k *keyring) seal(plain, aad []byte) (sealed []byte, keyID string) { return k.kr.Seal(plain, aad) }

// open decrypts a value sealed by seal.
func (k *keyring) open(sealed []byte, keyID string, aad []byte) ([]byte, error) {
	return k.kr.Open(sealed, keyID, aad)
}

var errNoKey = sealbox.ErrNoKey
