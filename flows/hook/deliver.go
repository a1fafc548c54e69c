package hook

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Task types.
const (
	TypeDeliver    = "hook:deliver"
	TypeRelaySweep = "hook:relay-sweep"
)

// TaskPayload is the whole content of a delivery task: ids, never data.
type TaskPayload struct {
	ProjectID  uuid.UUID `json:"project_id"`
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// Enqueue puts the delivery on the hooks queue after delay. The task id is
// the delivery and its attempt, so that the immediate hand-off and the
// sweep never queue the same attempt twice; a conflict is success.
func (s *Service) Enqueue(ctx context.Context, project, id uuid.UUID, attempt int, delay time.Duration) error {
	if s.o.Client == nil {
		return nil
	}
	b, _ := json.Marshal(TaskPayload{ProjectID: project, DeliveryID: id})
	opts := []asynq.Option{asynq.Queue(s.o.Queue), asynq.TaskID("hook:" + id.String() + ":" + strconv.Itoa(attempt)),
		asynq.MaxRetry(5), asynq.Timeout(MaxTimeoutMS*time.Millisecond + 30*time.Second), asynq.Retention(time.Minute)}
	if delay > 0 {
		opts = append(opts, asynq.ProcessIn(delay))
	}
	_, err := s.o.Client.EnqueueContext(ctx, asynq.NewTask(TypeDeliver, b), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	return nil
}

// Requeue puts a task back, after delay (0: at the back of the queue now),
// without counting an attempt (the project is at its concurrency limit).
func (s *Service) Requeue(ctx context.Context, pl TaskPayload, delay time.Duration) error {
	if s.o.Client == nil {
		return nil
	}
	b, _ := json.Marshal(pl)
	opts := []asynq.Option{asynq.Queue(s.o.Queue), asynq.MaxRetry(5), asynq.Timeout(MaxTimeoutMS*time.Millisecond + 30*time.Second),
		asynq.Retention(time.Minute)}
	if delay > 0 {
		opts = append(opts, asynq.ProcessIn(delay))
	}
	_, err := s.o.Client.EnqueueContext(ctx, asynq.NewTask(TypeDeliver, b), opts...)
	return err
}

// backoff is the wait after the n-th failed attempt.
func backoff(d *Delivery, n int) time.Duration {
	w := time.Duration(d.backoffBaseMS) * time.Millisecond
	maxW := time.Duration(d.backoffMaxMS) * time.Millisecond
	for i := 1; i < n && w < maxW; i++ {
		w *= 2
	}
	return min(w, maxW)
}

// Deliver makes one attempt of an asynchronous delivery. The row's status
// makes it idempotent: only a worker that moves it from pending (or a
// delivering row whose lease ran out) sends it. A failed attempt is
// recorded and retried with backoff by a delayed task (and by the outbox
// should that be lost) until max_attempts, then the delivery is failed.
// The error is non-nil only when the database fails.
func (s *Service) Deliver(ctx context.Context, projectID, id uuid.UUID) error {
	p, err := s.o.Registry.ByID(ctx, projectID)
	if errx.Has(err, errx.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.State != tenant.StateActive {
		return nil
	}
	var d *Delivery
	var w *WebhookConfig
	err = s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		d = nil
		cur, err := getDelivery(ctx, tx, id, true)
		if errx.Has(err, errx.NotFound) {
			_, err = tx.Exec(ctx, `DELETE FROM outbox WHERE topic = $1 AND ref_id = $2`, topicHook, id)
			return err
		}
		if err != nil {
			return err
		}
		now := time.Now()
		switch {
		case cur.Mode != ModeAsync:
			return nil
		case cur.Status == StatusPending && (cur.NextAttemptAt == nil || !cur.NextAttemptAt.After(now.Add(time.Second))):
		case cur.Status == StatusDelivering && cur.UpdatedAt.Add(s.o.Lease).Before(now):
		default:
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE hook_deliveries SET status = $2, attempts = attempts + 1, updated_at = now() WHERE id = $1`,
			id, StatusDelivering); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET due_at = now() + $2 * interval '1 second' WHERE topic = $3 AND ref_id = $1`,
			id, s.o.Lease.Seconds(), topicHook); err != nil {
			return err
		}
		cur.Attempts++
		d = cur
		cfg, err := load(ctx, tx)
		if err != nil {
			return err
		}
		_ = cfg.each(func(_ string, h *Hook) error {
			if h.Webhook != nil && h.Webhook.ID == d.HookID {
				w = h.Webhook
			}
			return nil
		})
		return nil
	})
	if err != nil || d == nil {
		return err
	}
	att := &Attempt{Attempt: d.Attempts}
	var sendErr error
	if w == nil {
		sendErr = errors.New("the hook was removed from the project's configuration")
	} else {
		sec, err := s.openSecrets(p, w)
		if err != nil {
			sendErr = err
		} else {
			resp := s.client.do(ctx, request{URL: w.URL, Method: w.Method, Headers: w.Headers, Auth: w.Auth, AuthCred: sec.AuthCred,
				Secret: sec.Signing, HookID: w.ID, DeliveryID: d.ID.String(), Body: d.Payload, Timeout: time.Duration(w.timeoutMS()) * time.Millisecond})
			att.LatencyMS, att.ResponseExcerpt = int(resp.Latency.Milliseconds()), excerpt(resp.Body)
			if resp.Status != 0 {
				st := resp.Status
				att.StatusCode = &st
			}
			switch {
			case resp.Err != nil:
				sendErr = resp.Err
			case resp.Status < 200 || resp.Status >= 300:
				sendErr = fmt.Errorf("the webhook answered %d", resp.Status)
			}
		}
	}
	final := sendErr == nil || d.Attempts >= d.MaxAttempts || w == nil
	wait := backoff(d, d.Attempts)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	err = s.o.DB.InTx(fctx, p, func(tx tenant.Tx) error {
		if sendErr != nil {
			att.Error = sendErr.Error()
		}
		if err := insertAttempt(fctx, tx, d.ID, att); err != nil {
			return err
		}
		if final {
			status := StatusSucceeded
			if sendErr != nil {
				status = StatusFailed
			}
			if _, err := tx.Exec(fctx, `UPDATE hook_deliveries SET status = $2, last_error = $3, next_attempt_at = NULL, updated_at = now()
				WHERE id = $1`, d.ID, status, att.Error); err != nil {
				return err
			}
			_, err := tx.Exec(fctx, `DELETE FROM outbox WHERE topic = $1 AND ref_id = $2`, topicHook, d.ID)
			return err
		}
		next := time.Now().Add(wait)
		if _, err := tx.Exec(fctx, `UPDATE hook_deliveries SET status = $2, last_error = $3, next_attempt_at = $4, updated_at = now()
			WHERE id = $1`, d.ID, StatusPending, att.Error, next); err != nil {
			return err
		}
		return addOutbox(fctx, tx, d.ID, next.Add(s.o.RelayGrace))
	})
	if err != nil {
		return fmt.Errorf("hook: record attempt: %w", err)
	}
	log := s.o.Logger.With("project_id", p.ID, "delivery_id", d.ID, "hook_id", d.HookID, "attempt", d.Attempts)
	switch {
	case sendErr == nil:
		log.Debug("webhook delivered")
	case final:
		log.Warn("webhook delivery failed", "error", sendErr.Error())
	default:
		log.Info("webhook not delivered; will retry", "retry_in", wait.String(), "error", sendErr.Error())
		if err := s.Enqueue(fctx, p.ID, d.ID, d.Attempts, wait); err != nil {
			log.Warn("retry not queued; the outbox relay will", "error", err.Error())
		}
	}
	return nil
}

// Replay creates a new delivery with the payload of a failed (or
// succeeded) asynchronous delivery and queues it. errx.NotFound for an
// unknown id; errx.Conflict while the delivery is still pending.
func (s *Service) Replay(ctx context.Context, p *tenant.Project, id uuid.UUID) (*Delivery, error) {
	var nd *Delivery
	err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		d, err := getDelivery(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if d.HookType != NameWebHook {
			return errx.New(errx.Invalid, "Only webhook deliveries can be replayed.")
		}
		if d.Status == StatusPending || d.Status == StatusDelivering {
			return errx.New(errx.Conflict, "The delivery is still in progress.")
		}
		cfg, err := load(ctx, tx)
		if err != nil {
			return err
		}
		var w *WebhookConfig
		_ = cfg.each(func(_ string, h *Hook) error {
			if h.Webhook != nil && h.Webhook.ID == d.HookID {
				w = h.Webhook
			}
			return nil
		})
		if w == nil {
			return errx.New(errx.Invalid, "The hook of this delivery is no longer configured.")
		}
		r := w.retry()
		nd = &Delivery{HookID: d.HookID, HookType: d.HookType, Flow: d.Flow, Point: d.Point, Mode: ModeAsync, Status: StatusPending,
			URL: w.URL, Payload: d.Payload, MaxAttempts: r.MaxAttempts, ReplayOf: &d.ID, backoffBaseMS: r.BackoffBaseMS, backoffMaxMS: r.BackoffMaxMS}
		if err := insertDelivery(ctx, tx, nd); err != nil {
			return err
		}
		return addOutbox(ctx, tx, nd.ID, time.Now())
	})
	if err != nil {
		return nil, fmt.Errorf("hook.Service.Replay: %w", err)
	}
	if err := s.Enqueue(ctx, p.ID, nd.ID, 0, 0); err != nil {
		s.o.Logger.Warn("replay not queued; the outbox relay will", "project_id", p.ID, "delivery_id", nd.ID, "error", err.Error())
	}
	return nd, nil
}

