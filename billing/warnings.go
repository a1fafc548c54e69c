package billing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Usage warnings: when a workspace's MAU of the month crosses 80% and then
// 100% of its plan's included MAU, every owner of the workspace gets a
// mail, once per month and threshold. The warning's row
// (platform.usage_warnings) is written in the same transaction as the
// mail (the courier's outbox), so a repeated or concurrent run never mails
// twice and a failed one leaves nothing half-done. Warnings go out only
// while billing is on (self-hosted installations have no limits) and not
// to the operator's default workspace, like the quotas.

// Warning thresholds, in percent of the plan's included MAU.
const (
	WarnAt80  = 80
	WarnAt100 = 100
)

// Relay hands committed courier messages of project p to the mail queue
// (courier.Service.Relay); nil leaves them to the courier's relay sweep.
type Relay func(ctx context.Context, p *tenant.Project, ids ...uuid.UUID)

// WarningResult says what a usage warning run did.
type WarningResult struct {
	Warnings int // thresholds newly crossed (one mail per owner each)
	Mails    int // mails enqueued
}

// SendUsageWarnings mails the owners of every workspace whose MAU this
// month has crossed 80% or 100% of its plan's included MAU and who have
// not had that warning this month. The mail goes through the courier of
// project from (the dashboard's console project), whose transactions db
// opens. A workspace that crosses both thresholds between two runs gets
// the 100% mail only. The cost of a run is one index-only scan of the
// month's MAU entries, then a few queries per workspace past 80%.
func (s *Service) SendUsageWarnings(ctx context.Context, db *tenant.DB, from *tenant.Project, relay Relay) (WarningResult, error) {
	var res WarningResult
	if !s.Enabled() {
		return res, nil
	}
	lowest := int64(math.MaxInt64)
	for _, p := range s.plans.List() {
		if p.IncludedMAU > 0 {
			lowest = min(lowest, threshold(p.IncludedMAU, WarnAt80))
		}
	}
	if lowest == math.MaxInt64 {
		return res, nil
	}
	month := MonthOf(s.now())
	rows, err := s.pool.Query(ctx, `SELECT u.workspace_id, count(*) FROM platform.usage_mau u
		JOIN platform.workspaces w ON w.id = u.workspace_id AND NOT w.is_default
		WHERE u.month = $1 GROUP BY u.workspace_id HAVING count(*) >= $2`, month, lowest)
	if err != nil {
		return res, fmt.Errorf("billing.SendUsageWarnings: %w", err)
	}
	type candidate struct {
		ws  uuid.UUID
		mau int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		return c, r.Scan(&c.ws, &c.mau)
	})
	if err != nil {
		return res, fmt.Errorf("billing.SendUsageWarnings: %w", err)
	}
	var errs []error
	for _, c := range list {
		plan, err := s.PlanOf(ctx, c.ws)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		level := 0
		switch {
		case plan.IncludedMAU <= 0:
		case c.mau >= threshold(plan.IncludedMAU, WarnAt100):
			level = WarnAt100
		case c.mau >= threshold(plan.IncludedMAU, WarnAt80):
			level = WarnAt80
		}
		if level == 0 {
			continue
		}
		n, err := s.warn(ctx, db, from, relay, c.ws, month, plan, c.mau, level)
		if err != nil {
			errs = append(errs, fmt.Errorf("workspace %s: %w", c.ws, err))
			continue
		}
		if n >= 0 {
			res.Warnings++
			res.Mails += n
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("billing.SendUsageWarnings: %w", errors.Join(errs...))
	}
	return res, nil
}

// threshold is pct% of included, rounded up.
func threshold(included int64, pct int64) int64 { return (included*pct + 99) / 100 }

// warn writes the warning of level for the workspace's month and enqueues
// one mail per owner, in one transaction; it returns the mails enqueued,
// or -1 when the warning had been sent already.
func (s *Service) warn(ctx context.Context, db *tenant.DB, from *tenant.Project, relay Relay, ws uuid.UUID, month time.Time, plan Plan, mau int64, level int) (int, error) {
	var name string
	if err := s.pool.QueryRow(ctx, `SELECT name FROM platform.workspaces WHERE id = $1`, ws).Scan(&name); err != nil {
		return 0, err
	}
	rows, err := s.pool.Query(ctx, `SELECT a.email FROM platform.workspace_members m JOIN platform.accounts a ON a.id = m.account_id
		WHERE m.workspace_id = $1 AND m.role = 'owner' ORDER BY m.created_at`, ws)
	if err != nil {
		return 0, err
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	subject, body := warningMail(name, plan, mau, level, month, s.mauGrace)
	var ids []uuid.UUID
	sent := -1
	err = db.InTx(ctx, from, func(tx tenant.Tx) error {
		ids, sent = nil, -1
		tag, err := tx.Exec(ctx, `INSERT INTO platform.usage_warnings (workspace_id, month, threshold, plan, mau, included_mau, recipients)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, ws, month, level, plan.Name, mau, plan.IncludedMAU, len(owners))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if level == WarnAt100 { // crossed together: the 80% mail is not sent any more
			if _, err := tx.Exec(ctx, `INSERT INTO platform.usage_warnings (workspace_id, month, threshold, plan, mau, included_mau, recipients)
				VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT DO NOTHING`, ws, month, WarnAt80, plan.Name, mau, plan.IncludedMAU); err != nil {
				return err
			}
		}
		for _, to := range owners {
			id, err := courier.Enqueue(ctx, tx, courier.Message{Recipient: to, Subject: subject, Body: body})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		sent = len(ids)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if relay != nil && len(ids) > 0 {
		relay(ctx, from, ids...)
	}
	if sent >= 0 {
		s.log.Info("usage warning sent", "workspace_id", ws, "threshold", level, "mau", mau, "included_mau", plan.IncludedMAU, "mails", sent)
	}
	return sent, nil
}

// warningMail is the subject and text of a usage warning.
func warningMail(workspace string, plan Plan, mau int64, level int, month time.Time, gracePct int) (subject, body string) {
	var b strings.Builder
	period := month.Format("January 2006")
	if level >= WarnAt100 {
		subject = fmt.Sprintf("%s has reached its monthly active user allowance", workspace)
		fmt.Fprintf(&b, "The workspace %q has %d monthly active users in %s: all of the %d included in its %s plan.\n\n", workspace, mau, period, plan.IncludedMAU, plan.Title)
	} else {
		subject = fmt.Sprintf("%s has used %d%% of its monthly active users", workspace, level)
		fmt.Fprintf(&b, "The workspace %q has %d monthly active users in %s, %d%% or more of the %d included in its %s plan.\n\n", workspace, mau, period, level, plan.IncludedMAU, plan.Title)
	}
	switch {
	case plan.HardMAUCap:
		limit := plan.IncludedMAU + plan.IncludedMAU*int64(gracePct)/100
		fmt.Fprintf(&b, "New registrations are paused once the workspace reaches %d monthly active users this month; users who already signed up can still sign in. Upgrade the workspace's plan on the Billing page of the dashboard to lift the limit.\n", limit)
	case plan.OverageCentsPer1000 > 0:
		fmt.Fprintf(&b, "Each started thousand of monthly active users past the allowance costs %s on this month's invoice. The Billing page of the dashboard shows the projected amount.\n", money(plan.OverageCentsPer1000))
	default:
		b.WriteString("The Billing page of the dashboard shows the usage of each project.\n")
	}
	b.WriteString("\nA monthly active user is an identity that registered or signed in during the calendar month (UTC), counted once per project.\n")
	return subject, b.String()
}

func money(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }
