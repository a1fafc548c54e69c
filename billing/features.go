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

// Feature gating (plan features such as JavaScript actions and the number
// of hooks) follows one rule, so that self-hosters lose nothing:
//
//   - billing on (a Stripe key): every workspace but the operator's default
//     one is gated by the plan in force (an operator's plan, a paid
//     subscription, else the configured default plan);
//   - billing off: every workspace is on the configured default plan, which
//     is "free" unless the operator chose another, so gating by it would
//     take JavaScript actions away from every self-hosted installation.
//     Only a workspace that an operator put on a plan explicitly
//     (SetManualPlan) is gated, by that plan.

// gatedPlan returns the plan that gates the workspace's features, and
// false when nothing is gated (see the rule above).
func (s *Service) gatedPlan(ctx context.Context, ws uuid.UUID) (Plan, bool, error) {
	r, err := s.loadRow(ctx, s.pool, ws, false)
	if err != nil {
		return Plan{}, false, fmt.Errorf("billing: plan: %w", err)
	}
	if !s.Enabled() {
		if r.manual == "" {
			return Plan{}, false, nil
		}
		p, ok := s.plans.ByName(r.manual)
		return p, ok, nil
	}
	var def bool
	err = s.pool.QueryRow(ctx, `SELECT is_default FROM platform.workspaces WHERE id = $1`, ws).Scan(&def)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Plan{}, false, fmt.Errorf("billing: workspace: %w", err)
	}
	if def {
		return Plan{}, false, nil
	}
	return s.planOf(r, s.now()), true, nil
}

// HookUse is what a project's hook configuration uses of the plan-gated
// features.
type HookUse struct {
	// Hooks is the number of webhooks and JavaScript actions (built-in
	// hooks such as session are not counted).
	Hooks int
	// JSActions is the number of JavaScript actions among them.
	JSActions int
}

// AllowHooks returns a Forbidden error when the project's workspace plan
// does not allow the hook configuration: JavaScript actions on a plan
// without them (id billing_feature_js_actions) or more hooks than the
// plan's hook count (id billing_hook_limit). The reason names the plan
// that allows it. A zero hook count means unlimited.
func (s *Service) AllowHooks(ctx context.Context, p *tenant.Project, use HookUse) error {
	plan, gated, err := s.gatedPlan(ctx, p.WorkspaceID)
	if err != nil || !gated {
		return err
	}
	if use.JSActions > 0 && !plan.Features.JSActions {
		need := s.firstPlan(func(q Plan) bool { return q.Features.JSActions })
		return errx.Newf(errx.Forbidden, "JavaScript actions need the %s plan; this workspace is on the %s plan. Remove the actions or upgrade the workspace's plan.",
			need, plan.Title).WithID("billing_feature_js_actions").
			WithDetails(map[string]any{"plan": plan.Name, "feature": "js_actions", "needed_plan": s.firstPlanName(func(q Plan) bool { return q.Features.JSActions })})
	}
	if limit := plan.Features.Hooks; limit > 0 && use.Hooks > limit {
		enough := func(q Plan) bool { return q.Features.Hooks == 0 || q.Features.Hooks >= use.Hooks }
		return errx.Newf(errx.Forbidden, "The %s plan allows %d hooks and this configuration has %d; more hooks need the %s plan. Remove hooks or upgrade the workspace's plan.",
			plan.Title, limit, use.Hooks, s.firstPlan(enough)).WithID("billing_hook_limit").
			WithDetails(map[string]any{"plan": plan.Name, "feature": "hooks", "limit": limit, "hooks": use.Hooks, "needed_plan": s.firstPlanName(enough)})
	}
	return nil
}

// firstPlan is the title of the first configured plan (plans are listed
// from the smallest up) that satisfies ok ("a larger" when none does).
func (s *Service) firstPlan(ok func(Plan) bool) string {
	for _, p := range s.plans.List() {
		if ok(p) {
			return p.Title
		}
	}
	return "a larger"
}

func (s *Service) firstPlanName(ok func(Plan) bool) string {
	for _, p := range s.plans.List() {
		if ok(p) {
			return p.Name
		}
	}
	return ""
}
