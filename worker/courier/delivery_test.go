package courier

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func verificationMessage(to string) Message {
	return Message{Recipient: to, TemplateType: TemplateVerificationCodeValid,
		Data: Data{VerificationCode: "482913", ExpiresInMinutes: 10, ProjectName: "Acme"}}
}

func TestRolledBackMessageIsNeverSent(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	startWorker(t, s)
	to := recipient(t)
	ctx := context.Background()
	var id uuid.UUID
	errRollback := errors.New("the flow step failed")
	err := tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) (err error) {
		if id, err = Enqueue(ctx, tx, verificationMessage(to)); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want the flow's error", err)
	}
	// A caller that relays anyway, and the sweep, find nothing to send.
	s.Relay(ctx, p, id)
	if st, err := s.Sweep(ctx); err != nil || st.Relayed != 0 {
		t.Fatalf("Sweep = %+v, %v; want nothing relayed", st, err)
	}
	if _, err := s.Message(ctx, p, id); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("Message after rollback: %v, want ErrMessageNotFound", err)
	}
	time.Sleep(700 * time.Millisecond)
	if got := inbox(t, to); len(got) != 0 {
		t.Fatalf("Mailpit holds %d messages for a rolled-back enqueue, want 0", len(got))
	}
	if n, marked := outboxRows(t, p); n != 0 || marked {
		t.Fatalf("outbox rows %d, marked %v after rollback; want none", n, marked)
	}
}

func TestCommittedMessageArrivesOnceDespiteRedelivery(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	s := newService(t, nil, p)
	to := recipient(t)
	ctx := context.Background()
	id, err := s.Send(ctx, p, verificationMessage(to)) // queued on the mail queue, no worker yet
	if err != nil {
		t.Fatal(err)
	}
	// The same task delivered five times at once, plus the queued one.
	b, _ := json.Marshal(payload{ProjectID: p.ID, MessageID: id})
	task := asynq.NewTask(TypeDeliver, b)
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.handleDeliver(ctx, task); err != nil {
				t.Errorf("handleDeliver: %v", err)
			}
		}()
	}
	wg.Wait()
	startWorker(t, s)
	m := waitStatus(t, s, p, id, StatusSent, 5*time.Second)
	time.Sleep(500 * time.Millisecond) // let the queued duplicate run
	got := waitInbox(t, to, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("Mailpit holds %d messages, want exactly 1", len(got))
	}
	if got, want := got[0].MessageID, id.String()+"@courier.lanyard"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	m = messageOf(t, s, p, id)
	if m.SendCount != 1 || len(m.Dispatches) != 1 || m.Dispatches[0].Status != "success" {
		t.Fatalf("send_count %d, dispatches %+v; want one successful attempt", m.SendCount, m.Dispatches)
	}
	if m.Subject != "Your verification code" || !strings.Contains(m.Body, "482913") {
		t.Errorf("stored subject %q / body %q do not hold the rendered verification mail", m.Subject, m.Body)
	}
	text, html := mailText(t, got[0].ID)
	if !strings.Contains(text, "482913") || !strings.Contains(html, "482913") || !strings.Contains(html, "Acme") {
		t.Errorf("delivered mail lacks the code in text or html:\n%s\n%s", text, html)
	}
	// Codes are not kept in the template data.
	if strings.Contains(string(m.Data), "482913") {
		t.Errorf("template_data keeps the code: %s", m.Data)
	}
	if n, _ := outboxRows(t, p); n != 0 {
		t.Errorf("%d outbox rows left after the send, want 0", n)
	}
}

