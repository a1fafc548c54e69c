// Package worker runs Lanyard's background work on asynq: task handlers
// (project schema drops now; mail, webhooks and usage reporting as they
// arrive) and the periodic sweeps that re-enqueue whatever a lost enqueue
// left behind. Task payloads carry ids, never data; handlers load the row
// and its state makes every task idempotent.
package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Queue names (before the namespace prefix).
const (
	QueueMail        = "mail"
	QueueHooks       = "hooks"
	QueueBilling     = "billing"
	QueueMaintenance = "maintenance"
)

// Task types.
const (
	TypeProjectDrop = "project:drop"
	TypeSweep       = "maintenance:sweep"
	TypeHookPrune   = "hooks:prune"
)

// Queues names queues within a namespace, so that test runs sharing one
// Redis never see each other's tasks. The zero value is the production
// naming ("mail", "hooks", ...).
type Queues struct{ Prefix string }

// Name returns the full name of queue q.
func (q Queues) Name(name string) string { return q.Prefix + name }

// Enqueuer puts tasks on the queues.
type Enqueuer struct {
	Client *asynq.Client
	Queues Queues
}

type projectPayload struct {
	ProjectID uuid.UUID `json:"project_id"`
}

// EnqueueProjectDrop asks a worker to drop a deleted project's schema. The
// task id is derived from the project, so repeated calls enqueue it once.
func (e *Enqueuer) EnqueueProjectDrop(ctx context.Context, id uuid.UUID) error {
	b, _ := json.Marshal(projectPayload{ProjectID: id})
	_, err := e.Client.EnqueueContext(ctx, asynq.NewTask(TypeProjectDrop, b),
		asynq.Queue(e.Queues.Name(QueueMaintenance)), asynq.TaskID("drop-"+id.String()),
		asynq.MaxRetry(20), asynq.Retention(time.Hour))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("worker.EnqueueProjectDrop: %w", err)
	}
	return nil
}

// Options configures a Worker.
type Options struct {
	Redis       asynq.RedisConnOpt
	Queues      Queues
	Registry    *tenant.Registry
	Concurrency int
	// SweepEvery is the period of the maintenance sweep (default 1 min);
	// DropGrace is how long a deleted project waits before the sweep
	// drops it if its own task was lost (default 1 min).
	SweepEvery time.Duration
	DropGrace  time.Duration
	Logger     *slog.Logger
	// Courier delivers mail (queue mail) and runs its outbox relay sweep
	// every RelayEvery (default 10 s) on the maintenance queue.
	Courier    *courier.Service
	RelayEvery time.Duration
	// Hooks delivers asynchronous webhooks (queue hooks), at most
	// HookConcurrency per project at a time (DefaultHookConcurrency), and
	// runs their outbox relay every RelayEvery.
	Hooks           *hook.Service
	HookConcurrency int
	// HookLogRetention is how long finished deliveries stay in the
	// delivery logs (default 30 days); they are pruned every PruneEvery
	// (default 1 h).
	HookLogRetention time.Duration
	PruneEvery       time.Duration
	// Billing reports MAU usage to Stripe (queue billing) every
	// BillingEvery (DefaultBillingEvery when zero); nil: no reporting.
	Billing      UsageReporter
	BillingEvery time.Duration
}

// Worker is the asynq server plus its scheduler.
type Worker struct {
	o         Options
	hookLimit *hookLimiter
	srv       *asynq.Server
	sched     *asynq.Scheduler
	enqueuer  *Enqueuer
}

