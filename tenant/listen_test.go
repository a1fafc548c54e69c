package tenant_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// cutSubscription closes, on the server's side, the subscribed connection
// of the client named name; go-redis then reconnects by itself.
func cutSubscription(t *testing.T, env *tenanttest.Env, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := env.Redis.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "id=") || !slices.Contains(f, "name="+name) || slices.Contains(f, "sub=0") {
			continue
		}
		if err := env.Redis.ClientKillByFilter(ctx, "ID", strings.TrimPrefix(f[0], "id=")).Err(); err != nil {
			t.Fatal(err)
		}
		cut++
	}
	if cut != 1 {
		t.Fatalf("found %d subscribed connections named %s", cut, name)
	}
}

// namedClient is a Redis client of its own whose connections carry name.
func namedClient(t *testing.T, env *tenanttest.Env, name string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.ClientName = name
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// The registry's project cache clears on a change notice and when its
// subscription comes back after a cut (notices may have been lost).
func TestRegistryListen(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	name := "registry-listen-" + uuid.NewString()[:8]
	n := tenant.RedisNotifier{Client: namedClient(t, env, name), Channel: env.Namespace + "registry-listen-test"}
	reg := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Notifier: n, Logger: slog.Default(), CacheTTL: time.Hour})
	done := make(chan struct{})
	go func() { reg.Listen(ctx, n); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		subs, err := env.Redis.PubSubNumSub(ctx, n.Channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if subs[n.Channel] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the registry did not subscribe within 5 s")
		}
	}
	rename := func(to string) {
		t.Helper()
		if _, err := env.Pool.Exec(ctx, `UPDATE platform.projects SET name = $1 WHERE id = $2`, to, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	nameOf := func() string {
		t.Helper()
		got, err := reg.BySlug(ctx, p.Slug)
		if err != nil {
			t.Fatal(err)
		}
		return got.Name
	}
	waitName := func(what, want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); nameOf() != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the cached project is still named %q, want %q", what, nameOf(), want)
			}
		}
	}
	first := nameOf()
	rename("renamed once")
	if got := nameOf(); got != first {
		t.Fatalf("the lookup was not cached: %q", got)
	}
	if err := env.Redis.Publish(ctx, n.Channel, p.Slug).Err(); err != nil {
		t.Fatal(err)
	}
	waitName("after a notice", "renamed once")
	rename("renamed twice")
	if got := nameOf(); got != "renamed once" {
		t.Fatalf("the cache cleared without a notice: %q", got)
	}
	cutSubscription(t, env, name)
	waitName("after the subscription came back", "renamed twice")
}
