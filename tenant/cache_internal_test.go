package tenant

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A hit in the second half of an entry's life is answered at once and
// refreshes the entry in the background; a refresh that overlaps a change
// notice does not store what it read.
func TestProjectCacheRefreshesAhead(t *testing.T) {
	t.Parallel()
	c := newProjectCache(200*time.Millisecond, nil)
	var loads atomic.Int32
	release := make(chan struct{})
	slow := atomic.Bool{}
	load := func(context.Context) (*Project, error) {
		n := loads.Add(1)
		if slow.Load() {
			<-release
		}
		return &Project{Slug: "p", Name: string(rune('a' + n - 1))}, nil
	}
	ctx := context.Background()
	if p, _ := c.get(ctx, "s:p", load); p.Name != "a" || loads.Load() != 1 {
		t.Fatalf("first get: %+v after %d loads", p, loads.Load())
	}
	time.Sleep(120 * time.Millisecond) // past half the ttl
	if p, _ := c.get(ctx, "s:p", load); p.Name != "a" {
		t.Fatalf("a hit past half its life answers from memory, got %+v", p)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		p, _ := c.get(ctx, "s:p", load)
		if p.Name == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no background refresh after %d loads", loads.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2 (one refresh)", n)
	}

	// A refresh that is still reading when the cache is cleared is dropped.
	slow.Store(true)
	time.Sleep(120 * time.Millisecond)
	_, _ = c.get(ctx, "s:p", load) // starts the slow refresh
	for loads.Load() != 3 {
		time.Sleep(time.Millisecond)
	}
	c.clear()
	close(release)
	time.Sleep(20 * time.Millisecond)
	c.mu.RLock()
	_, kept := c.entries["s:p"]
	c.mu.RUnlock()
	if kept {
		t.Fatal("a refresh that started before a change notice stored its answer")
	}
}
