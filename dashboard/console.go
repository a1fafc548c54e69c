package dashboard

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// ConsoleSlug is the slug of the built-in project whose identities are
// the dashboard's accounts.
const ConsoleSlug = "console"

// EnsureConsole makes the console project if it does not exist yet and
// makes sure its flows send browsers back to the dashboard: the dashboard
// URL is on its return_to allow-list and its flow pages are the
// dashboard's. It is idempotent and safe to run from several processes at
// once; settings an operator changed are kept (only missing ones are
// added). The console project lives in the operator's default workspace,
// which no account is a member of, and has no API key.
func EnsureConsole(ctx context.Context, reg *tenant.Registry, dashboardURL string) (*tenant.Project, error) {
	p, err := consoleProject(ctx, reg)
	if errx.Has(err, errx.NotFound) {
		created, cerr := reg.Create(ctx, tenant.CreateParams{Name: "Console", Slug: ConsoleSlug, KeyName: "bootstrap"})
		switch {
		case cerr == nil:
			p, err = created.Project, nil
			// Nobody holds the first key's secret: revoke it, so that the
			// console project has no admin credential at all.
			keys, err := reg.ListAPIKeys(ctx, p.ID)
			if err != nil {
				return nil, fmt.Errorf("dashboard.EnsureConsole: %w", err)
			}
			for _, k := range keys {
				if err := reg.RevokeAPIKey(ctx, p.ID, k.ID); err != nil {
					return nil, fmt.Errorf("dashboard.EnsureConsole: %w", err)
				}
			}
		case errx.Has(cerr, errx.Conflict): // another process made it
			if p, err = consoleProject(ctx, reg); err != nil {
				err = fmt.Errorf("%w (after %w)", err, cerr)
			}
		default:
			return nil, fmt.Errorf("dashboard.EnsureConsole: %w", cerr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dashboard.EnsureConsole: %w", err)
	}
	err = reg.DB().InTx(ctx, p, func(tx tenant.Tx) error {
		cfg, err := flows.LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		if !consoleConfig(&cfg, dashboardURL) {
			return nil
		}
		return flows.SaveConfig(ctx, tx, cfg)
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard.EnsureConsole: %w", err)
	}
	return p, nil
}

// consoleProject reads the console project from Postgres (not from the
// registry's cache, which may remember a miss for a moment).
func consoleProject(ctx context.Context, reg *tenant.Registry) (*tenant.Project, error) {
	var id uuid.UUID
	err := reg.DB().Platform().QueryRow(ctx, `SELECT id FROM platform.projects WHERE slug = $1 AND state = 'active'`, ConsoleSlug).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errx.New(errx.NotFound, "no console project")
	}
	if err != nil {
		return nil, err
	}
	return reg.ByID(ctx, id)
}

// consoleConfig adds what the console project needs to cfg and reports
// whether it changed anything.
func consoleConfig(cfg *flows.Config, dashboardURL string) bool {
	changed := false
	if !slices.Contains(cfg.AllowedReturnURLs, dashboardURL) {
		cfg.AllowedReturnURLs = append(cfg.AllowedReturnURLs, dashboardURL)
		changed = true
	}
	if cfg.DefaultReturnURL == "" {
		cfg.DefaultReturnURL = dashboardURL + "/"
		changed = true
	}
	if cfg.UI == nil {
		cfg.UI = map[string]string{}
	}
	for _, kind := range []string{"login", "registration", "settings", "recovery", "verification", "error"} {
		if cfg.UI[kind] == "" {
			cfg.UI[kind] = dashboardURL + "/" + kind
			changed = true
		}
	}
	return changed
}