// Sweep limits.
const (
	sweepProjects = 200
	sweepRows     = 500
)

// Sweep is the hooks' outbox relay: it hands to the queue every hook
// outbox row whose due time passed more than RelayGrace ago (a lost
// hand-off, a lost retry task). Like the courier's relay it reads only
// platform.outbox_due, the index of projects with outbox rows, and it
// leaves the index row for the courier's sweep to clear.
func (s *Service) Sweep(ctx context.Context) (relayed int, err error) {
	rows, err := s.o.DB.Platform().Query(ctx, `SELECT project_id, version FROM platform.outbox_due
		WHERE due_at <= now() - $1 * interval '1 second' ORDER BY due_at LIMIT $2`, s.o.RelayGrace.Seconds(), sweepProjects)
	if err != nil {
		return 0, fmt.Errorf("hook.Sweep: %w", err)
	}
	type due struct {
		id      uuid.UUID
		version int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		return d, r.Scan(&d.id, &d.version)
	})
	if err != nil {
		return 0, fmt.Errorf("hook.Sweep: %w", err)
	}
	for _, d := range list {
		id := d.id
		p, err := s.o.Registry.ByID(ctx, id)
		if err != nil || p.State != tenant.StateActive {
			continue
		}
		err = s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			rows, err := tx.Query(ctx, `SELECT o.ref_id, coalesce(d.attempts, -1) FROM outbox o
				LEFT JOIN hook_deliveries d ON d.id = o.ref_id
				WHERE o.topic = $3 AND o.due_at <= now() - $1 * interval '1 second'
				ORDER BY o.due_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED`, s.o.RelayGrace.Seconds(), sweepRows, topicHook)
			if err != nil {
				return err
			}
			type item struct {
				ref      uuid.UUID
				attempts int
			}
			items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
				var it item
				return it, r.Scan(&it.ref, &it.attempts)
			})
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.attempts < 0 {
					if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE topic = $1 AND ref_id = $2`, topicHook, it.ref); err != nil {
						return err
					}
					continue
				}
				if err := s.Enqueue(ctx, p.ID, it.ref, it.attempts, 0); err != nil {
					return fmt.Errorf("enqueue: %w", err)
				}
				if _, err := tx.Exec(ctx, `UPDATE outbox SET due_at = now() + $2 * interval '1 second', relayed = relayed + 1
					WHERE topic = $3 AND ref_id = $1`, it.ref, s.o.Lease.Seconds(), topicHook); err != nil {
					return err
				}
				relayed++
			}
			// Keep the index right: the project's next due time, or no row
			// when the outbox is empty (unless a write bumped the version).
			var next *time.Time
			if err := tx.QueryRow(ctx, `SELECT min(due_at) FROM outbox`).Scan(&next); err != nil {
				return err
			}
			if next == nil {
				_, err = tx.Exec(ctx, `DELETE FROM platform.outbox_due WHERE project_id = $1 AND version = $2`, p.ID, d.version)
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE platform.outbox_due SET due_at = $3 WHERE project_id = $1 AND version = $2`, p.ID, d.version, *next)
			return err
		})
		if err != nil {
			return relayed, fmt.Errorf("hook.Sweep: project %s: %w", id, err)
		}
	}
	return relayed, nil
}

