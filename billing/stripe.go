package billing

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// stripeErr turns a failed Stripe call into ErrStripeUnavailable (the
// cause goes to the log, not to the client).
func stripeErr(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != 429 {
		return errx.Newf(errx.Invalid, "The payment provider refused the request: %s", se.Msg).WithID("billing_provider_refused").Wrap(fmt.Errorf("%s: %w", op, err))
	}
	return ErrStripeUnavailable.Wrap(fmt.Errorf("%s: %w", op, err))
}

// Customer returns the workspace's Stripe customer id, creating the
// customer on first use. The creation carries an idempotency key derived
// from the workspace, so that a retry after a lost answer finds the same
// customer; if Stripe cannot be reached nothing is stored.
func (s *Service) Customer(ctx context.Context, ws uuid.UUID, email, name string) (string, error) {
	if !s.Enabled() {
		return "", ErrDisabled
	}
	var id string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO platform.workspace_billing (workspace_id) VALUES ($1) ON CONFLICT DO NOTHING`, ws); err != nil {
			if isForeignKey(err) {
				return errx.New(errx.NotFound, "The workspace does not exist.").Wrap(err)
			}
			return err
		}
		r, err := s.loadRow(ctx, tx, ws, true)
		if err != nil {
			return err
		}
		if r.customer != "" {
			id = r.customer
			return nil
		}
		p := &stripe.CustomerParams{Metadata: map[string]string{"workspace_id": ws.String()}}
		if email != "" {
			p.Email = stripe.String(email)
		}
		if name != "" {
			p.Name = stripe.String(name)
		}
		p.SetIdempotencyKey("lanyard-customer-" + ws.String())
		p.Context = ctx
		c, err := s.sc.Customers.New(p)
		if err != nil {
			return stripeErr("create customer", err)
		}
		id = c.ID
		_, err = tx.Exec(ctx, `UPDATE platform.workspace_billing SET stripe_customer_id = $2, updated_at = now() WHERE workspace_id = $1`, ws, id)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("billing.Customer: %w", err)
	}
	return id, nil
}

// CheckoutParams starts an upgrade.
type CheckoutParams struct {
	WorkspaceID uuid.UUID
	Plan        string
	// Email and Name describe the customer if it must be created.
	Email, Name string
	// SuccessURL and CancelURL are where Stripe sends the browser back.
	SuccessURL, CancelURL string
}

// Checkout creates a Stripe Checkout session (subscription mode) for the
// plan and returns its URL. The plan must be sold through Checkout.
func (s *Service) Checkout(ctx context.Context, cp CheckoutParams) (string, error) {
	if !s.Enabled() {
		return "", ErrDisabled
	}
	plan, ok := s.plans.ByName(cp.Plan)
	if !ok {
		return "", errx.Newf(errx.Invalid, "There is no plan named %q.", cp.Plan).WithID("billing_unknown_plan")
	}
	if plan.StripePriceID == "" {
		return "", errx.Newf(errx.Invalid, "The %s plan cannot be bought online; contact sales.", plan.Title).WithID("billing_plan_not_for_sale")
	}
	for _, u := range []string{cp.SuccessURL, cp.CancelURL} {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return "", errx.New(errx.Invalid, "The success and cancel URLs must be absolute http(s) URLs.").WithID("billing_bad_return_url")
		}
	}
	customer, err := s.Customer(ctx, cp.WorkspaceID, cp.Email, cp.Name)
	if err != nil {
		return "", err
	}
	items := []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(plan.StripePriceID), Quantity: stripe.Int64(1)}}
	if plan.StripeMeteredPriceID != "" {
		items = append(items, &stripe.CheckoutSessionLineItemParams{Price: stripe.String(plan.StripeMeteredPriceID)})
	}
	meta := map[string]string{"workspace_id": cp.WorkspaceID.String(), "plan": plan.Name}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(customer),
		ClientReferenceID: stripe.String(cp.WorkspaceID.String()),
		LineItems:         items,
		SuccessURL:        stripe.String(cp.SuccessURL),
		CancelURL:         stripe.String(cp.CancelURL),
		Metadata:          meta,
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
	}
	p.Context = ctx
	sess, err := s.sc.CheckoutSessions.New(p)
	if err != nil {
		return "", fmt.Errorf("billing.Checkout: %w", stripeErr("create checkout session", err))
	}
	return sess.URL, nil
}

// Portal creates a Stripe customer portal session (payment methods,
// invoices, cancellation) and returns its URL.
func (s *Service) Portal(ctx context.Context, ws uuid.UUID, returnURL string) (string, error) {
	if !s.Enabled() {
		return "", ErrDisabled
	}
	if pu, err := url.Parse(returnURL); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return "", errx.New(errx.Invalid, "The return URL must be an absolute http(s) URL.").WithID("billing_bad_return_url")
	}
	st, err := s.Status(ctx, ws)
	if err != nil {
		return "", err
	}
	if st.CustomerID == "" {
		return "", errx.New(errx.Invalid, "This workspace has no billing account yet: upgrade first.").WithID("billing_no_customer")
	}
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(st.CustomerID), ReturnURL: stripe.String(returnURL)}
	p.Context = ctx
	ps, err := s.sc.BillingPortalSessions.New(p)
	if err != nil {
		return "", fmt.Errorf("billing.Portal: %w", stripeErr("create portal session", err))
	}
	return ps.URL, nil
}
