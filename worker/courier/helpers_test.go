package courier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

// mailpitAPI is the test Mailpit's REST API (LANYARD_TEST_MAILPIT_API).
func mailpitAPI() string {
	if v := os.Getenv("LANYARD_TEST_MAILPIT_API"); v != "" {
		return v
	}
	return "http://127.0.0.1:8025"
}

// testSMTPURL is the test Mailpit's SMTP server (LANYARD_TEST_SMTP_URL).
func testSMTPURL() string {
	if v := os.Getenv("LANYARD_TEST_SMTP_URL"); v != "" {
		return v
	}
	return "smtp://127.0.0.1:1025"
}

// recipient is an address no other test uses.
func recipient(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	return fmt.Sprintf("%s-%s@courier.test", name[:min(len(name), 40)], hex.EncodeToString(b))
}

type mailpitMessage struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	Snippet   string `json:"Snippet"`
}

// inbox returns the messages Mailpit holds for address.
func inbox(t testing.TB, address string) []mailpitMessage {
	t.Helper()
	u := mailpitAPI() + "/api/v1/search?limit=200&query=" + url.QueryEscape("to:"+address)
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("mailpit: %v (is Mailpit running on %s?)", err, mailpitAPI())
	}
	defer resp.Body.Close()
	var out struct {
		Messages []mailpitMessage `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	return out.Messages
}

// mailText returns the text body of a Mailpit message.
func mailText(t testing.TB, id string) (text, html string) {
	t.Helper()
	resp, err := http.Get(mailpitAPI() + "/api/v1/message/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Text, HTML string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.Text, m.HTML
}

// waitInbox waits until Mailpit holds at least n messages for address
// and returns them.
func waitInbox(t testing.TB, address string, n int, within time.Duration) []mailpitMessage {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := inbox(t, address)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newService returns a Service over this run's database whose queues are
// the test's own, so that its worker sees only its tasks, and whose sweep
// visits only the given projects.
func newService(t testing.TB, edit func(*Options), projects ...*tenant.Project) *Service {
	t.Helper()
	env := tenanttest.Get(t)
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { _ = client.Close() })
	q := env.Namespace + "courier:" + t.Name() + ":" + uuid.NewString()[:8] + ":"
	o := Options{
		DB: env.DB, Registry: env.Registry, Client: client,
		MailQueue: q + "mail", MaintenanceQueue: q + "maintenance",
		SMTPURL: testSMTPURL(), MailFrom: "Lanyard Test <no-reply@lanyard.test>", Secrets: env.Config.SecretKeys(),
		AllowPrivateSMTP: true, RetryBase: 50 * time.Millisecond, RelayGrace: time.Nanosecond,
		SendTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		s.sweepOnly = append(s.sweepOnly, p.ID)
	}
	return s
}

// startWorker runs an asynq server on the service's queues until the test ends.
func startWorker(t testing.TB, s *Service) {
	t.Helper()
	env := tenanttest.Get(t)
	ropt, err := asynq.ParseRedisURI(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	srv := asynq.NewServer(ropt, asynq.Config{
		Concurrency: 8, Queues: map[string]int{s.o.MailQueue: 3, s.o.MaintenanceQueue: 1},
		LogLevel: asynq.ErrorLevel, ShutdownTimeout: 3 * time.Second,
		// Delayed retries become due within 50 ms instead of 5 s.
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		// An idle worker looks for new tasks every 100 ms (asynq's default: 1 s).
		TaskCheckInterval: 100 * time.Millisecond,
		// Tasks the handler fails (database errors) are retried fast in tests.
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond },
	})
	mux := asynq.NewServeMux()
	Register(mux, s)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

// messageOf reads a message as the admin API would.
func messageOf(t testing.TB, s *Service, p *tenant.Project, id uuid.UUID) *Stored {
	t.Helper()
	m, err := s.Message(context.Background(), p, id)
	if err != nil {
		t.Fatalf("Message(%s): %v", id, err)
	}
	return m
}

// waitStatus waits until the message reaches status.
func waitStatus(t testing.TB, s *Service, p *tenant.Project, id uuid.UUID, status string, within time.Duration) *Stored {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := messageOf(t, s, p, id)
		if m.Status == status {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: status %q after %s, want %q (send_count %d, dispatches %+v)", id, m.Status, within, status, m.SendCount, m.Dispatches)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// outboxRows counts the project's outbox rows and whether the platform
// index marks the project.
func outboxRows(t testing.TB, p *tenant.Project) (rows int, marked bool) {
	t.Helper()
	env := tenanttest.Get(t)
	ctx := context.Background()
	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&rows); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM platform.outbox_due WHERE project_id = $1)`, p.ID).Scan(&marked)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, marked
}

func splitHostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(p, &n); err != nil {
		t.Fatal(err)
	}
	return h, n
}
