package main

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/lanyard-id/lanyard/dashboard"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker"
)

type roles struct{ api, dashboard, worker bool }

func serveCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every role in one process: project API, dashboard and worker",
		Long: `Run every role in one process: the project API (LANYARD_API_ADDR, default :4433),
the dashboard (LANYARD_DASHBOARD_ADDR, default :4000) and the worker.

In dev mode the database is created if missing and migrated on start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveRoles(cmd.Context(), e, roles{api: true, dashboard: true, worker: true})
		},
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "api",
			Short: "Run the project API (public and admin, every project)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return serveRoles(cmd.Context(), e, roles{api: true})
			},
		},
		&cobra.Command{
			Use:   "dashboard",
			Short: "Run the dashboard and the platform API",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return serveRoles(cmd.Context(), e, roles{dashboard: true})
			},
		},
	)
	return cmd
}

func workerCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run background workers and the scheduler (metrics on LANYARD_WORKER_ADDR)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveRoles(cmd.Context(), e, roles{worker: true})
		},
	}
}

func serveRoles(ctx context.Context, e *env, r roles) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, cfg)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	if cfg.Mode == config.ModeDev {
		// Dev mode owns its database: create and migrate it before serving.
		err := retry(ctx, log, "database setup", "LANYARD_DATABASE_URL", func(ctx context.Context) error {
			_, err := a.migrateAll(ctx, tenant.MigrateOptions{Concurrency: 4})
			return err
		})
		if err != nil {
			return err
		}
	} else {
		go func() {
			_ = retry(ctx, log, "database check", "LANYARD_DATABASE_URL", func(ctx context.Context) error {
				return a.deps.DB.Platform().Ping(ctx)
			})
		}()
	}
	go a.deps.Registry.Listen(ctx, a.notifier)
	// Settings, identity schemas and mail templates changed through any
	// process drop every process's copies at once.
	go tenant.ListenCopies(ctx, tenant.RedisNotifier{Client: a.notifier.Client, Channel: cfg.RedisNamespace + "lanyard:copies:changed"}, log)

	g, gctx := errgroup.WithContext(ctx)
	timeout := cfg.ShutdownTimeout
	if r.api {
		h := server.APIRouter(a.deps)
		g.Go(func() error { return server.Serve(gctx, log, "api", cfg.APIAddr, h, timeout) })
	}
	if r.dashboard {
		// The console project holds the dashboard's accounts; a dashboard
		// that starts before the migrations ran makes it once they have.
		go func() {
			_ = retry(ctx, log, "console project setup", "LANYARD_DATABASE_URL", func(ctx context.Context) error {
				_, err := dashboard.EnsureConsole(ctx, a.deps.Registry, cfg.DashboardBaseURL())
				return err
			})
		}()
		h := dashboard.Router(a.deps)
		g.Go(func() error { return server.Serve(gctx, log, "dashboard", cfg.DashboardAddr, h, timeout) })
	}
	if r.worker {
		wo := worker.Options{
			Redis: a.redisOpt, Queues: worker.Queues{Prefix: cfg.RedisNamespace},
			Registry: a.deps.Registry, Logger: log, Courier: a.deps.Courier, Hooks: a.deps.Hooks,
			HookLogRetention: cfg.HookLogRetention,
		}
		if a.deps.Billing != nil && a.deps.Billing.Enabled() {
			wo.Billing = a.deps.Billing // usage reporting to Stripe
		}
		w := worker.New(wo)
		g.Go(func() error { return w.Run(gctx) })
		if !r.api && !r.dashboard {
			h := server.WorkerRouter(a.deps)
			g.Go(func() error { return server.Serve(gctx, log, "worker", cfg.WorkerAddr, h, timeout) })
		}
	}
	if r.api || r.dashboard {
		printURLs(e, cfg, r)
	}
	return g.Wait()
}

func printURLs(e *env, cfg config.Config, r roles) {
	host := func(addr string) string {
		h, port, _ := net.SplitHostPort(addr)
		if h == "" || h == "0.0.0.0" || h == "::" {
			h = "localhost"
		}
		return "http://" + net.JoinHostPort(h, port)
	}
	var b strings.Builder
	b.WriteString("\nLanyard is running.\n")
	if r.dashboard {
		fmt.Fprintf(&b, "  Dashboard:     %s\n", host(cfg.DashboardAddr))
	}
	if r.api {
		fmt.Fprintf(&b, "  Project API:   %s  (also %s/p/{slug})\n", cfg.ProjectURL("{slug}"), host(cfg.APIAddr))
		b.WriteString("  New project:   lanyard project create --name demo\n")
	}
	if cfg.Mode == config.ModeDev && cfg.SMTPURL == config.Default().SMTPURL {
		b.WriteString("  Mail (Mailpit): http://localhost:8025\n")
	}
	fmt.Fprintln(e.stdout, b.String())
}
