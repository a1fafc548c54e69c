package tenant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// A project's transactions keep to the connections of its home lane while
// that lane has room, spill to another lane when it has not, and never
// hold more connections than all lanes have; whatever lane a transaction
// lands on, it sees only its project's schema.
func TestLanes(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	pools, err := tenant.OpenLanes(ctx, env.Pool.Config(), 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 3 {
		t.Fatalf("6 connections made %d lanes, want 3", len(pools))
	}
	for _, p := range pools {
		t.Cleanup(p.Close)
	}
	db := tenant.NewDB(env.Pool, pools...)
	projects := tenanttest.CreateProjects(t, env.Registry, 12)

	// backend runs a transaction of p and returns its backend's pid,
	// checking that it sees p's schema.
	backend := func(ctx context.Context, p *tenant.Project, inner func() error) (uint32, error) {
		var pid uint32
		err := db.InTx(ctx, p, func(tx tenant.Tx) error {
			var schema string
			if err := tx.QueryRow(ctx, `SELECT pg_backend_pid(), current_schema()`).Scan(&pid, &schema); err != nil {
				return err
			}
			if schema != p.Schema {
				t.Errorf("a transaction of %s saw schema %s", p.Schema, schema)
			}
			if inner != nil {
				return inner()
			}
			return nil
		})
		return pid, err
	}
	used := map[string]map[uint32]bool{}
	for range 5 {
		for _, p := range projects {
			pid, err := backend(ctx, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if used[p.Schema] == nil {
				used[p.Schema] = map[uint32]bool{}
			}
			used[p.Schema][pid] = true
		}
	}
	// Nested: the third transaction of one project while two are open
	// finds its home lane full and takes another lane's connection at once.
	var outer, middle, inner uint32
	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p := projects[0]
	outer, err = backend(quick, p, func() error {
		var err error
		middle, err = backend(quick, p, func() error {
			var err error
			inner, err = backend(quick, p, nil)
			return err
		})
		return err
	})
	if err != nil || quick.Err() != nil {
		t.Fatalf("nested transactions: %v (%v)", err, quick.Err())
	}
	// Every connection, open now, belongs to one lane.
	lane := map[uint32]int{}
	for i, pool := range pools {
		for _, c := range pool.AcquireAllIdle(ctx) {
			lane[c.Conn().PgConn().PID()] = i
			c.Release()
		}
	}
	lanesUsed := map[int]bool{}
	for schema, pids := range used {
		home := map[int]bool{}
		for pid := range pids {
			l, ok := lane[pid]
			if !ok {
				t.Fatalf("backend %d is in no lane", pid)
			}
			home[l] = true
			lanesUsed[l] = true
		}
		if len(home) != 1 || len(pids) > 2 {
			t.Errorf("one at a time, %s's transactions ran on %d connections in %d lanes, want at most 2 in 1", schema, len(pids), len(home))
		}
	}
	if len(lanesUsed) < 2 {
		t.Errorf("12 projects kept to %d lane(s)", len(lanesUsed))
	}
	if lane[outer] != lane[middle] {
		t.Errorf("the second transaction left the home lane while it had room")
	}
	if lane[inner] == lane[outer] {
		t.Errorf("the third transaction did not spill to another lane")
	}

	// Six connections in all: a seventh transaction waits for one.
	hold := make(chan struct{})
	started := make(chan struct{}, 6)
	done := make(chan error, 6)
	for i := range 6 {
		go func() {
			_, err := backend(ctx, projects[i], func() error {
				started <- struct{}{}
				<-hold
				return nil
			})
			done <- err
		}()
	}
	for range 6 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("six transactions did not all get a connection")
		}
	}
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	err = db.InTx(short, projects[7], func(tenant.Tx) error { return nil })
	close(hold)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a seventh transaction while six hold every connection: %v, want it to wait until its deadline", err)
	}
	for range 6 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var total int32
	for _, pool := range pools {
		total += pool.Stat().TotalConns()
	}
	if total > 6 {
		t.Errorf("the lanes opened %d connections, want at most 6", total)
	}
}
