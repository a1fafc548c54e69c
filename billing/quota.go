package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Quotas apply only while billing is on: a self-hosted installation
// without Stripe keys has no limits. The operator's default workspace
// (which holds the dashboard's console project) has none either.

// exempt reports whether quotas skip the workspace.
func (s *Service) exempt(ctx context.Context, ws uuid.UUID) (bool, error) {
	if !s.Enabled() {
		return true, nil
	}
	var def bool
	err := s.pool.QueryRow(ctx, `SELECT is_default FROM platform.workspaces WHERE id = $1`, ws).Scan(&def)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("billing: workspace: %w", err)
	}
	return def, nil
}

// AllowProject returns a Forbidden error (id billing_project_limit) when
// the workspace's plan allows no more active projects.
func (s *Service) AllowProject(ctx context.Context, ws uuid.UUID) error {
	if ok, err := s.exempt(ctx, ws); ok || err != nil {
		return err
	}
	plan, err := s.PlanOf(ctx, ws)
	if err != nil {
		return err
	}
	if plan.ProjectLimit <= 0 {
		return nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM platform.projects WHERE workspace_id = $1 AND state = 'active'`, ws).Scan(&n); err != nil {
		return fmt.Errorf("billing.AllowProject: %w", err)
	}
	if n >= plan.ProjectLimit {
		return errx.Newf(errx.Forbidden, "The %s plan allows %d projects and this workspace has %d. Upgrade the workspace's plan or delete a project to create another.",
			plan.Title, plan.ProjectLimit, n).WithID("billing_project_limit").
			WithDetails(map[string]any{"plan": plan.Name, "limit": plan.ProjectLimit, "projects": n})
	}
	return nil
}

// AllowRegistration returns a Forbidden error (id billing_mau_limit) when
// the project's workspace is on a plan with a hard MAU cap and this
// month's MAU has reached the cap plus the grace margin. Logins are never
// refused.
func (s *Service) AllowRegistration(ctx context.Context, p *tenant.Project) error {
	if ok, err := s.exempt(ctx, p.WorkspaceID); ok || err != nil {
		return err
	}
	plan, err := s.PlanOf(ctx, p.WorkspaceID)
	if err != nil {
		return err
	}
	if !plan.HardMAUCap || plan.IncludedMAU <= 0 {
		return nil
	}
	limit := plan.IncludedMAU + plan.IncludedMAU*int64(s.mauGrace)/100
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM platform.usage_mau WHERE workspace_id = $1 AND month = $2`,
		p.WorkspaceID, MonthOf(s.now())).Scan(&n); err != nil {
		return fmt.Errorf("billing.AllowRegistration: %w", err)
	}
	if n >= limit {
		return errx.Newf(errx.Forbidden, "This project's workspace has reached the %d monthly active users of its %s plan, so new registrations are paused until next month. Existing users can still sign in; the workspace owner can lift the limit by upgrading the plan.",
			plan.IncludedMAU, plan.Title).WithID("billing_mau_limit").
			WithDetails(map[string]any{"plan": plan.Name, "limit": plan.IncludedMAU, "monthly_active_users": n})
	}
	return nil
}

// ProjectWritable returns a Forbidden error (id billing_project_read_only)
// for a project beyond its workspace plan's project limit (after a
// downgrade): the oldest projects up to the limit stay writable, the
// others keep their data but become read-only until the workspace upgrades
// or deletes projects.
func (s *Service) ProjectWritable(ctx context.Context, p *tenant.Project) error {
	if ok, err := s.exempt(ctx, p.WorkspaceID); ok || err != nil {
		return err
	}
	plan, err := s.PlanOf(ctx, p.WorkspaceID)
	if err != nil {
		return err
	}
	if plan.ProjectLimit <= 0 {
		return nil
	}
	var rank int
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM platform.projects WHERE workspace_id = $1 AND state = 'active'
		AND (created_at, id) <= ($2, $3)`, p.WorkspaceID, p.CreatedAt, p.ID).Scan(&rank)
	if err != nil {
		return fmt.Errorf("billing.ProjectWritable: %w", err)
	}
	if rank > plan.ProjectLimit {
		return errx.Newf(errx.Forbidden, "This project is read-only: the %s plan allows %d projects. Upgrade the workspace's plan or delete other projects to make changes.",
			plan.Title, plan.ProjectLimit).WithID("billing_project_read_only").
			WithDetails(map[string]any{"plan": plan.Name, "limit": plan.ProjectLimit})
	}
	return nil
}
