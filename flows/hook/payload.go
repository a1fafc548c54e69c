package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/tenant"
)

// webhookBody is the request body of w for pl: the event as JSON, or what
// the hook's payload function returns for it. A payload function that
// fails is recorded in the delivery log as a failed delivery of mode (with
// the event as its payload, the error and the console output) and
// returned as an error.
func (s *Service) webhookBody(ctx context.Context, p *tenant.Project, ev Event, w *WebhookConfig, pl *payload, mode string) (json.RawMessage, error) {
	body, err := json.Marshal(pl)
	if err != nil || w.PayloadScript == "" {
		return body, err
	}
	// Keyed by content: the compiled function is shared by every version
	// of the configuration that keeps it.
	sum := sha256.Sum256([]byte(w.PayloadScript))
	shaped, logs, err := s.engine.Shape(ctx, RunParams{Key: p.ID.String() + "/payload/" + hex.EncodeToString(sum[:16]),
		Script: w.PayloadScript, Event: body, Timeout: DefaultActionTimeoutMS * time.Millisecond})
	if err == nil {
		return shaped, nil
	}
	err = fmt.Errorf("payload_script: %w", err)
	id, _ := uuid.NewV7()
	s.record(ctx, p, &Delivery{ID: id, HookID: w.ID, HookType: NameWebHook, Flow: ev.Flow, Point: ev.Point, Mode: mode,
		Status: StatusFailed, URL: w.URL, Payload: body, Attempts: 1, MaxAttempts: 1, LastError: err.Error()},
		&Attempt{Attempt: 1, Error: err.Error(), Logs: logs})
	return nil, err
}
