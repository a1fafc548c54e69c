package sealbox

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenRotationAndBinding(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	before := New([][]byte{oldKey}, "test purpose")
	sealed, id := before.Seal([]byte("hunter2"), []byte("aad"))
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value holds the plain text")
	}
	// Rotation: the new key first, the old one still configured.
	after := New([][]byte{newKey, oldKey}, "test purpose")
	if got, err := after.Open(sealed, id, []byte("aad")); err != nil || string(got) != "hunter2" {
		t.Fatalf("open after rotation = %q, %v", got, err)
	}
	if _, err := after.Open(sealed, id, []byte("other aad")); err == nil {
		t.Fatal("opened with other associated data")
	}
	if _, err := New([][]byte{oldKey}, "other purpose").Open(sealed, id, []byte("aad")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("another purpose's keyring: %v, want ErrNoKey", err)
	}
	if _, err := New([][]byte{newKey}, "test purpose").Open(sealed, id, []byte("aad")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("old key removed: %v, want ErrNoKey", err)
	}
}
