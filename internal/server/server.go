// Package server wires Lanyard's roles: it builds the HTTP surface of the
// project API and of the dashboard from explicit dependencies, and runs
// HTTP servers with graceful shutdown. The routes of each role are listed
// in one file, routes_<role>.go.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Deps are everything the roles need, built once by the command.
type Deps struct {
	Config   config.Config
	Log      *slog.Logger
	DB       *tenant.DB
	Registry *tenant.Registry
	Redis    redis.UniversalClient
	Enqueuer *worker.Enqueuer
	// Metrics is the Prometheus registry of this process.
	Metrics *prometheus.Registry
	// HTTPMetrics is registered once per process on Metrics.
	HTTPMetrics *httpx.Metrics

	// Sessions issues and checks sessions (identity/session).
	Sessions *session.Service

	// Identities manages identities and identity schemas (identity).
	Identities *identity.Manager

	// Courier stores, relays and lists outgoing mail (worker/courier).
	Courier *courier.Service

	// Hooks stores hook configuration, runs webhooks and JavaScript
	// actions in flows and keeps the delivery log (flows/hook).
	Hooks *hook.Service

	// Billing is plans, Stripe, MAU metering and quotas (billing); nil:
	// no metering, no quotas, no webhook endpoint.
	Billing *billing.Service
}

// NewMetrics returns a Prometheus registry with the Go and process
// collectors and Lanyard's HTTP metrics.
func NewMetrics() (*prometheus.Registry, *httpx.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, httpx.NewMetrics(reg)
}

// Health returns the readiness checks of every role: Postgres and Redis.
func (d Deps) Health() *httpx.Health {
	return &httpx.Health{Checks: map[string]httpx.Checker{
		"database": func(ctx context.Context) error { return d.DB.Platform().Ping(ctx) },
		"redis":    func(ctx context.Context) error { return d.Redis.Ping(ctx).Err() },
	}}
}

func (d Deps) metricsHandler() gin.HandlerFunc {
	return gin.WrapH(promhttp.HandlerFor(d.Metrics, promhttp.HandlerOpts{}))
}

// ginMode sets gin's process-wide mode once (tests build many routers).
var ginMode sync.Once

// newEngine is the gin engine every role starts from.
func newEngine(d Deps, role string) *gin.Engine {
	ginMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	r := gin.New()
	r.HandleMethodNotAllowed = false
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	r.Use(httpx.Base(d.Log, role), d.HTTPMetrics.Middleware(role))
	r.NoRoute(httpx.NotFound)
	return r
}

// RedisOpt converts the configured Redis URL for asynq.
func RedisOpt(cfg config.Config) (asynq.RedisConnOpt, error) {
	return asynq.ParseRedisURI(cfg.RedisURL)
}

// Serve runs an HTTP server on addr until ctx ends, then shuts it down:
// in-flight requests get until timeout to finish.
func Serve(ctx context.Context, log *slog.Logger, name, addr string, h http.Handler, timeout time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, log, name, ln, h, timeout)
}

// ServeListener is Serve on an open listener.
func ServeListener(ctx context.Context, log *slog.Logger, name string, ln net.Listener, h http.Handler, timeout time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "server", name, "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		_ = srv.Close()
	}
	log.Info("stopped", "server", name)
	return nil
}
