package courier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Task types.
const (
	TypeDeliver    = "courier:deliver"
	TypeRelaySweep = "courier:relay-sweep"
)

// payload is the whole content of a delivery task: ids, never data.
type payload struct {
	ProjectID uuid.UUID `json:"project_id"`
	MessageID uuid.UUID `json:"message_id"`
}

// Register adds the courier's task handlers to mux.
func Register(mux *asynq.ServeMux, s *Service) {
	mux.HandleFunc(TypeDeliver, s.handleDeliver)
	mux.HandleFunc(TypeRelaySweep, s.handleSweep)
}

// SweepTask is the periodic task that runs the relay sweep; schedule it on
// the maintenance queue (SweepOptions).
func SweepTask() *asynq.Task { return asynq.NewTask(TypeRelaySweep, nil) }

// SweepOptions are the asynq options of the scheduled sweep, every period.
func (s *Service) SweepOptions(every time.Duration) []asynq.Option {
	return []asynq.Option{asynq.Queue(s.o.MaintenanceQueue), asynq.Unique(every), asynq.MaxRetry(0), asynq.Timeout(every * 4)}
}

// enqueueDelivery puts the delivery of message id on the mail queue. The
// task id is the message id and its attempt count, so that the immediate
// hand-off and the sweep never queue the same attempt twice; a conflict is
// success.
func (s *Service) enqueueDelivery(ctx context.Context, project, id uuid.UUID, attempt int, delay time.Duration) error {
	b, _ := json.Marshal(payload{ProjectID: project, MessageID: id})
	opts := []asynq.Option{asynq.Queue(s.o.MailQueue), asynq.TaskID("courier:" + id.String() + ":" + strconv.Itoa(attempt)),
		asynq.MaxRetry(5), asynq.Timeout(s.o.SendTimeout + 30*time.Second)}
	if delay > 0 {
		opts = append(opts, asynq.ProcessIn(delay))
	}
	_, err := s.o.Client.EnqueueContext(ctx, asynq.NewTask(TypeDeliver, b), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	return nil
}

// backoff is the wait after the n-th failed attempt: RetryBase doubling,
// at most RetryMax.
func (s *Service) backoff(n int) time.Duration {
	d := s.o.RetryBase
	for i := 1; i < n && d < s.o.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.o.RetryMax)
}

// errSMSUnsupported abandons sms messages until an SMS channel exists.
var errSMSUnsupported = errors.New("sms delivery is not configured for this project")

// handleDeliver sends one message. The message row's status makes it
// idempotent: only a worker that moves it from queued to processing sends
// it, so a redelivered task is a no-op. Failures are recorded as
// dispatches and retried by a new delayed task (and the outbox, should
// that enqueue be lost); the task itself fails only when the database does.
func (s *Service) handleDeliver(ctx context.Context, t *asynq.Task) error {
	var pl payload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	p, err := s.o.Registry.ByID(ctx, pl.ProjectID)
	if errx.Has(err, errx.NotFound) {
		return nil // the project is gone, and its mail with it
	}
	if err != nil {
		return err
	}
	if p.State != tenant.StateActive {
		return nil
	}
	log := s.o.Logger.With("project_id", p.ID, "message_id", pl.MessageID)
	var c claimed
	var ok bool
	var target smtpTarget
	var targetErr error
	var limits SendLimits
	err = s.o.DB.InTx(ctx, p, func(tx tenant.Tx) (err error) {
		if c, ok, err = claim(ctx, tx, pl.MessageID, s.o.Lease); err != nil || !ok {
			return err
		}
		if limits, err = LoadSendLimits(ctx, tx); err != nil {
			return err
		}
		target, targetErr = s.target(ctx, tx)
		return nil
	})
	if err != nil {
		return fmt.Errorf("courier: claim: %w", err)
	}
	if !ok {
		return nil
	}
	wait, lim := s.checkLimit(ctx, p, c.Recipient, limits)
	if wait > 0 {
		// Over the project's cap: back to queued without counting the
		// attempt, the delay recorded in the courier log; the outbox row
		// (due after the wait) brings it back through the relay sweep.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := s.o.DB.InTx(fctx, p, func(tx tenant.Tx) error {
			return delay(fctx, tx, c.ID, errDelayed{limit: lim, wait: wait}, time.Now().Add(wait))
		}); err != nil {
			return fmt.Errorf("courier: record delay: %w", err)
		}
		log.Info("mail delayed by the send limit", "retry_in", wait.String())
		return nil
	}
	sendErr := targetErr
	switch {
	case sendErr != nil:
	case c.Type == TypeSMS:
		sendErr = errSMSUnsupported
	default:
		sendErr = s.send(ctx, target, outgoing{MessageID: c.ID.String(), To: c.Recipient, Subject: c.Subject, Text: c.Body, HTML: c.HTML})
	}
	if sendErr == nil {
		s.countSent(ctx, p, c.Recipient, lim)
	}
	abandon := sendErr != nil && (c.SendCount >= s.o.MaxAttempts || c.Type == TypeSMS)
	wait = s.backoff(c.SendCount)
	// The outcome is recorded even if the task's context has ended: the
	// mail may already be out.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := s.o.DB.InTx(fctx, p, func(tx tenant.Tx) error {
		return finish(fctx, tx, c.ID, sendErr, abandon, time.Now().Add(wait))
	}); err != nil {
		// The claim's lease runs out and the sweep retries the message;
		// if the mail was accepted, that retry is the one duplicate window.
		return fmt.Errorf("courier: record attempt: %w", err)
	}
	switch {
	case sendErr == nil:
		log.Debug("mail sent", "attempt", c.SendCount)
	case abandon:
		log.Warn("mail abandoned", "attempt", c.SendCount, "error", sendErr.Error())
	default:
		log.Info("mail not sent; will retry", "attempt", c.SendCount, "retry_in", wait.String(), "error", sendErr.Error())
		if err := s.enqueueDelivery(fctx, p.ID, c.ID, c.SendCount, wait); err != nil {
			log.Warn("retry not queued; the relay sweep will", "error", err.Error())
		}
	}
	return nil
}

func (s *Service) handleSweep(ctx context.Context, _ *asynq.Task) error {
	st, err := s.Sweep(ctx)
	if st.Relayed > 0 {
		s.o.Logger.Info("outbox relayed", "projects", st.Projects, "relayed", st.Relayed)
	}
	return err
}
