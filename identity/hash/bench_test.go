package hash

import "testing"

// BenchmarkArgon2idDefault is one hash at the default (OWASP) parameters:
// the ceiling of password logins per core is 1 s divided by its time.
func BenchmarkArgon2idDefault(b *testing.B) {
	h := MustNew(Config{})
	for i := 0; i < b.N; i++ {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
