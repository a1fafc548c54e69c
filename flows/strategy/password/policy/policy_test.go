package policy_test

import (
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/password/policy"
)

func TestCommon(t *testing.T) {
	if n := policy.CommonCount(); n < 49000 {
		t.Fatalf("list has %d passwords", n)
	}
	for _, pw := range []string{"123456", "password", "PassWord", "qwertyuiop", "1qaz2wsx", "baseball", "trustno1",
		// From the 150,000 most frequent passwords of the 10-million list.
		"alfaomega", "firehouse", "19011957"} {
		if !policy.Common(pw) {
			t.Errorf("%q is not on the list", pw)
		}
	}
	for _, pw := range []string{"correct horse battery", "lanyard-x7#Qm2-secret", ""} {
		if policy.Common(pw) {
			t.Errorf("%q is on the list", pw)
		}
	}
}

func TestTooSimilar(t *testing.T) {
	for _, c := range []struct {
		id, pw string
		want   bool
	}{
		{"ann@example.com", "ann@example.com1", true},
		{"ann@example.com", "ANN@EXAMPLE.COM", true},
		{"ann@example.com", "example.com!!", true},     // common substring > half of the password
		{"johnny@example.com", "johnny-rocks-1", true}, // local part
		{"ann@example.com", "ann@exampl.co", true},     // Levenshtein < 5
		{"ann@example.com", "correct horse battery", false},
		{"ann@example.com", "ann likes long walks", false},
		{"", "whatever", false},
	} {
		if got := policy.TooSimilar(c.id, c.pw); got != c.want {
			t.Errorf("TooSimilar(%q, %q) = %v, want %v", c.id, c.pw, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	off := false
	for _, c := range []struct {
		cfg  policy.Config
		pw   string
		want int
	}{
		{policy.Config{}, "short", flows.ErrValidationPasswordTooShort},
		{policy.Config{}, strings.Repeat("x", policy.MaxBytes+1), flows.ErrValidationPasswordTooLong},
		{policy.Config{}, "carol@example.com", flows.ErrValidationPasswordSimilar},
		{policy.Config{}, "baseball", flows.ErrValidationPasswordBreached},
		{policy.Config{CommonPasswordCheck: &off}, "baseball", 0},
		{policy.Config{IdentifierSimilarityCheck: &off}, "carol@example.com", 0},
		{policy.Config{MinLength: 12}, "good password", 0},
		{policy.Config{MinLength: 14}, "good password", flows.ErrValidationPasswordTooShort},
		{policy.Config{}, "ünïcödé-pässwörd", 0},
	} {
		m := policy.Check(c.cfg, c.pw, []string{"carol@example.com"})
		got := 0
		if m != nil {
			got = m.ID
		}
		if got != c.want {
			t.Errorf("Check(%+v, %.20q) = %d, want %d", c.cfg, c.pw, got, c.want)
		}
	}
}

func BenchmarkCommon(b *testing.B) {
	policy.Warm()
	for b.Loop() {
		policy.Common("correct horse battery")
	}
}
