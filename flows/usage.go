package flows

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant"
)

// UsageMeter counts monthly active users and enforces the registration
// cap of the project's plan (billing.Service implements it).
type UsageMeter interface {
	// RecordActive counts the identity as active this month, in tx.
	RecordActive(ctx context.Context, tx tenant.Tx, identityID uuid.UUID, at time.Time) error
	// AllowRegistration returns the error to show when the project's
	// workspace may register no more users this month.
	AllowRegistration(ctx context.Context, p *tenant.Project) error
}

// AllowRegistration refuses a registration past the plan's MAU cap (a
// 403 in the Kratos envelope that says which limit and how to lift it).
func (d *Deps) AllowRegistration(e *Env) error {
	if d.Usage == nil {
		return nil
	}
	return d.Usage.AllowRegistration(e.Ctx(), e.Project)
}

// recordActive counts identityID as a monthly active user of the flow's
// project, in the flow's transaction.
func (d *Deps) recordActive(ctx context.Context, tx tenant.Tx, identityID uuid.UUID) error {
	if d.Usage == nil {
		return nil
	}
	return d.Usage.RecordActive(ctx, tx, identityID, d.Now())
}
