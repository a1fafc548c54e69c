package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/dashboard"
	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/db"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/migrations"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// app holds the opened dependencies of a process.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	deps     server.Deps
	redisOpt asynq.RedisConnOpt
	notifier tenant.RedisNotifier
	closers  []func()
}

func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if strings.EqualFold(cfg.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openApp opens the Postgres pool and the Redis client. Neither connects
// eagerly: a dependency that is down shows up in /health/ready, not as a
// failure to start.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log}
	// A fifth of the connections serve the platform schema (projects, keys,
	// billing, the outbox scans); the rest are the projects' lanes.
	platformConns := max(1, cfg.DBMaxConns/5)
	pool, err := db.Open(ctx, cfg.DatabaseURL, platformConns)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, pool.Close)
	lanePools, err := tenant.OpenLanes(ctx, pool.Config(), cfg.DBMaxConns-platformConns)
	if err != nil {
		a.Close()
		return nil, err
	}
	for _, p := range lanePools {
		a.closers = append(a.closers, p.Close)
	}
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("LANYARD_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropt)
	a.closers = append(a.closers, func() { _ = rdb.Close() })
	a.redisOpt, err = server.RedisOpt(cfg)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("LANYARD_REDIS_URL: %w", err)
	}
	a.notifier = tenant.RedisNotifier{Client: rdb, Channel: cfg.RedisNamespace + "lanyard:projects:changed"}
	tdb := tenant.NewDB(pool, lanePools...)
	// Billing (issue 8): plans, Stripe, MAU metering and the quotas that
	// project creation and registration check; off without a Stripe key.
	bill, err := billing.New(billing.Options{Config: cfg, Pool: pool, Logger: log})
	if err != nil {
		a.Close()
		return nil, err
	}
	reg := tenant.NewRegistry(tdb, tenant.RegistryOptions{Notifier: a.notifier, Logger: log, Spares: cfg.SpareSchemas, Quota: bill})
	client := asynq.NewClient(a.redisOpt)
	a.closers = append(a.closers, func() { _ = client.Close() })
	metrics, httpMetrics := server.NewMetrics()
	a.deps = server.Deps{
		Config: cfg, Log: log, DB: tdb, Registry: reg, Redis: rdb,
		Enqueuer: &worker.Enqueuer{Client: client, Queues: worker.Queues{Prefix: cfg.RedisNamespace}},
		Metrics:  metrics, HTTPMetrics: httpMetrics,
		Sessions: session.NewService(tdb, session.Options{Cache: session.NewDefaultCache(rdb, cfg.RedisNamespace), Logger: log}),
		Billing:  bill,
	}
	// Identities (issue 3): sessions end in the same transaction when an
	// identity is set inactive or deleted.
	ids, err := identity.NewManagerFromConfig(tdb, cfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	// Admin identity reads are cached in memory, checked against Redis.
	ids.UseCache(identity.NewCache(rdb, cfg.RedisNamespace, identity.CacheOptions{Logger: log}))
	if a.deps.Sessions != nil {
		ids.Revoker = a.deps.Sessions
		a.deps.Sessions.UseIdentities(ids)
	}
	a.deps.Identities = ids
	// Courier (issue 5): outgoing mail, its outbox and admin log.
	if a.deps.Courier, err = courier.NewFromConfig(cfg, tdb, reg, client, log); err != nil {
		a.Close()
		return nil, err
	}
	// Hooks (issue 6): webhooks and JavaScript actions, their outbox and
	// delivery log.
	a.deps.Hooks = hook.NewFromConfig(cfg, tdb, reg, ids, client, log)
	return a, nil
}

// retry calls fn until it succeeds or ctx ends, backing off from 500 ms to
// 10 s and logging one line per failure that names the setting to check.
func retry(ctx context.Context, log *slog.Logger, what, setting string, fn func(context.Context) error) error {
	wait := 500 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Error(what+" failed; retrying", "setting", setting, "error", err.Error(), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// migrateAll creates the database (dev mode) and applies platform and
// tenant migrations.
func (a *app) migrateAll(ctx context.Context, o tenant.MigrateOptions) (tenant.MigrateResult, error) {
	if a.cfg.Mode == config.ModeDev {
		if err := db.EnsureDatabase(ctx, a.cfg.DatabaseURL); err != nil {
			return tenant.MigrateResult{}, fmt.Errorf("LANYARD_DATABASE_URL: %w", err)
		}
	}
	applied, err := tenant.MigratePlatform(ctx, a.deps.DB.Platform(), migrations.Platform)
	if err != nil {
		return tenant.MigrateResult{}, err
	}
	if len(applied) > 0 {
		a.log.Info("platform migrations applied", "versions", applied)
	}
	res, err := a.deps.Registry.MigrateTenants(ctx, o)
	if err != nil {
		return res, err
	}
	// The console project (its identities are the dashboard's accounts).
	if _, err := dashboard.EnsureConsole(ctx, a.deps.Registry, a.cfg.DashboardBaseURL()); err != nil {
		return res, err
	}
	if _, err := a.deps.Registry.FillSpares(ctx, a.cfg.SpareSchemas); err != nil {
		a.log.Warn("spare schemas not filled; the worker retries", "error", err)
	}
	return res, nil
}