// New builds a Worker; Run starts it.
func New(o Options) *Worker {
	if o.Concurrency <= 0 {
		o.Concurrency = 10
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.DropGrace <= 0 {
		o.DropGrace = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	log := slogAdapter{o.Logger.With("component", "worker")}
	srv := asynq.NewServer(o.Redis, asynq.Config{
		Concurrency: o.Concurrency,
		Queues: map[string]int{
			o.Queues.Name(QueueMail): 6, o.Queues.Name(QueueHooks): 6,
			o.Queues.Name(QueueBilling): 2, o.Queues.Name(QueueMaintenance): 1,
		},
		Logger:          log,
		ShutdownTimeout: 8 * time.Second,
		// An idle worker looks for new tasks this often (asynq: 1 s), which
		// bounds how long a verification mail waits in the queue.
		TaskCheckInterval:        100 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
	})
	sched := asynq.NewScheduler(o.Redis, &asynq.SchedulerOpts{Logger: log, LogLevel: asynq.WarnLevel})
	w := &Worker{o: o, srv: srv, sched: sched, enqueuer: &Enqueuer{Client: asynq.NewClient(o.Redis), Queues: o.Queues}}
	if o.Hooks != nil {
		w.hookLimit = newHookLimiter(o)
	}
	return w
}

// Mux returns the task handlers.
func (w *Worker) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeProjectDrop, w.handleProjectDrop)
	mux.HandleFunc(TypeSweep, w.handleSweep)
	if w.o.Courier != nil {
		courier.Register(mux, w.o.Courier)
	}
	if w.o.Hooks != nil {
		w.registerHooks(mux)
		mux.HandleFunc(TypeHookPrune, w.handleHookPrune)
	}
	if w.o.Billing != nil {
		w.registerBilling(mux)
	}
	return mux
}

// Run processes tasks and runs the scheduler until ctx ends, then shuts
// both down, letting running tasks finish.
func (w *Worker) Run(ctx context.Context) error {
	if _, err := w.sched.Register(fmt.Sprintf("@every %s", w.o.SweepEvery), asynq.NewTask(TypeSweep, nil),
		asynq.Queue(w.o.Queues.Name(QueueMaintenance)), asynq.Unique(w.o.SweepEvery), asynq.MaxRetry(0)); err != nil {
		return fmt.Errorf("worker: register sweep: %w", err)
	}
	if every := cmp.Or(w.o.RelayEvery, 10*time.Second); w.o.Courier != nil {
		if _, err := w.sched.Register(fmt.Sprintf("@every %s", every), courier.SweepTask(), w.o.Courier.SweepOptions(every)...); err != nil {
			return fmt.Errorf("worker: register outbox relay: %w", err)
		}
	}
	if every := cmp.Or(w.o.RelayEvery, 10*time.Second); w.o.Hooks != nil {
		if err := w.scheduleHookSweep(every); err != nil {
			return fmt.Errorf("worker: register hook outbox relay: %w", err)
		}
		every := cmp.Or(w.o.PruneEvery, time.Hour)
		if _, err := w.sched.Register(fmt.Sprintf("@every %s", every), asynq.NewTask(TypeHookPrune, nil),
			asynq.Queue(w.o.Queues.Name(QueueMaintenance)), asynq.Unique(every), asynq.MaxRetry(0)); err != nil {
			return fmt.Errorf("worker: register delivery log pruning: %w", err)
		}
	}
	if every := cmp.Or(w.o.BillingEvery, DefaultBillingEvery); w.o.Billing != nil {
		if err := w.scheduleBilling(every); err != nil {
			return fmt.Errorf("worker: register usage report: %w", err)
		}
	}
	if err := w.srv.Start(w.Mux()); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	if err := w.sched.Start(); err != nil {
		w.srv.Shutdown()
		return fmt.Errorf("worker: start scheduler: %w", err)
	}
	<-ctx.Done()
	w.sched.Shutdown()
	w.srv.Shutdown()
	return w.enqueuer.Client.Close()
}

func (w *Worker) handleProjectDrop(ctx context.Context, t *asynq.Task) error {
	var p projectPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if err := w.o.Registry.DropSchema(ctx, p.ProjectID); err != nil {
		return err
	}
	w.o.Logger.Info("project schema dropped", "project_id", p.ProjectID)
	return nil
}

// handleSweep re-enqueues drops of projects deleted a while ago whose task
// was lost (Redis down at the time, for example).
func (w *Worker) handleSweep(ctx context.Context, _ *asynq.Task) error {
	ids, err := w.o.Registry.PendingDrops(ctx, time.Now().Add(-w.o.DropGrace), 500)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.enqueuer.EnqueueProjectDrop(ctx, id); err != nil {
			return err
		}
	}
	if n, err := w.o.Registry.FillSpares(ctx, w.o.Registry.Spares()); err != nil {
		return err
	} else if n > 0 {
		w.o.Logger.Info("spare project schemas built", "count", n)
	}
	return nil
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
