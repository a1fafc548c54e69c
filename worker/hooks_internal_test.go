package worker

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestHookLimiterCapsOneProjectOnly(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	opt, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	l := &hookLimiter{rdb: rdb, prefix: env.Namespace + "limiter-test:", limit: 2}
	ctx := context.Background()
	busy, quiet := uuid.New(), uuid.New()

	r1, err := l.acquire(ctx, busy)
	if err != nil || r1 == nil {
		t.Fatalf("first slot: %v", err)
	}
	r2, _ := l.acquire(ctx, busy)
	if r2 == nil {
		t.Fatal("second slot refused")
	}
	if r3, _ := l.acquire(ctx, busy); r3 != nil {
		t.Fatal("a third delivery of the same project got a slot over the limit of 2")
	}
	// Another project is not held back by the busy one.
	if r, _ := l.acquire(ctx, quiet); r == nil {
		t.Fatal("another project was refused a slot")
	}
	// A finished delivery frees its slot.
	r1()
	if r, _ := l.acquire(ctx, busy); r == nil {
		t.Fatal("no slot after a release")
	}
}