func TestSweepDeliversWhatRedisMissed(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	to := recipient(t)
	// Redis is unreachable when the flow commits.
	down := newService(t, func(o *Options) {
		o.Client = asynq.NewClient(asynq.RedisClientOpt{Addr: closedPort(t), DialTimeout: 200 * time.Millisecond})
	}, p)
	id, err := down.Send(ctx, p, verificationMessage(to))
	if err != nil {
		t.Fatalf("Send with Redis down = %v; the flow must not fail", err)
	}
	if n, marked := outboxRows(t, p); n != 1 || !marked {
		t.Fatalf("outbox rows %d, marked %v; want the message waiting in the outbox", n, marked)
	}
	if st, err := down.Sweep(ctx); err == nil || st.Relayed != 0 {
		t.Fatalf("Sweep with Redis down = %+v, %v; want an error and nothing relayed", st, err)
	}
	// Redis is back: the next sweep hands it over and a worker sends it.
	up := newService(t, nil, p)
	startWorker(t, up)
	st, err := up.Sweep(ctx)
	if err != nil || st.Relayed != 1 {
		t.Fatalf("Sweep = %+v, %v; want one message relayed", st, err)
	}
	waitStatus(t, up, p, id, StatusSent, 5*time.Second)
	if got := waitInbox(t, to, 1, 5*time.Second); len(got) != 1 {
		t.Fatalf("Mailpit holds %d messages, want 1", len(got))
	}
	// The relayed row was not due again for a lease, so the project is
	// not visited now; once that passes, a sweep finds the outbox empty
	// and unmarks the project, and the next one does not visit it.
	if st, err := up.Sweep(ctx); err != nil || st.Projects != 0 {
		t.Fatalf("Sweep = %+v, %v; want no project visited before the lease ends", st, err)
	}
	if _, err := tenanttest.Get(t).Pool.Exec(ctx, `UPDATE platform.outbox_due SET due_at = now() - interval '1 hour' WHERE project_id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := up.Sweep(ctx); err != nil || st.Cleared != 1 {
		t.Fatalf("Sweep = %+v, %v; want the idle project cleared", st, err)
	}
	if st, err := up.Sweep(ctx); err != nil || st.Projects != 0 {
		t.Fatalf("Sweep = %+v, %v; want no project visited", st, err)
	}
	if n, marked := outboxRows(t, p); n != 0 || marked {
		t.Fatalf("outbox rows %d, marked %v; want none", n, marked)
	}
}

func TestSMTPFailureRetriesThenAbandons(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	dead := closedPort(t)
	s := newService(t, func(o *Options) { o.SMTPURL = "smtp://" + dead; o.MaxAttempts = 3 }, p)
	startWorker(t, s)
	ctx := context.Background()
	id, err := s.Send(ctx, p, verificationMessage(recipient(t)))
	if err != nil {
		t.Fatal(err)
	}
	m := waitStatus(t, s, p, id, StatusAbandoned, 10*time.Second)
	if m.SendCount != 3 || len(m.Dispatches) != 3 {
		t.Fatalf("send_count %d, %d dispatches; want 3 of each", m.SendCount, len(m.Dispatches))
	}
	for _, d := range m.Dispatches {
		var e dispatchError
		if err := json.Unmarshal(d.Error, &e); err != nil || d.Status != "failed" || !strings.Contains(e.Message, "refused") {
			t.Errorf("dispatch %+v (error %s): want failed with the connection error", d, d.Error)
		}
	}
	if n, _ := outboxRows(t, p); n != 0 {
		t.Errorf("%d outbox rows left for an abandoned message, want 0", n)
	}
	// A redelivered task does not resurrect it.
	b, _ := json.Marshal(payload{ProjectID: p.ID, MessageID: id})
	if err := s.handleDeliver(ctx, asynq.NewTask(TypeDeliver, b)); err != nil {
		t.Fatal(err)
	}
	if m := messageOf(t, s, p, id); m.Status != StatusAbandoned || m.SendCount != 3 {
		t.Fatalf("after redelivery: status %s, send_count %d", m.Status, m.SendCount)
	}
}

func TestRetryLostWithRedisIsSweptAndSent(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	to := recipient(t)
	// The first attempt fails (project SMTP on a dead port) and its retry
	// task cannot be queued (Redis down).
	down := newService(t, func(o *Options) {
		o.Client = asynq.NewClient(asynq.RedisClientOpt{Addr: closedPort(t), DialTimeout: 200 * time.Millisecond})
	}, p)
	host, port := splitHostPort(t, closedPort(t))
	if err := down.SaveSMTPSettings(ctx, p, SMTPSettings{Host: host, Port: port, Security: SecurityNone}); err != nil {
		t.Fatal(err)
	}
	id, err := down.Send(ctx, p, verificationMessage(to))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(payload{ProjectID: p.ID, MessageID: id})
	if err := down.handleDeliver(ctx, asynq.NewTask(TypeDeliver, b)); err != nil {
		t.Fatal(err)
	}
	if m := messageOf(t, down, p, id); m.Status != StatusQueued || m.SendCount != 1 {
		t.Fatalf("after a failed attempt: status %s, send_count %d; want queued, 1", m.Status, m.SendCount)
	}
	// The project fixes its settings; Redis is back; the sweep finds the retry.
	if err := down.DeleteSMTPSettings(ctx, p); err != nil {
		t.Fatal(err)
	}
	up := newService(t, nil, p)
	startWorker(t, up)
	time.Sleep(120 * time.Millisecond) // past the retry's due time
	if st, err := up.Sweep(ctx); err != nil || st.Relayed != 1 {
		t.Fatalf("Sweep = %+v, %v; want the retry relayed", st, err)
	}
	m := waitStatus(t, up, p, id, StatusSent, 5*time.Second)
	if m.SendCount != 2 || len(m.Dispatches) != 2 || m.Dispatches[0].Status != "failed" || m.Dispatches[1].Status != "success" {
		t.Fatalf("send_count %d, dispatches %+v; want failed then success", m.SendCount, m.Dispatches)
	}
	if got := waitInbox(t, to, 1, 5*time.Second); len(got) != 1 {
		t.Fatalf("Mailpit holds %d messages, want 1", len(got))
	}
}

func TestEnqueueRefusesBadMessages(t *testing.T) {
	t.Parallel()
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	for name, m := range map[string]Message{
		"no recipient": {TemplateType: TemplateGeneric},
		"not an email": {Recipient: "not-an-address", Subject: "x", Body: "y"},
		"unknown type": {Recipient: "a@example.com", TemplateType: "welcome_bonus"},
		"unknown kind": {Type: "pigeon", Recipient: "a@example.com"},
	} {
		err := tenanttest.Get(t).DB.InTx(ctx, p, func(tx tenant.Tx) error {
			_, err := Enqueue(ctx, tx, m)
			return err
		})
		if err == nil {
			t.Errorf("%s: Enqueue accepted %+v", name, m)
		}
	}
	if _, err := Enqueue(ctx, tenant.Tx{}, verificationMessage("a@example.com")); !errors.Is(err, tenant.ErrNoProject) {
		t.Errorf("Enqueue without a project = %v, want ErrNoProject", err)
	}
}

func TestBackoffDoublesUpToTheMax(t *testing.T) {
	t.Parallel()
	s := &Service{o: Options{RetryBase: 10 * time.Second, RetryMax: time.Minute}}
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: time.Minute, 30: time.Minute} {
		if got := s.backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
}
