package policy

import "testing"

// Every entry of the list is found by the binary search, and nothing
// between two neighbours is.
func TestEveryListedPasswordIsFound(t *testing.T) {
	n := CommonCount()
	for i := 0; i < n; i++ {
		e := entry(i)
		if !Common(e) {
			t.Fatalf("entry %d %q not found", i, e)
		}
		if Common(e + "\x00") {
			t.Fatalf("%q found though it is not on the list", e+"\x00")
		}
	}
}
