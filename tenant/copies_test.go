package tenant_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
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

// While a process listens for change notices, its copies outlive their
// own ttl, and a change committed through any process drops the changed
// project's copies of every kind; once it stops listening, copies expire
// with their own ttl again. (Not parallel: listening lengthens the
// copies of the whole process.)
func TestCopiesChangeNotices(t *testing.T) {
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx, cancel := context.WithCancel(context.Background())
	// A client of its own, named, so that the test can cut its
	// subscription's connection.
	name := "copies-test-" + uuid.NewString()[:8]
	n := tenant.RedisNotifier{Client: namedClient(t, env, name), Channel: env.Namespace + "copies-test"}
	done := make(chan struct{})
	go func() { tenant.ListenCopies(ctx, n, slog.Default()); close(done) }()
	stop := func() { cancel(); <-done }
	defer stop()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
		}
	}
	waitFor("subscribed", tenant.CopiesListening)

	const ttl = 20 * time.Millisecond
	changed, other := tenant.NewCopies[string](ttl), tenant.NewCopies[string](ttl)
	keep := func(c *tenant.Copies[string], project uuid.UUID, v string) {
		gen, at := c.Begin()
		c.Keep(project, v, gen, at)
	}
	has := func(c *tenant.Copies[string], project uuid.UUID) bool { _, ok := c.Get(project); return ok }
	bystander := uuid.New()
	keep(changed, p.ID, "c")
	keep(other, p.ID, "o")
	keep(other, bystander, "b")
	time.Sleep(3 * ttl)
	if !has(other, p.ID) {
		t.Fatal("while listening, a copy expired with its own ttl")
	}

	// A change committed here drops the other kinds' copies too, through
	// the notice this process announced and received.
	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		changed.DropAt(tx)
		_, err := tx.Exec(ctx, `SELECT 1`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor("the committed change's notice dropped the other copy", func() bool { return !has(other, p.ID) })

	// A notice from another process drops them as well.
	keep(other, p.ID, "o2")
	if err := env.Redis.Publish(ctx, n.Channel, p.ID.String()).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor("another process's notice dropped the copy", func() bool { return !has(other, p.ID) })
	if !has(other, bystander) {
		t.Error("a notice about one project dropped another project's copy")
	}

	// A subscription that was cut reconnects by itself; notices may have
	// been lost meanwhile, so its return drops every copy.
	keep(other, bystander, "b2")
	cutSubscription(t, env, name)
	waitFor("the resubscription dropped every copy", func() bool { return !has(other, bystander) })
	if !tenant.CopiesListening() {
		t.Fatal("not listening after the reconnection")
	}

	stop()
	if tenant.CopiesListening() {
		t.Fatal("still listening after the context ended")
	}
	keep(other, p.ID, "o3")
	time.Sleep(3 * ttl)
	if has(other, p.ID) {
		t.Error("not listening, a copy outlived its own ttl")
	}
}
