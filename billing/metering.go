package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"

	"github.com/lanyard-id/lanyard/tenant"
)

// MonthOf is the first day (UTC) of t's calendar month.
func MonthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// DayOf is the UTC calendar day of t.
func DayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// RecordActive counts the identity as a monthly active user of the
// transaction's project for at's month, and as active on at's day. It runs
// in the flow's transaction, so a rolled-back registration or login counts
// nothing; repeated calls in a month (a day) count once.
func (s *Service) RecordActive(ctx context.Context, tx tenant.Tx, identityID uuid.UUID, at time.Time) error {
	p := tx.Project()
	if p == nil {
		return tenant.ErrNoProject
	}
	// Queued with the transaction's next statement or its commit: the
	// insert cannot conflict, so only the transaction can fail it.
	tx.Queue(`WITH daily AS (
			INSERT INTO platform.usage_daily (workspace_id, project_id, day, identity_id)
			VALUES ($1, $2, $6, $4) ON CONFLICT DO NOTHING)
		INSERT INTO platform.usage_mau (workspace_id, project_id, month, identity_id, first_seen)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, p.WorkspaceID, p.ID, MonthOf(at), identityID, at, DayOf(at))
	return nil
}

// Usage is a workspace's MAU in one month.
type Usage struct {
	Month      time.Time           `json:"month"`
	Total      int64               `json:"total"`
	PerProject map[uuid.UUID]int64 `json:"per_project"`
	// Daily is the cumulative MAU at the end of each day of the month so far.
	Daily []int64 `json:"daily"`
}

// MAU returns the workspace's monthly active users in month, per project,
// in total and day by day.
func (s *Service) MAU(ctx context.Context, ws uuid.UUID, month time.Time) (*Usage, error) {
	m := MonthOf(month)
	u := &Usage{Month: m, PerProject: map[uuid.UUID]int64{}}
	rows, err := s.pool.Query(ctx, `SELECT project_id, extract(day FROM first_seen AT TIME ZONE 'UTC')::int, count(*)
		FROM platform.usage_mau WHERE workspace_id = $1 AND month = $2 GROUP BY 1, 2`, ws, m)
	if err != nil {
		return nil, fmt.Errorf("billing.MAU: %w", err)
	}
	days := m.AddDate(0, 1, -1).Day()
	perDay := make([]int64, days+1)
	for rows.Next() {
		var pid uuid.UUID
		var day int
		var n int64
		if err := rows.Scan(&pid, &day, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("billing.MAU: %w", err)
		}
		u.PerProject[pid] += n
		u.Total += n
		if day >= 1 && day <= days {
			perDay[day] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("billing.MAU: %w", err)
	}
	last := days
	if now := s.now(); MonthOf(now).Equal(m) {
		last = now.Day()
	}
	var run int64
	for d := 1; d <= last; d++ {
		run += perDay[d]
		u.Daily = append(u.Daily, run)
	}
	return u, nil
}

// Day is one day of a workspace's usage.
type Day struct {
	Date time.Time
	// Active is the distinct identities active that day across the
	// workspace's projects.
	Active int64
	// MAU is the month's distinct identities up to and including that day.
	MAU int64
}

// Daily returns the workspace's usage day by day in month: every day of a
// past month, the days so far of the current one, none of a future one.
// It reads only the month's records of the workspace (two indexed queries,
// whatever the number of projects).
func (s *Service) Daily(ctx context.Context, ws uuid.UUID, month time.Time) ([]Day, error) {
	m := MonthOf(month)
	if m.After(MonthOf(s.now())) {
		return []Day{}, nil
	}
	u, err := s.MAU(ctx, ws, m)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT day, count(*) FROM platform.usage_daily
		WHERE workspace_id = $1 AND day >= $2 AND day < $3 GROUP BY day`, ws, m, m.AddDate(0, 1, 0))
	if err != nil {
		return nil, fmt.Errorf("billing.Daily: %w", err)
	}
	active := map[int]int64{}
	for rows.Next() {
		var day time.Time
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("billing.Daily: %w", err)
		}
		active[day.Day()] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("billing.Daily: %w", err)
	}
	days := make([]Day, 0, len(u.Daily))
	for i, cum := range u.Daily {
		days = append(days, Day{Date: m.AddDate(0, 0, i), Active: active[i+1], MAU: cum})
	}
	return days, nil
}

// ReportResult says what a usage report run did.
type ReportResult struct {
	Workspaces int   // workspaces looked at
	Sent       int   // meter events sent (resends included)
	Quantity   int64 // MAU newly reported
}

