// Package tenanttest gives tests a database of their own and projects
// provisioned through the real code path. A package's TestMain calls
// Main; each test calls NewProject for a fresh project, so tests can run
// with t.Parallel() and never truncate shared tables.
//
// The server is LANYARD_TEST_DATABASE_URL (default: local Postgres as
// user postgres) and LANYARD_TEST_REDIS_URL (default: local Redis db 0).
package tenanttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/db"
	"github.com/lanyard-id/lanyard/migrations"
	"github.com/lanyard-id/lanyard/tenant"
)

// Env is one test run's database, Redis namespace and registry.
type Env struct {
	DatabaseURL string // URL of this run's database
	Pool        *pgxpool.Pool
	DB          *tenant.DB
	Registry    *tenant.Registry
	Redis       *redis.Client
	RedisURL    string
	Namespace   string // Redis key / queue prefix of this run
	Notifier    tenant.RedisNotifier
	Config      config.Config
}

var (
	current *Env
	mu      sync.Mutex
)

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Main creates a database for this test binary, migrates the platform
// schema, runs the tests and drops the database.
func Main(m *testing.M) {
	env, cleanup, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenanttest:", err)
		os.Exit(2)
	}
	current = env
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func setup() (*Env, func(), error) {
	ctx := context.Background()
	adminURL := getenv("LANYARD_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w (is Postgres running?)", redactURL(adminURL), err)
	}
	defer admin.Close(ctx)
	dropStale(ctx, admin)
	name := fmt.Sprintf("lanyard_test_%d_%s", time.Now().Unix(), randHex(4))
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, nil, fmt.Errorf("create database: %w", err)
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	dbURL := u.String()

	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, nil, err
	}
	pcfg.MaxConns = 16
	db.Tune(pcfg)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := tenant.MigratePlatform(ctx, pool, migrations.Platform); err != nil {
		pool.Close()
		return nil, nil, err
	}
	redisURL := getenv("LANYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
	ropt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(ropt)
	ns := "test:" + name + ":"
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.RedisURL = redisURL
	cfg.RedisNamespace = ns
	cfg.Secrets = []string{"dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ="}
	cfg.LogLevel = "warn"
	env := &Env{DatabaseURL: dbURL, Pool: pool, DB: tenant.NewDB(pool), Redis: rdb, RedisURL: redisURL, Namespace: ns, Config: cfg}
	env.Notifier = tenant.RedisNotifier{Client: rdb, Channel: ns + "lanyard:projects:changed"}
	env.Registry = tenant.NewRegistry(env.DB, tenant.RegistryOptions{Notifier: env.Notifier, Logger: quietLogger()})
	cleanup := func() {
		pool.Close()
		cleanRedis(ctx, rdb, ns)
		_ = rdb.Close()
		if os.Getenv("LANYARD_TEST_KEEP_DB") != "" {
			fmt.Fprintln(os.Stderr, "tenanttest: kept database", name)
			return
		}
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	}
	return env, cleanup, nil
}

// dropStale removes test databases left by runs that were killed more than
// six hours ago.
func dropStale(ctx context.Context, admin *pgx.Conn) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'lanyard\_test\_%'`)
	if err != nil {
		return
	}
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	cutoff := time.Now().Add(-6 * time.Hour).Unix()
	for _, n := range names {
		parts := strings.Split(n, "_")
		if len(parts) < 4 {
			continue
		}
		if ts, err := strconv.ParseInt(parts[2], 10, 64); err == nil && ts < cutoff {
			_, _ = admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{n}.Sanitize()+` WITH (FORCE)`)
		}
	}
}

func cleanRedis(ctx context.Context, rdb *redis.Client, ns string) {
	for _, pattern := range []string{ns + "*", "asynq:{" + ns + "*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	}
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the test database URL"
	}
	return u.Redacted()
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Get returns this test binary's environment. The package must call Main
// from its TestMain.
func Get(t testing.TB) *Env {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if current == nil {
		t.Fatal("tenanttest: call tenanttest.Main(m) from TestMain")
	}
	return current
}

// ServerDB returns a DB laid out as a server process lays out its own:
// the projects' transactions in lanes (tenant.OpenLanes) of 16
// connections, beside the environment's pool for the platform schema.
// Until the test ends, the process also listens for the change notices of
// its copies of project data (tenant.ListenCopies), as a server does: not
// for parallel tests, since that lengthens every copy of the process.
// Benchmarks use it to measure what a server does.
func ServerDB(t testing.TB) *tenant.DB {
	t.Helper()
	env := Get(t)
	pools, err := tenant.OpenLanes(context.Background(), env.Pool.Config(), 16)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		tenant.ListenCopies(ctx, tenant.RedisNotifier{Client: env.Redis, Channel: env.Namespace + "lanyard:copies:changed"}, quietLogger())
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, p := range pools {
			p.Close()
		}
	})
	return tenant.NewDB(env.Pool, pools...)
}

// NewProject provisions a fresh project through the real registry and
// returns it with its first API key.
func NewProject(t testing.TB) *tenant.Created {
	t.Helper()
	env := Get(t)
	c, err := env.Registry.Create(context.Background(), tenant.CreateParams{Name: "test " + t.Name()[:min(len(t.Name()), 50)]})
	if err != nil {
		t.Fatalf("tenanttest.NewProject: %v", err)
	}
	return c
}

// CreateProjects provisions n projects through reg, eight at a time (for
// tests and benchmarks that need many schemas).
func CreateProjects(t testing.TB, reg *tenant.Registry, n int) []*tenant.Project {
	t.Helper()
	out := make([]*tenant.Project, n)
	g := errgroup.Group{}
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			c, err := reg.Create(context.Background(), tenant.CreateParams{Name: fmt.Sprintf("bulk %d", i)})
			if err != nil {
				return err
			}
			out[i] = c.Project
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("tenanttest.CreateProjects: %v", err)
	}
	return out
}

// BenchProjects is the one project of a benchmark, or, with the
// environment variable LANYARD_BENCH_PROJECTS=N (N > 1), up to 200 of N
// projects provisioned for it, evenly picked, so that a benchmark spreads
// its load over 200 projects while Postgres and the caches hold N.
func BenchProjects(b *testing.B) []*tenant.Project {
	b.Helper()
	n, _ := strconv.Atoi(os.Getenv("LANYARD_BENCH_PROJECTS"))
	if n <= 1 {
		return []*tenant.Project{NewProject(b).Project}
	}
	benchSets.Lock()
	defer benchSets.Unlock()
	if used, ok := benchSets.m[n]; ok {
		return used // the benchmark's second run (testing runs it with N=1 first)
	}
	start := time.Now()
	all := CreateProjects(b, Get(b).Registry, n)
	b.Logf("provisioned %d projects in %s", n, time.Since(start).Round(time.Second))
	used := make([]*tenant.Project, 0, 200)
	for i := 0; i < n && len(used) < 200; i += max(1, n/200) {
		used = append(used, all[i])
	}
	benchSets.m[n] = used
	return used
}

// benchSets are the project sets BenchProjects provisioned in this test
// binary, by size: a benchmark function runs more than once (N=1 first),
// and provisioning 2,000 projects takes minutes. The caller must cope
// with finding its earlier run's data in them.
var benchSets = struct {
	sync.Mutex
	m map[int][]*tenant.Project
}{m: map[int][]*tenant.Project{}}
