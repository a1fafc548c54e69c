package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

// WebhookPath is where the dashboard service mounts WebhookHandler.
const WebhookPath = "/api/v1/billing/stripe/webhook"

// maxWebhookBody bounds a Stripe event body.
const maxWebhookBody = 1 << 20

var errBadSignature = errx.New(errx.Invalid, "The Stripe signature of the webhook is missing or invalid.").WithID("billing_bad_signature")

// WebhookHandler is the Stripe webhook endpoint (POST WebhookPath). It
// verifies the Stripe-Signature header with the endpoint secret (400 and
// no change otherwise), acts on each event once (its id is stored in the
// same transaction as its effect; a replay answers 200 and does nothing)
// and acknowledges events it does not handle or whose customer it does
// not know. A database failure answers 500 so that Stripe retries.
func (s *Service) WebhookHandler() gin.HandlerFunc {
	return httpx.Wrap(func(c *gin.Context) error {
		if s.secret == "" {
			return errx.New(errx.NotFound, "Billing webhooks are not configured on this installation.").WithID("billing_disabled")
		}
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxWebhookBody+1))
		if err != nil {
			return errx.New(errx.Invalid, "The request body could not be read.").Wrap(err)
		}
		if len(body) > maxWebhookBody {
			return errx.New(errx.TooLarge, "The event is too large.")
		}
		ev, err := webhook.ConstructEventWithOptions(body, c.GetHeader("Stripe-Signature"), s.secret,
			webhook.ConstructEventOptions{Tolerance: webhook.DefaultTolerance, IgnoreAPIVersionMismatch: true})
		if err != nil {
			return errBadSignature.Wrap(err)
		}
		dup, err := s.HandleEvent(c.Request.Context(), &ev)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"received": true, "duplicate": dup})
		return nil
	})
}

// HandleEvent acts on a verified event once; duplicate is true when the
// event was already processed.
func (s *Service) HandleEvent(ctx context.Context, ev *stripe.Event) (duplicate bool, err error) {
	if ev.ID == "" || ev.Data == nil {
		return false, errx.New(errx.Invalid, "The event has no id or no data.").WithID("billing_bad_event")
	}
	at := time.Unix(ev.Created, 0).UTC()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO platform.stripe_events (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING`, ev.ID, string(ev.Type))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			duplicate = true
			return nil
		}
		ws, err := s.apply(ctx, tx, ev, at)
		if err != nil {
			return err
		}
		if ws != uuid.Nil {
			_, err = tx.Exec(ctx, `UPDATE platform.stripe_events SET workspace_id = $2 WHERE id = $1`, ev.ID, ws)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("billing.HandleEvent %s: %w", ev.Type, err)
	}
	return duplicate, nil
}

// apply is the effect of one event; it returns the workspace it touched.
func (s *Service) apply(ctx context.Context, tx pgx.Tx, ev *stripe.Event, at time.Time) (uuid.UUID, error) {
	switch ev.Type {
	case "checkout.session.completed":
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return uuid.Nil, s.ignore(ev, "unreadable checkout session", err)
		}
		return s.onCheckoutCompleted(ctx, tx, ev, &cs, at)
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &sub); err != nil {
			return uuid.Nil, s.ignore(ev, "unreadable subscription", err)
		}
		if ev.Type == "customer.subscription.deleted" {
			sub.Status = stripe.SubscriptionStatusCanceled
		}
		return s.onSubscription(ctx, tx, ev, &sub, at)
	case "invoice.paid", "invoice.payment_failed":
		var inv stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
			return uuid.Nil, s.ignore(ev, "unreadable invoice", err)
		}
		return s.onInvoice(ctx, tx, ev, &inv, at)
	default:
		s.log.Debug("stripe event ignored", "event_id", ev.ID, "type", ev.Type)
		return uuid.Nil, nil
	}
}

// ignore logs an event that cannot be acted on; it is acknowledged.
func (s *Service) ignore(ev *stripe.Event, why string, err error) error {
	s.log.Warn("stripe event not applied", "event_id", ev.ID, "type", ev.Type, "reason", why, "error", fmt.Sprint(err))
	return nil
}

// workspaceOf finds the workspace of a Stripe customer, or of the
// workspace id that Lanyard put in the object's metadata or reference.
func (s *Service) workspaceOf(ctx context.Context, tx pgx.Tx, customer, ref string) (uuid.UUID, error) {
	var ws uuid.UUID
	if customer != "" {
		err := tx.QueryRow(ctx, `SELECT workspace_id FROM platform.workspace_billing WHERE stripe_customer_id = $1`, customer).Scan(&ws)
		if err == nil {
			return ws, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, err
		}
	}
	id, err := uuid.Parse(ref)
	if err != nil {
		return uuid.Nil, nil
	}
	err = tx.QueryRow(ctx, `SELECT id FROM platform.workspaces WHERE id = $1`, id).Scan(&ws)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, nil
	}
	if err != nil {
		return uuid.Nil, err
	}
	// A customer we did not create must not take over a workspace that
	// already has another one.
	var other *string
	err = tx.QueryRow(ctx, `SELECT stripe_customer_id FROM platform.workspace_billing WHERE workspace_id = $1`, ws).Scan(&other)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, err
	}
	if other != nil && customer != "" && *other != customer {
		return uuid.Nil, nil
	}
	return ws, nil
}

func idOf[T interface {
	*stripe.Customer | *stripe.Subscription
}](v T) string {
	switch x := any(v).(type) {
	case *stripe.Customer:
		if x != nil {
			return x.ID
		}
	case *stripe.Subscription:
		if x != nil {
			return x.ID
		}
	}
	return ""
}

// lockRow makes sure the workspace has a billing row and locks it.
func (s *Service) lockRow(ctx context.Context, tx pgx.Tx, ws uuid.UUID) (*row, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO platform.workspace_billing (workspace_id) VALUES ($1) ON CONFLICT DO NOTHING`, ws); err != nil {
		return nil, err
	}
	return s.loadRow(ctx, tx, ws, true)
}

