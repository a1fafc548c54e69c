package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/tenant"
)

// Webhook deliveries (queue hooks). Each project may have at most
// HookConcurrency deliveries in flight across all workers, so that one
// project's slow receivers cannot take every worker slot: a task over the
// limit is put back a moment later without counting an attempt.

// DefaultHookConcurrency is the per-project limit of deliveries in flight.
const DefaultHookConcurrency = 8

// A task over its project's limit polls for a slot hookSlotTries times,
// every hookSlotPoll or so, before it goes back to the queue.
const (
	hookSlotTries = 8
	hookSlotPoll  = 5 * time.Millisecond
)

// hookLease bounds how long a slot is held if a worker dies mid-delivery.
const hookLease = hook.MaxTimeoutMS*time.Millisecond + 30*time.Second

// acquireSlot takes a slot in the project's sorted set of in-flight
// deliveries (expired ones are dropped first); 1 when taken.
var acquireSlot = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// hookLimiter is the per-project concurrency limit.
type hookLimiter struct {
	rdb    redis.UniversalClient
	prefix string
	limit  int
}

func (l *hookLimiter) key(project uuid.UUID) string {
	return l.prefix + "lanyard:hooks:inflight:" + project.String()
}

// acquire returns a release func, or nil when the project is at its limit.
func (l *hookLimiter) acquire(ctx context.Context, project uuid.UUID) (func(), error) {
	member := uuid.NewString()
	now := time.Now().UnixMilli()
	ok, err := acquireSlot.Run(ctx, l.rdb, []string{l.key(project)}, now, hookLease.Milliseconds(), l.limit, member).Int()
	if err != nil {
		return nil, err
	}
	if ok != 1 {
		return nil, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = l.rdb.ZRem(ctx, l.key(project), member).Err()
	}, nil
}

func (w *Worker) handleHookDeliver(ctx context.Context, t *asynq.Task) error {
	var pl hook.TaskPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if w.hookLimit != nil {
		// At the limit, wait a little for a slot (a delivery ends soon),
		// then put the task at the back of the queue, behind other
		// projects' tasks, without counting an attempt.
		var release func()
		for try := 0; release == nil; try++ {
			var err error
			if release, err = w.hookLimit.acquire(ctx, pl.ProjectID); err != nil {
				return err
			}
			if release != nil {
				break
			}
			if try == hookSlotTries {
				return w.o.Hooks.Requeue(ctx, pl, 0)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(hookSlotPoll + time.Duration(rand.IntN(int(hookSlotPoll)))):
			}
		}
		defer release()
	}
	if err := w.o.Hooks.Deliver(ctx, pl.ProjectID, pl.DeliveryID); err != nil {
		w.o.Logger.Warn("hook delivery task failed; asynq retries it", "project_id", pl.ProjectID, "delivery_id", pl.DeliveryID, "error", err.Error())
		return err
	}
	return nil
}

func (w *Worker) handleHookSweep(ctx context.Context, _ *asynq.Task) error {
	n, err := w.o.Hooks.Sweep(ctx)
	if n > 0 {
		w.o.Logger.Info("hook outbox relayed", "relayed", n)
	}
	return err
}

// registerHooks adds the hook handlers to mux.
func (w *Worker) registerHooks(mux *asynq.ServeMux) {
	mux.HandleFunc(hook.TypeDeliver, w.handleHookDeliver)
	mux.HandleFunc(hook.TypeRelaySweep, w.handleHookSweep)
}

// scheduleHookSweep runs the hooks' outbox relay every period.
func (w *Worker) scheduleHookSweep(every time.Duration) error {
	_, err := w.sched.Register("@every "+every.String(), asynq.NewTask(hook.TypeRelaySweep, nil),
		asynq.Queue(w.o.Queues.Name(QueueMaintenance)), asynq.Unique(every), asynq.MaxRetry(0), asynq.Timeout(every*4))
	return err
}

// newHookLimiter builds the limiter from the worker's Redis.
func newHookLimiter(o Options) *hookLimiter {
	rdb, ok := o.Redis.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil
	}
	limit := o.HookConcurrency
	if limit <= 0 {
		limit = DefaultHookConcurrency
	}
	return &hookLimiter{rdb: rdb, prefix: o.Queues.Prefix, limit: limit}
}

// DefaultHookLogRetention is how long finished deliveries are kept.
const DefaultHookLogRetention = 30 * 24 * time.Hour

// handleHookPrune deletes finished deliveries older than the retention
// from every active project's delivery log, one project at a time.
func (w *Worker) handleHookPrune(ctx context.Context, _ *asynq.Task) error {
	cutoff := time.Now().Add(-cmp.Or(w.o.HookLogRetention, DefaultHookLogRetention))
	var last *tenant.Project
	var pruned int64
	for {
		page, err := w.o.Registry.List(ctx, tenant.ListParams{Limit: 500, Before: last})
		if err != nil {
			return err
		}
		for _, p := range page {
			n, err := w.o.Hooks.PruneDeliveries(ctx, p, cutoff)
			if err != nil {
				return err
			}
			pruned += n
		}
		if len(page) < 500 {
			break
		}
		last = page[len(page)-1]
	}
	if pruned > 0 {
		w.o.Logger.Info("delivery logs pruned", "deliveries", pruned, "before", cutoff)
	}
	return nil
}
