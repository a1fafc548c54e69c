// Package servertest builds Lanyard's real routers on a tenanttest
// environment, for whole-server tests through httptest.
package servertest

import (
	"log/slog"
	"os"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Deps returns server dependencies over this test run's database and
// Redis namespace.
func Deps(t testing.TB) server.Deps {
	t.Helper()
	return DepsWithDB(t, tenanttest.Get(t).DB)
}

// DepsWithDB is Deps with the project data (flows, identities, sessions)
// on db, e.g. a pool of another size over the same database.
func DepsWithDB(t testing.TB, db *tenant.DB) server.Deps {
	t.Helper()
	env := tenanttest.Get(t)
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { _ = client.Close() })
	metrics, httpMetrics := server.NewMetrics()
	// Identities with a cheap hasher: hashing cost is lowered only in tests.
	ids := identity.NewManager(db, hash.MustNew(TestHashConfig), env.Config.SecretKeys()[0])
	ids.UseCache(identity.NewCache(env.Redis, env.Namespace, identity.CacheOptions{}))
	d := server.Deps{
		Config: env.Config, Log: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DB: db, Registry: env.Registry, Redis: env.Redis,
		Enqueuer: &worker.Enqueuer{Client: client, Queues: worker.Queues{Prefix: env.Namespace}},
		Metrics:  metrics, HTTPMetrics: httpMetrics,
		Sessions: session.NewService(db, session.Options{Cache: session.NewDefaultCache(env.Redis, env.Namespace)}),
	}
	ids.Revoker = d.Sessions
	d.Sessions.UseIdentities(ids)
	d.Identities = ids
	if d.Courier, err = courier.NewFromConfig(env.Config, db, env.Registry, client, d.Log); err != nil {
		t.Fatal(err)
	}
	d.Hooks = hook.NewFromConfig(env.Config, db, env.Registry, ids, client, d.Log)
	// Billing as configured (off: no Stripe key): MAU counted, no quotas.
	if d.Billing, err = billing.New(billing.Options{Config: env.Config, Pool: env.Pool, Logger: d.Log}); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHashConfig is the password hasher of tests: argon2id at 64 KiB, t=1.
var TestHashConfig = hash.Config{Argon2Memory: 64, Argon2Iterations: 1, Argon2Parallelism: 1, BcryptCost: 4}
