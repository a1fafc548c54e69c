package courier

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestSendLimitDelaysWithAVisibleDispatchNotADrop(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	other := tenanttest.NewProject(t).Project
	lim := ratelimit.New(env.Redis, env.Namespace+"courier-limits:"+uuid.NewString()[:8]+":")
	s := newService(t, func(o *Options) { o.Limiter = lim }, p, other)
	startWorker(t, s)
	ctx := context.Background()
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return SaveSendLimits(ctx, tx, SendLimits{PerRecipientPerHour: 2})
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return SaveSendLimits(ctx, tx, SendLimits{PerRecipientPerHour: -1})
	}); err == nil {
		t.Fatal("a negative limit was saved")
	}
	to := recipient(t)
	var ids []uuid.UUID
	for range 2 {
		id, err := s.Send(ctx, p, verificationMessage(to))
		if err != nil {
			t.Fatal(err)
		}
		waitStatus(t, s, p, id, StatusSent, 10*time.Second)
		ids = append(ids, id)
	}
	third, err := s.Send(ctx, p, verificationMessage(to))
	if err != nil {
		t.Fatal(err)
	}
	// The third is held back: queued, its attempt not counted, and the
	// delay is in the courier log.
	deadline := time.Now().Add(10 * time.Second)
	var m *Stored
	for {
		m = messageOf(t, s, p, third)
		if len(m.Dispatches) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m.Status != StatusQueued || m.SendCount != 0 || len(m.Dispatches) != 1 {
		t.Fatalf("third message: status %s, send_count %d, %d dispatches; want queued, 0, 1", m.Status, m.SendCount, len(m.Dispatches))
	}
	var e dispatchError
	if err := json.Unmarshal(m.Dispatches[0].Error, &e); err != nil || m.Dispatches[0].Status != "failed" ||
		!strings.Contains(e.Message, "limit of 2 mails per hour to this recipient") {
		t.Fatalf("dispatch = %+v (%s)", m.Dispatches[0], m.Dispatches[0].Error)
	}
	// It stays in the outbox, due when the limit allows (about 30 minutes
	// for 2 per hour), so it is sent then rather than lost.
	var due time.Time
	if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT due_at FROM outbox WHERE ref_id = $1`, third).Scan(&due)
	}); err != nil {
		t.Fatalf("outbox row of the delayed message: %v", err)
	}
	if w := time.Until(due); w < 20*time.Minute || w > 31*time.Minute {
		t.Fatalf("delayed message due in %s, want about 30m", w)
	}
	if got := len(inbox(t, to)); got != 2 {
		t.Fatalf("Mailpit holds %d mails, want 2", got)
	}
	// Another project's limit (the default) is its own.
	id, err := s.Send(ctx, other, verificationMessage(to))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, other, id, StatusSent, 10*time.Second)
}