func (s *Service) onCheckoutCompleted(ctx context.Context, tx pgx.Tx, ev *stripe.Event, cs *stripe.CheckoutSession, at time.Time) (uuid.UUID, error) {
	customer := idOf(cs.Customer)
	ws, err := s.workspaceOf(ctx, tx, customer, cs.ClientReferenceID)
	if err != nil || ws == uuid.Nil {
		return uuid.Nil, orIgnore(err, s.ignore(ev, "unknown customer", fmt.Errorf("customer %q, reference %q", customer, cs.ClientReferenceID)))
	}
	r, err := s.lockRow(ctx, tx, ws)
	if err != nil {
		return uuid.Nil, err
	}
	if r.customer == "" && customer != "" {
		if _, err := tx.Exec(ctx, `UPDATE platform.workspace_billing SET stripe_customer_id = $2 WHERE workspace_id = $1`, ws, customer); err != nil {
			return uuid.Nil, err
		}
	}
	sub := idOf(cs.Subscription)
	plan, _ := s.plans.ByName(cs.Metadata["plan"])
	// The subscription's own events carry its state; a completed checkout
	// only fills in what none of them has set yet.
	if sub == "" || plan.Name == "" || r.stateAt != nil {
		return ws, nil
	}
	status := "active"
	if cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid {
		status = "incomplete"
	}
	_, err = tx.Exec(ctx, `UPDATE platform.workspace_billing SET subscription_id = $2, subscription_status = $3, plan = $4,
		state_at = $5, updated_at = now() WHERE workspace_id = $1`, ws, sub, status, plan.Name, at)
	return ws, err
}

