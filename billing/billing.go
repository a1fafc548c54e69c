// Package billing is Lanyard's billing: plans from the configuration,
// Stripe customers, Checkout and customer portal sessions, the signed
// Stripe webhook, monthly active users (MAU) and their reporting to Stripe
// as meter events, and the quotas that plans set.
//
// Billing is per workspace. Without a Stripe secret key billing is off:
// every workspace is on the configured default plan and nothing calls
// Stripe. Billing state lives in the platform tables of migration
// 0004_billing (workspace_billing, stripe_events, usage_mau, usage_reports).
package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/billing/meterevent"
	billingportalsession "github.com/stripe/stripe-go/v76/billingportal/session"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
)

// Options configures a Service.
type Options struct {
	Config config.Config
	// Pool is the platform database.
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// HTTPClient reaches Stripe (default: 30 s timeout).
	HTTPClient *http.Client
	// Clock is the time source (tests); time.Now when nil.
	Clock func() time.Time
}

// Service is billing. Its methods are safe for concurrent use.
type Service struct {
	plans      *Plans
	pool       *pgxpool.Pool
	sc         *stripeClients // nil when billing is off
	secret     string         // webhook endpoint secret
	meterEvent string
	grace      time.Duration
	mauGrace   int
	log        *slog.Logger
	clock      func() time.Time
}

// New builds the billing service from the configuration. It calls nothing.
func New(o Options) (*Service, error) {
	plans, err := NewPlans(o.Config)
	if err != nil {
		return nil, err
	}
	s := &Service{plans: plans, pool: o.Pool, secret: o.Config.StripeWebhookSecret, meterEvent: o.Config.StripeMeterEvent,
		grace: o.Config.BillingGracePeriod, mauGrace: o.Config.BillingMAUGracePercent, log: o.Logger, clock: o.Clock}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.meterEvent == "" {
		s.meterEvent = "lanyard_mau"
	}
	if key := o.Config.StripeSecretKey; key != "" {
		hc := o.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		bc := &stripe.BackendConfig{HTTPClient: hc, LeveledLogger: stripeLogger{s.log}}
		if o.Config.StripeAPIBase != "" {
			bc.URL = stripe.String(o.Config.StripeAPIBase)
		}
		b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
		s.sc = &stripeClients{
			Customers:             &customer.Client{B: b, Key: key},
			CheckoutSessions:      &checkoutsession.Client{B: b, Key: key},
			BillingPortalSessions: &billingportalsession.Client{B: b, Key: key},
			BillingMeterEvents:    &meterevent.Client{B: b, Key: key},
		}
	}
	return s, nil
}

// Enabled reports whether billing is on (a Stripe key is configured).
func (s *Service) Enabled() bool { return s.sc != nil }

// Plans returns the configured plans.
func (s *Service) Plans() *Plans { return s.plans }

func (s *Service) now() time.Time { return s.clock().UTC() }

// Now is the service's time (UTC): what "this month" means to it.
func (s *Service) Now() time.Time { return s.now() }

// Errors.
var (
	// ErrDisabled: a Stripe operation while billing is off.
	ErrDisabled = errx.New(errx.Invalid, "Billing is disabled on this installation: every workspace is on the default plan.").WithID("billing_disabled")
	// ErrStripeUnavailable: Stripe could not be reached or refused the call.
	ErrStripeUnavailable = errx.New(errx.BadGateway, "The payment provider could not be reached; nothing was changed, please try again.").WithID("billing_provider_unavailable")
)

// Status is a workspace's billing state.
type Status struct {
	WorkspaceID uuid.UUID `json:"workspace_id"`
	// Plan is the plan in force now.
	Plan Plan `json:"-"`
	// SubscriptionStatus is Stripe's status of the subscription ('' when none).
	SubscriptionStatus string     `json:"subscription_status"`
	CustomerID         string     `json:"-"`
	SubscriptionID     string     `json:"-"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end,omitempty"`
	// GraceUntil is set while a failed payment is being retried: the paid
	// plan holds until then.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
}

type row struct {
	customer, subscription, status, plan, manual string
	periodEnd, failedAt, graceUntil, stateAt     *time.Time
	lastPaid                                     *time.Time
}

