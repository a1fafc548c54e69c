package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

func schemaExists(t *testing.T, env *tenanttest.Env, schema string) bool {
	t.Helper()
	var ok bool
	if err := env.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A deleted project's schema is dropped by the worker: through its own
// task, and through the sweep when that task was never enqueued.
func TestDeletedProjectSchemasAreDropped(t *testing.T) {
	env := tenanttest.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	queues := worker.Queues{Prefix: env.Namespace}
	w := worker.New(worker.Options{Redis: ropt, Queues: queues, Registry: env.Registry, SweepEvery: time.Second, DropGrace: time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	client := asynq.NewClient(ropt)
	defer client.Close()
	enq := &worker.Enqueuer{Client: client, Queues: queues}

	queued, lost := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	for _, p := range []string{queued.Schema, lost.Schema} {
		if !schemaExists(t, env, p) {
			t.Fatal("schema missing before delete")
		}
	}
	if _, err := env.Registry.Delete(ctx, queued.ID); err != nil {
		t.Fatal(err)
	}
	if err := enq.EnqueueProjectDrop(ctx, queued.ID); err != nil {
		t.Fatal(err)
	}
	if err := enq.EnqueueProjectDrop(ctx, queued.ID); err != nil { // a second enqueue is absorbed
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, func() bool { return !schemaExists(t, env, queued.Schema) })

	// No task for this one: the sweep finds it.
	if _, err := env.Registry.Delete(ctx, lost.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, func() bool { return !schemaExists(t, env, lost.Schema) })

	var state string
	if err := env.Pool.QueryRow(ctx, `SELECT state FROM platform.projects WHERE id = $1`, lost.ID).Scan(&state); err != nil || state != "deleted" {
		t.Fatalf("state after drop: %q %v", state, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop")
	}
}
