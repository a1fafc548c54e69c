package hook

import (
	"context"
	"errors"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

var _ flows.HookRunner = (*Service)(nil)

// RunStep implements flows.HookRunner: it runs the step's hooks (Run) and
// returns the changes to apply and the post-commit hand-off. A denial in a
// before hook, where there is no form yet, is an errx.Forbidden carrying
// the hook's message.
func (s *Service) RunStep(ctx context.Context, tx tenant.Tx, e *flows.Env, st flows.HookStep) (*flows.HookResult, error) {
	ev := Event{Flow: string(st.Kind), Point: st.Point, Method: st.Method, IdentityID: st.IdentityID, BaseURL: e.BaseURL}
	if e.C != nil {
		ev.HTTP = e.C.Request
	}
	if st.Flow != nil {
		ev.FlowID, ev.FlowType = st.Flow.ID, string(st.Flow.Type)
	}
	if st.Session != nil {
		ev.Session = st.Session
		if ev.IdentityID == nil {
			id := st.Session.IdentityID
			ev.IdentityID = &id
		}
	}
	out, err := s.Run(ctx, tx, ev)
	if err != nil {
		var ve *flows.ValidationError
		if st.Point == flows.HookBefore && errors.As(err, &ve) {
			return nil, errx.New(errx.Forbidden, ve.Error()).WithID("self_service_flow_rejected")
		}
		return nil, err
	}
	res := &flows.HookResult{After: out.AfterCommit, NoSession: out.NoSession}
	if out.Changes != nil && ev.IdentityID != nil {
		id := *ev.IdentityID
		res.ChangesIdentity = true
		res.Apply = func(ctx context.Context, tx tenant.Tx) error {
			err := s.ApplyChanges(ctx, tx, id, out.Changes)
			if errx.Has(err, errx.Invalid) {
				return flows.NewValidationError(flows.Generic("A hook changed the identity in a way its schema refuses: " + err.Error()))
			}
			return err
		}
	}
	return res, nil
}
