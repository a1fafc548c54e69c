package tenant_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant"
)

func TestCopies(t *testing.T) {
	c := tenant.NewCopies[string](50 * time.Millisecond)
	a, b := uuid.New(), uuid.New()
	reads := 0
	read := func(v string) func() (string, error) {
		return func() (string, error) { reads++; return v, nil }
	}
	if v, _ := c.Load(a, read("a1")); v != "a1" || reads != 1 {
		t.Fatalf("first load: %q after %d reads", v, reads)
	}
	if v, _ := c.Load(a, read("a2")); v != "a1" || reads != 1 {
		t.Fatalf("second load read again or lost the copy: %q after %d reads", v, reads)
	}
	if _, ok := c.Get(b); ok {
		t.Fatal("project b has a copy it never read")
	}

	// A read that raced a drop is not kept.
	gen, at := c.Begin()
	c.Drop(a)
	c.Keep(a, "stale", gen, at)
	if v, ok := c.Get(a); ok {
		t.Fatalf("a read that began before a drop was kept: %q", v)
	}
	gen, at = c.Begin()
	c.Keep(a, "fresh", gen, at)
	if v, ok := c.Get(a); !ok || v != "fresh" {
		t.Fatalf("got %q, %v; want the fresh copy", v, ok)
	}

	// Copies expire.
	time.Sleep(60 * time.Millisecond)
	if v, ok := c.Get(a); ok {
		t.Fatalf("a copy older than the ttl answered: %q", v)
	}
}