func (s *Service) loadRow(ctx context.Context, q querier, ws uuid.UUID, lock bool) (*row, error) {
	var r row
	var customer, sub *string
	sql := `SELECT stripe_customer_id, subscription_id, subscription_status, plan, manual_plan, current_period_end,
		payment_failed_at, grace_until, state_at, last_paid_at FROM platform.workspace_billing WHERE workspace_id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	err := q.QueryRow(ctx, sql, ws).Scan(&customer, &sub, &r.status, &r.plan, &r.manual, &r.periodEnd, &r.failedAt, &r.graceUntil, &r.stateAt, &r.lastPaid)
	if errors.Is(err, pgx.ErrNoRows) {
		return &row{}, nil
	}
	if err != nil {
		return nil, err
	}
	if customer != nil {
		r.customer = *customer
	}
	if sub != nil {
		r.subscription = *sub
	}
	return &r, nil
}

// planOf decides the plan in force from a row: an operator's plan first,
// then a live subscription (or one in its payment grace period), else the
// default plan. With billing off only an operator's plan counts.
func (s *Service) planOf(r *row, now time.Time) Plan {
	if r.manual != "" {
		if p, ok := s.plans.ByName(r.manual); ok {
			return p
		}
	}
	if s.Enabled() && r.plan != "" {
		p, ok := s.plans.ByName(r.plan)
		switch {
		case !ok:
		case r.status == "active" || r.status == "trialing":
			if r.graceUntil == nil || now.Before(*r.graceUntil) {
				return p
			}
		case r.status == "past_due" || r.status == "unpaid" || r.status == "incomplete":
			if r.graceUntil != nil && now.Before(*r.graceUntil) {
				return p
			}
		}
	}
	return s.plans.Default()
}

// Status returns the workspace's billing state and the plan in force.
func (s *Service) Status(ctx context.Context, ws uuid.UUID) (*Status, error) {
	r, err := s.loadRow(ctx, s.pool, ws, false)
	if err != nil {
		return nil, fmt.Errorf("billing.Status: %w", err)
	}
	return s.status(ws, r), nil
}

func (s *Service) status(ws uuid.UUID, r *row) *Status {
	st := &Status{WorkspaceID: ws, Plan: s.planOf(r, s.now()), SubscriptionStatus: r.status, CustomerID: r.customer,
		SubscriptionID: r.subscription, CurrentPeriodEnd: r.periodEnd}
	if r.graceUntil != nil && s.now().Before(*r.graceUntil) {
		st.GraceUntil = r.graceUntil
	}
	return st
}

// PlanOf returns the plan in force for the workspace.
func (s *Service) PlanOf(ctx context.Context, ws uuid.UUID) (Plan, error) {
	st, err := s.Status(ctx, ws)
	if err != nil {
		return Plan{}, err
	}
	return st.Plan, nil
}

// SetManualPlan puts a workspace on a plan by hand (enterprise contracts);
// an empty name removes the override.
func (s *Service) SetManualPlan(ctx context.Context, ws uuid.UUID, name string) error {
	if name != "" {
		if _, ok := s.plans.ByName(name); !ok {
			return errx.Newf(errx.Invalid, "There is no plan named %q.", name).WithID("billing_unknown_plan")
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO platform.workspace_billing (workspace_id, manual_plan) VALUES ($1, $2)
		ON CONFLICT (workspace_id) DO UPDATE SET manual_plan = excluded.manual_plan, updated_at = now()`, ws, name)
	if err != nil {
		return fmt.Errorf("billing.SetManualPlan: %w", err)
	}
	return nil
}

// stripeLogger sends stripe-go's log lines to slog (its errors at warn:
// the caller reports the failure itself).
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) {}
func (s stripeLogger) Infof(format string, v ...any)  {}
func (s stripeLogger) Warnf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}
func (s stripeLogger) Errorf(format string, v ...any) {
	s.l.Warn("stripe: " + fmt.Sprintf(format, v...))
}

// stripeClients are the Stripe APIs billing uses (one package each, not
// stripe-go's client.API, which links every Stripe resource).
type stripeClients struct {
	Customers             *customer.Client
	CheckoutSessions      *checkoutsession.Client
	BillingPortalSessions *billingportalsession.Client
	BillingMeterEvents    *meterevent.Client
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
