package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Usage reporting (queue billing): every BillingEvery the scheduler puts
// one report task on the queue; the task sends each subscribed workspace's
// MAU growth to Stripe as meter events. billing.Service.ReportUsage writes
// every report down before sending it, so a failed or repeated task resends
// the same events (Stripe drops duplicate identifiers) and the next run
// catches up after an outage.
//
// Usage warnings (queue billing, same period): when a workspace's MAU of
// the month crosses 80% and 100% of its plan's included MAU, its owners
// get a mail through the courier of the dashboard's console project, once
// per month and threshold (billing.Service.SendUsageWarnings stores the
// warning in the same transaction as the mail). They run in the worker,
// never on the request path.

// Task types.
const (
	// TypeBillingReport is the usage report task.
	TypeBillingReport = "billing:report_usage"
	// TypeBillingWarnings is the usage warning task.
	TypeBillingWarnings = "billing:usage_warnings"
)

// DefaultBillingEvery is the period of the usage report and warnings.
const DefaultBillingEvery = 15 * time.Minute

// WarningProjectSlug is the project whose courier mails usage warnings:
// the dashboard's console project, whose identities are the accounts.
const WarningProjectSlug = "console"

// UsageReporter reports usage to Stripe (billing.Service).
type UsageReporter interface {
	ReportUsage(ctx context.Context) (billing.ReportResult, error)
}

// UsageWarner mails usage warnings to workspace owners (billing.Service);
// a Billing that implements it gets the warning task too, when the worker
// has a Courier.
type UsageWarner interface {
	SendUsageWarnings(ctx context.Context, db *tenant.DB, from *tenant.Project, relay billing.Relay) (billing.WarningResult, error)
}

func (w *Worker) handleBillingReport(ctx context.Context, _ *asynq.Task) error {
	res, err := w.o.Billing.ReportUsage(ctx)
	if res.Sent > 0 {
		w.o.Logger.Info("usage reported to Stripe", "workspaces", res.Workspaces, "events", res.Sent, "mau", res.Quantity)
	}
	return err
}

// warner is the Billing's UsageWarner, nil when there is none or no
// courier to send with.
func (w *Worker) warner() UsageWarner {
	uw, ok := w.o.Billing.(UsageWarner)
	if !ok || w.o.Courier == nil || w.o.Registry == nil {
		return nil
	}
	return uw
}

func (w *Worker) handleBillingWarnings(ctx context.Context, _ *asynq.Task) error {
	uw := w.warner()
	if uw == nil {
		return nil
	}
	from, err := w.o.Registry.BySlug(ctx, WarningProjectSlug)
	if errx.Has(err, errx.NotFound) {
		w.o.Logger.Warn("usage warnings wait for the console project (run the migrations and start the dashboard)")
		return nil
	}
	if err != nil {
		return fmt.Errorf("usage warnings: %w", err)
	}
	res, err := uw.SendUsageWarnings(ctx, w.o.Registry.DB(), from, w.o.Courier.Relay)
	if res.Warnings > 0 {
		w.o.Logger.Info("usage warnings sent", "warnings", res.Warnings, "mails", res.Mails)
	}
	return err
}

// registerBilling adds the usage report and warning handlers to mux.
func (w *Worker) registerBilling(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeBillingReport, w.handleBillingReport)
	mux.HandleFunc(TypeBillingWarnings, w.handleBillingWarnings)
}

// scheduleBilling runs the usage report and the warnings every period on
// the billing queue; a failed run is retried with asynq's backoff and the
// next run catches up.
func (w *Worker) scheduleBilling(every time.Duration) error {
	_, err := w.sched.Register("@every "+every.String(), asynq.NewTask(TypeBillingReport, nil),
		asynq.Queue(w.o.Queues.Name(QueueBilling)), asynq.Unique(every), asynq.MaxRetry(5), asynq.Timeout(every))
	if err != nil || w.warner() == nil {
		return err
	}
	_, err = w.sched.Register("@every "+every.String(), asynq.NewTask(TypeBillingWarnings, nil),
		asynq.Queue(w.o.Queues.Name(QueueBilling)), asynq.Unique(every), asynq.MaxRetry(5), asynq.Timeout(every))
	return err
}