// Page sizes of the delivery list.
const (
	DefaultPageSize = 100
	MaxPageSize     = 500
)

// ListParams select a page of deliveries, newest first.
type ListParams struct {
	Status, HookID, Flow, Mode string
	PageSize                   int
	PageToken                  string
}

// ErrBadPageToken answers a page token that does not open.
var ErrBadPageToken = errx.New(errx.Invalid, "The page_token is invalid: it is malformed, was altered, or belongs to another project.").WithID("invalid_page_token")

const pagePurpose = "lanyard.hook.deliveries"

// List returns a page of the delivery log and the next page's token.
func (s *Service) List(ctx context.Context, p *tenant.Project, lp ListParams) ([]*Delivery, string, error) {
	switch lp.Status {
	case "", StatusPending, StatusDelivering, StatusSucceeded, StatusFailed:
	default:
		return nil, "", errx.Newf(errx.Invalid, "status must be one of pending, delivering, succeeded or failed, not %q.", lp.Status)
	}
	switch lp.Mode {
	case "", ModeSync, ModeAsync:
	default:
		return nil, "", errx.Newf(errx.Invalid, "mode must be sync or async, not %q.", lp.Mode)
	}
	if lp.PageSize <= 0 {
		lp.PageSize = DefaultPageSize
	}
	lp.PageSize = min(lp.PageSize, MaxPageSize)
	f := listFilter{Status: lp.Status, HookID: strings.TrimSpace(lp.HookID), Flow: lp.Flow, Mode: lp.Mode, Limit: lp.PageSize + 1}
	if lp.PageToken != "" {
		b, err := s.pages.Open(pagePurpose, p.ID, lp.PageToken)
		if err != nil || len(b) != 24 {
			return nil, "", ErrBadPageToken
		}
		id, _ := uuid.FromBytes(b[8:])
		f.After = &cursor{CreatedAt: time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))), ID: id}
	}
	var list []*Delivery
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		list, err = listDeliveries(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("hook.Service.List: %w", err)
	}
	next := ""
	if len(list) > lp.PageSize {
		list = list[:lp.PageSize]
		last := list[len(list)-1]
		b := binary.BigEndian.AppendUint64(nil, uint64(last.CreatedAt.UnixMicro()))
		next = s.pages.Seal(pagePurpose, p.ID, append(b, last.ID[:]...))
	}
	return list, next, nil
}

// Get returns one delivery with its attempts.
func (s *Service) Get(ctx context.Context, p *tenant.Project, id uuid.UUID) (*Delivery, error) {
	var d *Delivery
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
		var err error
		if d, err = getDelivery(ctx, tx, id, false); err != nil {
			return err
		}
		d.AttemptLog, err = listAttempts(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hook.Service.Get: %w", err)
	}
	if d.AttemptLog == nil {
		d.AttemptLog = []Attempt{}
	}
	return d, nil
}
