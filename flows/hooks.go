package flows

import (
	"context"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/tenant"
)

// Hook points.
const (
	HookBefore = "before"
	HookAfter  = "after"
)

// HookStep is one point of a flow where the project's hooks run.
type HookStep struct {
	Kind   Kind
	Point  string // HookBefore or HookAfter
	Method string
	Flow   *Flow
	// IdentityID is the identity the step is about (after registration,
	// login and settings).
	IdentityID *uuid.UUID
	Session    *session.Session
}

// HookResult is what the hooks of a step left for the flow to do.
type HookResult struct {
	// Apply writes the hooks' identity changes in the flow's transaction;
	// call it after the flow's own identity write.
	Apply func(ctx context.Context, tx tenant.Tx) error
	// After hands asynchronous deliveries to the queue; call it after the
	// flow's transaction committed.
	After func()
	// NoSession is set after registration when the project removed the
	// session hook: the new identity gets no session.
	NoSession bool
	// ChangesIdentity is set when Apply changes the identity: an identity
	// read before it is out of date.
	ChangesIdentity bool
}

// HookRunner runs a project's webhooks and JavaScript actions at a step,
// in the flow's transaction (flows/hook implements it). A hook that stops
// the flow returns a *ValidationError (after) or an errx error.
type HookRunner interface {
	RunStep(ctx context.Context, tx tenant.Tx, e *Env, s HookStep) (*HookResult, error)
}

// RunHooks runs the hooks of a step; with no runner it does nothing. The
// result's functions are never nil.
func (d *Deps) RunHooks(ctx context.Context, tx tenant.Tx, e *Env, s HookStep) (*HookResult, error) {
	none := &HookResult{Apply: func(context.Context, tenant.Tx) error { return nil }, After: func() {}}
	if d.Hooks == nil {
		return none, nil
	}
	r, err := d.Hooks.RunStep(ctx, tx, e, s)
	if err != nil || r == nil {
		return none, err
	}
	if r.Apply == nil {
		r.Apply = none.Apply
	}
	if r.After == nil {
		r.After = none.After
	}
	return r, nil
}
