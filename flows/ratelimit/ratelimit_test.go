package ratelimit_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

func TestBurstThenDenyThenReset(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	l := ratelimit.New(env.Redis, env.Namespace)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	lim := ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 3}
	for i := range 3 {
		r, err := l.Allow(ctx, a, "login:identifier", "ann@example.com", lim)
		if err != nil || !r.Allowed || r.Remaining != 2-i {
			t.Fatalf("attempt %d: %+v, %v", i+1, r, err)
		}
	}
	r, err := l.Allow(ctx, a, "login:identifier", "ann@example.com", lim)
	if err != nil || r.Allowed {
		t.Fatalf("4th attempt allowed: %+v, %v", r, err)
	}
	if r.RetryAfter < 55*time.Second || r.RetryAfter > time.Minute {
		t.Fatalf("RetryAfter = %v, want about a minute", r.RetryAfter)
	}
	if got := ratelimit.RetryAfterHeader(r); got != "60" && got != "59" {
		t.Fatalf("Retry-After = %s", got)
	}
	// Denials do not consume: the wait does not grow with hammering.
	r2, _ := l.Allow(ctx, a, "login:identifier", "ann@example.com", lim)
	if r2.Allowed || r2.RetryAfter > r.RetryAfter+time.Second {
		t.Fatalf("denial consumed: %+v", r2)
	}
	// Other identifier, other scope, other project: untouched.
	for name, call := range map[string]func() (ratelimit.Result, error){
		"identifier": func() (ratelimit.Result, error) { return l.Allow(ctx, a, "login:identifier", "bob@example.com", lim) },
		"scope":      func() (ratelimit.Result, error) { return l.Allow(ctx, a, "login:ip", "ann@example.com", lim) },
		"project":    func() (ratelimit.Result, error) { return l.Allow(ctx, b, "login:identifier", "ann@example.com", lim) },
	} {
		if r, err := call(); err != nil || !r.Allowed {
			t.Errorf("%s: %+v, %v", name, r, err)
		}
	}
	// Peek does not record.
	for range 5 {
		if r, _ := l.Peek(ctx, b, "login:ip", "1.2.3.4", lim); !r.Allowed {
			t.Fatal("peek consumed")
		}
	}
	if err := l.Reset(ctx, a, "login:identifier", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if r, _ := l.Allow(ctx, a, "login:identifier", "ann@example.com", lim); !r.Allowed {
		t.Fatal("reset did not clear the limit")
	}
	// No clear identifier is stored in Redis.
	keys, _ := env.Redis.Keys(ctx, env.Namespace+"lanyard:rl:*").Result()
	for _, k := range keys {
		if strings.Contains(k, "example.com") {
			t.Fatalf("identifier in key %s", k)
		}
	}
	if _, err := l.Allow(ctx, a, "x", "y", ratelimit.Limit{}); err == nil {
		t.Fatal("zero limit accepted")
	}
}

func TestRefillOverTime(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	l := ratelimit.New(env.Redis, env.Namespace)
	ctx := context.Background()
	p := uuid.New()
	lim := ratelimit.Limit{Rate: 10, Period: time.Second, Burst: 1}
	if r, _ := l.Allow(ctx, p, "s", "k", lim); !r.Allowed {
		t.Fatal("first denied")
	}
	if r, _ := l.Allow(ctx, p, "s", "k", lim); r.Allowed {
		t.Fatal("second allowed within 100ms")
	}
	time.Sleep(120 * time.Millisecond)
	if r, _ := l.Allow(ctx, p, "s", "k", lim); !r.Allowed {
		t.Fatal("not refilled after the emission interval")
	}
}

func TestErrorEnvelope(t *testing.T) {
	t.Parallel()
	err := ratelimit.Error(ratelimit.Result{RetryAfter: 1500 * time.Millisecond}, "login attempts")
	env := httpx.EnvelopeOf(err, "")
	if env.Error.Code != http.StatusTooManyRequests || env.Error.ID != ratelimit.ErrTooMany || env.Error.Details["retry_after_seconds"] != 2 {
		t.Fatalf("envelope = %+v", env)
	}
	if env.Error.Reason != "Too many login attempts. Please wait "+strconv.Itoa(2)+"s before trying again." {
		t.Fatalf("reason = %q", env.Error.Reason)
	}
}
