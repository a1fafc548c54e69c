package pagetoken

import (
	"bytes"
	"testing"

	"github.com/google/uuid"
)

func TestSealOpen(t *testing.T) {
	s := New([]byte("0123456789abcdef0123456789abcdef"))
	a, b := uuid.New(), uuid.New()
	cursor := []byte("cursor-bytes")
	tok := s.Seal("identities", a, cursor)
	got, err := s.Open("identities", a, tok)
	if err != nil || !bytes.Equal(got, cursor) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// A tampered MAC must differ from the real one (its last characters
	// can be "AA" by chance).
	tamperedMAC := tok[:len(tok)-2] + "AA"
	if tamperedMAC == tok {
		tamperedMAC = tok[:len(tok)-2] + "BB"
	}
	bad := []struct {
		name, purpose, token string
		project              uuid.UUID
	}{
		{"other project", "identities", tok, b},
		{"other list", "courier", tok, a},
		{"tampered cursor", "identities", "X" + tok[1:], a},
		{"tampered mac", "identities", tamperedMAC, a},
		{"no dot", "identities", "abc", a},
		{"other key", "identities", New([]byte("another key, also 32 bytes long!")).Seal("identities", a, cursor), a},
		{"huge", "identities", string(make([]byte, 1000)), a},
	}
	for _, tc := range bad {
		if _, err := s.Open(tc.purpose, tc.project, tc.token); err != ErrInvalid {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
}