func (s *Service) onSubscription(ctx context.Context, tx pgx.Tx, ev *stripe.Event, sub *stripe.Subscription, at time.Time) (uuid.UUID, error) {
	customer := idOf(sub.Customer)
	// Only a customer Lanyard created (stored before any Checkout) leads
	// to a workspace: metadata alone never moves a subscription.
	ws, err := s.workspaceOf(ctx, tx, customer, "")
	if err != nil || ws == uuid.Nil {
		return uuid.Nil, orIgnore(err, s.ignore(ev, "unknown customer", fmt.Errorf("customer %q", customer)))
	}
	r, err := s.lockRow(ctx, tx, ws)
	if err != nil {
		return uuid.Nil, err
	}
	status := string(sub.Status)
	same := r.subscription == "" || r.subscription == sub.ID
	switch {
	case same && r.status == "canceled" && r.subscription != "" && status != "canceled":
		// a canceled subscription never comes back: this event is older
		return ws, nil
	case !same && live(r.status) && status == "canceled":
		// the end of an older subscription does not undo the current one
		return ws, nil
	case same && r.stateAt != nil && at.Before(*r.stateAt) && status != "canceled":
		return ws, nil // an older state arriving late
	}
	plan := ""
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			if it.Price != nil {
				if p, ok := s.plans.ByPrice(it.Price.ID); ok {
					plan = p.Name
					break
				}
			}
		}
	}
	if plan == "" {
		if p, ok := s.plans.ByName(sub.Metadata["plan"]); ok {
			plan = p.Name
		}
	}
	if plan == "" {
		plan = r.plan
	}
	var periodEnd *time.Time
	if sub.CurrentPeriodEnd > 0 {
		t := time.Unix(sub.CurrentPeriodEnd, 0).UTC()
		periodEnd = &t
	}
	_, err = tx.Exec(ctx, `UPDATE platform.workspace_billing SET subscription_id = $2, subscription_status = $3, plan = $4,
		current_period_end = coalesce($5, current_period_end), state_at = greatest(state_at, $6), updated_at = now(),
		stripe_customer_id = coalesce(stripe_customer_id, nullif($7, ''))
		WHERE workspace_id = $1`, ws, sub.ID, status, plan, periodEnd, at, customer)
	return ws, err
}

func live(status string) bool {
	switch status {
	case "active", "trialing", "past_due", "unpaid", "incomplete":
		return true
	}
	return false
}

func (s *Service) onInvoice(ctx context.Context, tx pgx.Tx, ev *stripe.Event, inv *stripe.Invoice, at time.Time) (uuid.UUID, error) {
	customer := idOf(inv.Customer)
	ws, err := s.workspaceOf(ctx, tx, customer, "")
	if err != nil || ws == uuid.Nil {
		return uuid.Nil, orIgnore(err, s.ignore(ev, "unknown customer", fmt.Errorf("customer %q", customer)))
	}
	r, err := s.lockRow(ctx, tx, ws)
	if err != nil {
		return uuid.Nil, err
	}
	if sub := idOf(inv.Subscription); sub != "" && r.subscription != "" && sub != r.subscription {
		return ws, nil // an invoice of another (older) subscription
	}
	if ev.Type == "invoice.paid" {
		_, err = tx.Exec(ctx, `UPDATE platform.workspace_billing SET payment_failed_at = NULL, grace_until = NULL,
			last_paid_at = greatest(last_paid_at, $2),
			subscription_status = CASE WHEN subscription_status IN ('past_due', 'unpaid', 'incomplete') THEN 'active' ELSE subscription_status END,
			updated_at = now() WHERE workspace_id = $1`, ws, at)
		return ws, err
	}
	if r.lastPaid != nil && !at.After(*r.lastPaid) {
		return ws, nil // paid since
	}
	_, err = tx.Exec(ctx, `UPDATE platform.workspace_billing SET payment_failed_at = coalesce(payment_failed_at, $2),
		grace_until = coalesce(grace_until, $3), updated_at = now() WHERE workspace_id = $1`, ws, at, at.Add(s.grace))
	return ws, err
}

func orIgnore(err, ignored error) error {
	if err != nil {
		return err
	}
	return ignored
}