// ReportUsage reports each subscribed workspace's MAU growth to Stripe as
// meter events (value = new MAU since the last report). A report is
// written down, with an identifier derived from the workspace, the month
// and the cumulative MAU it brings the total to, before it is sent, and
// unsent reports are sent again first: a retry or a run after a crash
// sends the same events again (Stripe drops duplicate identifiers), never
// new ones for the same users. The previous month is finished during the
// first days of a month, so a run after an outage catches up.
func (s *Service) ReportUsage(ctx context.Context) (ReportResult, error) {
	var res ReportResult
	if !s.Enabled() {
		return res, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT workspace_id FROM platform.workspace_billing
		WHERE stripe_customer_id IS NOT NULL AND subscription_id IS NOT NULL
		  -- a subscription that ended more than a billing period ago has nothing left to report
		  AND (subscription_status <> 'canceled' OR updated_at > now() - interval '40 days')
		ORDER BY workspace_id`)
	if err != nil {
		return res, fmt.Errorf("billing.ReportUsage: %w", err)
	}
	wss, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return res, fmt.Errorf("billing.ReportUsage: %w", err)
	}
	var errs []error
	for _, ws := range wss {
		r, err := s.reportWorkspace(ctx, ws)
		res.Workspaces++
		res.Sent += r.Sent
		res.Quantity += r.Quantity
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("billing.ReportUsage: %w", err)
	}
	return res, nil
}

// ReportWorkspace is ReportUsage for one workspace (a workspace without a
// Stripe customer reports nothing).
func (s *Service) ReportWorkspace(ctx context.Context, ws uuid.UUID) (ReportResult, error) {
	if !s.Enabled() {
		return ReportResult{}, nil
	}
	res, err := s.reportWorkspace(ctx, ws)
	res.Workspaces = 1
	if err != nil {
		return res, fmt.Errorf("billing.ReportWorkspace: %w", err)
	}
	return res, nil
}

func (s *Service) reportWorkspace(ctx context.Context, ws uuid.UUID) (ReportResult, error) {
	var res ReportResult
	now := s.now()
	months := []time.Time{MonthOf(now)}
	if now.Sub(MonthOf(now)) < 3*24*time.Hour {
		months = append([]time.Time{MonthOf(now).AddDate(0, -1, 0)}, months...)
	}
	var errs []error
	for _, m := range months {
		q, err := s.recordReport(ctx, ws, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res.Quantity += q
	}
	n, err := s.sendPending(ctx, ws)
	res.Sent += n
	if err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// recordReport writes down the report of the workspace's MAU growth in
// month, if any, and returns its quantity.
func (s *Service) recordReport(ctx context.Context, ws uuid.UUID, month time.Time) (int64, error) {
	var q int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := s.loadRow(ctx, tx, ws, true) // serializes concurrent runs per workspace
		if err != nil || r.customer == "" {
			return err
		}
		var total, reported int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM platform.usage_mau WHERE workspace_id = $1 AND month = $2`, ws, month).Scan(&total); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(cumulative), 0) FROM platform.usage_reports WHERE workspace_id = $1 AND month = $2`, ws, month).Scan(&reported); err != nil {
			return err
		}
		if total <= reported {
			return nil
		}
		q = total - reported
		id := "lanyard-mau-" + ws.String() + "-" + month.Format("200601") + "-" + strconv.FormatInt(total, 10)
		_, err = tx.Exec(ctx, `INSERT INTO platform.usage_reports (identifier, workspace_id, month, cumulative, quantity, stripe_customer_id)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, ws, month, total, q, r.customer)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record report %s %s: %w", ws, month.Format("2006-01"), err)
	}
	return q, nil
}

// sendPending sends the workspace's unsent reports in order.
func (s *Service) sendPending(ctx context.Context, ws uuid.UUID) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT identifier, month, quantity, stripe_customer_id FROM platform.usage_reports
		WHERE workspace_id = $1 AND sent_at IS NULL ORDER BY month, cumulative`, ws)
	if err != nil {
		return 0, err
	}
	type pending struct {
		id       string
		month    time.Time
		qty      int64
		customer string
	}
	var todo []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.month, &p.qty, &p.customer); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, p)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	sent := 0
	for _, p := range todo {
		ts := s.now()
		if end := p.month.AddDate(0, 1, 0).Add(-time.Second); ts.After(end) {
			ts = end // a late report of a finished month lands in that month
		}
		params := &stripe.BillingMeterEventParams{
			EventName:  stripe.String(s.meterEvent),
			Identifier: stripe.String(p.id),
			Payload:    map[string]string{"stripe_customer_id": p.customer, "value": strconv.FormatInt(p.qty, 10)},
			Timestamp:  stripe.Int64(ts.Unix()),
		}
		params.Context = ctx
		if _, err := s.sc.BillingMeterEvents.New(params); err != nil {
			return sent, stripeErr("send meter event "+p.id, err)
		}
		sent++
		if _, err := s.pool.Exec(ctx, `UPDATE platform.usage_reports SET sent_at = now() WHERE identifier = $1`, p.id); err != nil {
			return sent, err
		}
	}
	return sent, nil
}
