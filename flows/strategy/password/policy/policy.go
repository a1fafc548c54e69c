// Package policy is the password policy of the password method: a minimum
// and maximum length, the identifier-similarity check Kratos has, and an
// offline list of common (breached) passwords shipped with the binary.
package policy

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/flows"
)

// MaxBytes bounds a password (longer ones are refused, never truncated:
// argon2id hashes the whole password).
const MaxBytes = 4096

// DefaultMinLength is the minimum length when the project sets none.
const DefaultMinLength = 8

// Kratos' thresholds (selfservice/strategy/password/validator.go): a
// password is too similar to an identifier when their Levenshtein distance
// is below 5 or their longest common substring is more than half of the
// password.
const (
	minIdentifierDistance  = 5
	maxSubstringProportion = 0.5
)

//go:embed common.txt.gz
var commonGz []byte

var (
	commonOnce sync.Once
	// common is the list, one password per line in byte order; offsets
	// are where each password starts (a binary search over ~150,000
	// entries costs about 1.5 MB of memory, a third of a map's).
	common  string
	offsets []uint32
)

func loadCommon() {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic("policy: common password list: " + err.Error())
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		panic("policy: common password list: " + err.Error())
	}
	common = string(b)
	offs := make([]uint32, 0, 160000)
	prev := ""
	for i := 0; i < len(common); {
		j := strings.IndexByte(common[i:], '\n')
		if j < 0 {
			j = len(common) - i
		}
		line := common[i : i+j]
		if line <= prev && len(offs) > 0 {
			panic("policy: common password list is not sorted at " + strconv.Quote(line))
		}
		offs = append(offs, uint32(i))
		prev = line
		i += j + 1
	}
	offsets = offs
}

func entry(i int) string {
	start := int(offsets[i])
	end := len(common)
	if i+1 < len(offsets) {
		end = int(offsets[i+1])
	}
	return strings.TrimSuffix(common[start:end], "\n")
}

// CommonCount is the number of passwords in the embedded list.
func CommonCount() int {
	commonOnce.Do(loadCommon)
	return len(offsets)
}

// Common reports whether pw (case-insensitively) is on the embedded list
// of common passwords. The list is decompressed on first use.
func Common(pw string) bool {
	commonOnce.Do(loadCommon)
	pw = strings.ToLower(pw)
	if pw == "" {
		return false
	}
	i := sort.Search(len(offsets), func(i int) bool { return entry(i) >= pw })
	return i < len(offsets) && entry(i) == pw
}

// Warm loads the common password list now (instead of on the first
// registration), e.g. at start-up.
func Warm() { commonOnce.Do(loadCommon) }

// TooSimilar reports whether pw is too similar to identifier: Kratos'
// check (Levenshtein distance < 5 or a common substring longer than half
// the password, case-insensitively), plus: the password contains the
// identifier or the local part (4+ characters) of an e-mail identifier.
func TooSimilar(identifier, pw string) bool {
	id := strings.ToLower(strings.TrimSpace(identifier))
	if id == "" || pw == "" {
		return false
	}
	lp := strings.ToLower(pw)
	if strings.Contains(lp, id) || strings.Contains(id, lp) {
		return true
	}
	if local, _, ok := strings.Cut(id, "@"); ok && utf8.RuneCountInString(local) >= 4 && strings.Contains(lp, local) {
		return true
	}
	a, b := []rune(id), []rune(lp)
	if levenshtein(a, b) < minIdentifierDistance {
		return true
	}
	return float64(longestCommonSubstring(a, b))/float64(len(b)) > maxSubstringProportion
}

// Config is a project's password policy (flows.PasswordSettings).
type Config = flows.PasswordSettings

// Check returns the message that refuses pw for an identity with the given
// identifiers, nil when pw is acceptable.
func Check(c Config, pw string, identifiers []string) *flows.Text {
	min := c.MinLength
	if min <= 0 {
		min = DefaultMinLength
	}
	if n := utf8.RuneCountInString(pw); n < min {
		return flows.PasswordTooShort(min, n)
	}
	if len(pw) > MaxBytes {
		return flows.PasswordTooLong(MaxBytes, len(pw))
	}
	if c.SimilarityCheck() {
		for _, id := range identifiers {
			if TooSimilar(id, pw) {
				return flows.Message(flows.ErrValidationPasswordSimilar)
			}
		}
	}
	if c.CommonCheck() && Common(pw) {
		return flows.Message(flows.ErrValidationPasswordBreached)
	}
	return nil
}

func levenshtein(a, b []rune) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func longestCommonSubstring(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	best := 0
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				best = max(best, cur[j])
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return best
}
