package verification

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/tenant"
)

// RequireVerifiedAddress is the require_verified_address login hook
// (Kratos v1.3.1): it returns a *flows.ValidationError carrying 4000010
// ("Account not active yet. Did you forget to verify your email
// address?"), answered as a 400 flow, unless the identity has at least one
// verified address. An identity without any verifiable address is refused
// the same way. Call it in the login's transaction, after the strategy
// authenticated the identity and before a session is issued.
func RequireVerifiedAddress(ctx context.Context, tx tenant.Tx, identityID uuid.UUID) error {
	var verified bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity_verifiable_addresses WHERE identity_id = $1 AND verified)`,
		identityID).Scan(&verified); err != nil {
		return fmt.Errorf("verification.RequireVerifiedAddress: %w", err)
	}
	if !verified {
		return flows.NewValidationError(flows.Message(flows.ErrValidationAddressNotVerified))
	}
	return nil
}
