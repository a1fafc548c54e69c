// Package servertest builds Lanyard's real routers on a tenanttest
// environment, for whole-server tests through httptest.
package servertest

import (
	"log/slog"
	"os"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker"
)

// Deps returns server dependencies over this test run's database and
// Redis namespace.
func Deps(t testing.TB) server.Deps {
	t.Helper()
	env := tenanttest.Get(t)
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { _ = client.Close() })
	metrics, httpMetrics := server.NewMetrics()
	return server.Deps{
		Config: env.Config, Log: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DB: env.DB, Registry: env.Registry, Redis: env.Redis,
		Enqueuer: &worker.Enqueuer{Client: client, Queues: worker.Queues{Prefix: env.Namespace}},
		Metrics:  metrics, HTTPMetrics: httpMetrics,
	}
}
