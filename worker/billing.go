package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/billing"
)

// Usage reporting (queue billing): every BillingEvery the scheduler puts
// one report task on the queue; the task sends each subscribed workspace's
// MAU growth to Stripe as meter events. billing.Service.ReportUsage writes
// every report down before sending it, so a failed or repeated task resends
// the same events (Stripe drops duplicate identifiers) and the next run
// catches up after an outage.

// TypeBillingReport is the usage report task.
const TypeBillingReport = "billing:report_usage"

// DefaultBillingEvery is the period of the usage report.
const DefaultBillingEvery = 15 * time.Minute

// UsageReporter reports usage to Stripe (billing.Service).
type UsageReporter interface {
	ReportUsage(ctx context.Context) (billing.ReportResult, error)
}

func (w *Worker) handleBillingReport(ctx context.Context, _ *asynq.Task) error {
	res, err := w.o.Billing.ReportUsage(ctx)
	if res.Sent > 0 {
		w.o.Logger.Info("usage reported to Stripe", "workspaces", res.Workspaces, "events", res.Sent, "mau", res.Quantity)
	}
	return err
}

// registerBilling adds the usage report handler to mux.
func (w *Worker) registerBilling(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeBillingReport, w.handleBillingReport)
}

// scheduleBilling runs the usage report every period on the billing queue;
// a failed run is retried with asynq's backoff and the next run catches up.
func (w *Worker) scheduleBilling(every time.Duration) error {
	_, err := w.sched.Register("@every "+every.String(), asynq.NewTask(TypeBillingReport, nil),
		asynq.Queue(w.o.Queues.Name(QueueBilling)), asynq.Unique(every), asynq.MaxRetry(5), asynq.Timeout(every))
	return err
}
