package tenant

import (
	"crypto/rand"
	"math/big"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/errx"
)

var adjectives = strings.Fields(`able amber ancient bold brave bright calm clever cool cosmic crisp curious
daring eager early fair fancy fast fine gentle glad golden grand happy hidden honest jolly keen kind lively
lucky merry mighty modest noble plucky polite proud quick quiet rapid rare ready silent sharp shiny smart
snowy solid spry steady sunny swift tidy vivid warm wise witty young zesty`)

var nouns = strings.Fields(`badger bear beaver bison crane dingo dolphin eagle falcon ferret finch fox gecko
heron ibis jackal koala lemur lion lynx magpie marten mole moose newt ocelot orca otter owl panda parrot
pelican puffin quail rabbit raven robin salmon seal shrew sparrow stork swan tapir tiger toucan trout turtle
viper walrus weasel whale wolf wombat wren yak zebra`)

const slugAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// SlugRE is the shape of every project slug; anything else is not a project.
var SlugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return int(v.Int64())
}

func randString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}

// NewSlug returns a readable, random project slug such as "brave-otter-k3x9q2".
func NewSlug() string {
	return adjectives[randIndex(len(adjectives))] + "-" + nouns[randIndex(len(nouns))] + "-" + randString(slugAlphabet, 6)
}

// newSchemaName returns a fresh project schema name, p_ + 16 random characters.
func newSchemaName() string { return "p_" + randString(slugAlphabet, 16) }

// ValidateName checks a project or workspace name: 1 to 64 characters after
// trimming, printable, no control characters. It returns the trimmed name.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", errx.New(errx.Invalid, "The name must not be empty.")
	}
	if !utf8.ValidString(name) {
		return "", errx.New(errx.Invalid, "The name must be valid UTF-8.")
	}
	if n := utf8.RuneCountInString(name); n > 64 {
		return "", errx.Newf(errx.Invalid, "The name must be at most 64 characters, got %d.", n)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", errx.New(errx.Invalid, "The name must not contain control characters.")
		}
	}
	return name, nil
}
