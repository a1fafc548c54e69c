package verification_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// The fault test's worker runs in a child process (this test binary
// re-executed with faultWorkerEnv set) so that it can be killed for real.
const faultWorkerEnv = "LANYARD_TEST_FAULT_WORKER"

// Short timings of the fault test: a claim held by a dead worker is taken
// over after faultLease; the sweep relays rows late by more than a second.
const faultLease = 2 * time.Second

func faultCourier(db *tenant.DB, reg *tenant.Registry, client *asynq.Client, cfg config.Config) (*courier.Service, error) {
	return courier.New(courier.Options{
		DB: db, Registry: reg, Client: client,
		MailQueue: cfg.RedisNamespace + "mail", MaintenanceQueue: cfg.RedisNamespace + "maintenance",
		SMTPURL: cfg.SMTPURL, MailFrom: cfg.MailFrom, Secrets: cfg.SecretKeys(), AllowPrivateSMTP: true,
		RetryBase: 100 * time.Millisecond, RelayGrace: time.Second, Lease: faultLease, SendTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
}

// runFaultWorker is the child process: an asynq server delivering mail
// from the given Redis, over the parent's database, until it is killed.
func runFaultWorker() {
	ctx := context.Background()
	cfg := config.Default()
	cfg.RedisNamespace = os.Getenv("LANYARD_TEST_FAULT_NS")
	cfg.Secrets = []string{os.Getenv("LANYARD_TEST_FAULT_SECRET")}
	cfg.SMTPURL = os.Getenv("LANYARD_TEST_FAULT_SMTP")
	pool, err := pgxpool.New(ctx, os.Getenv("LANYARD_TEST_FAULT_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault worker:", err)
		os.Exit(2)
	}
	db := tenant.NewDB(pool)
	reg := tenant.NewRegistry(db, tenant.RegistryOptions{})
	ropt, _ := asynq.ParseRedisURI(os.Getenv("LANYARD_TEST_FAULT_REDIS"))
	client := asynq.NewClient(ropt)
	s, err := faultCourier(db, reg, client, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault worker:", err)
		os.Exit(2)
	}
	srv := asynq.NewServer(ropt, asynq.Config{Concurrency: 4, Queues: map[string]int{cfg.RedisNamespace + "mail": 1},
		LogLevel: asynq.FatalLevel, DelayedTaskCheckInterval: 50 * time.Millisecond, TaskCheckInterval: 50 * time.Millisecond})
	mux := asynq.NewServeMux()
	courier.Register(mux, s)
	if err := srv.Start(mux); err != nil {
		fmt.Fprintln(os.Stderr, "fault worker:", err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Shutdown()
	os.Exit(0)
}

// redisProc is a private Redis server that the test can stop and start.
type redisProc struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *redisProc) start() {
	r.t.Helper()
	// No persistence: a restarted Redis has lost every queued task, the
	// worst case for the queue.
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err == nil {
			c.Close()
			return
		}
		if i > 100 {
			r.t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProc) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *redisProc) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// smtpGate forwards a local port to the real SMTP server (Mailpit); closed,
// the port refuses connections, as a server that is down does.
type smtpGate struct {
	t      *testing.T
	port   int
	target string
	mu     sync.Mutex
	l      net.Listener
}

func (g *smtpGate) open() {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", g.port))
	if err != nil {
		g.t.Fatal(err)
	}
	g.l = l
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", g.target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); _ = up.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
}

func (g *smtpGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.l != nil {
		_ = g.l.Close()
		g.l = nil
	}
}

// startFaultWorker starts the child worker process.
func startFaultWorker(t *testing.T, env *tenanttest.Env, redisURL, smtpURL string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), faultWorkerEnv+"=1", "LANYARD_TEST_FAULT_DB="+env.DatabaseURL, "LANYARD_TEST_FAULT_REDIS="+redisURL,
		"LANYARD_TEST_FAULT_SMTP="+smtpURL,
		"LANYARD_TEST_FAULT_NS="+env.Namespace, "LANYARD_TEST_FAULT_SECRET="+env.Config.Secrets[0])
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// TestNoVerificationMailLostUnderFaults registers 200 identities through
// the API while the SMTP server refuses connections for a while, the mail
// queue's Redis is killed (losing every queued task) and restarted, and
// the worker process is killed (SIGKILL) mid-batch and replaced. Afterwards every one of the 200 verification
// mails is in Mailpit exactly once. The one duplicate window — a worker
// killed after Mailpit accepted a mail but before it recorded "sent" — is
// counted: a duplicate is accepted only for a message whose send count
// shows that two workers claimed it.
func TestNoVerificationMailLostUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: not in -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	env := tenanttest.Get(t)
	// The clients' reconnect attempts while Redis is down are expected.
	redis.SetLogger(quietRedis{})
	rd := &redisProc{t: t, port: freePort(t)}
	rd.start()
	t.Cleanup(rd.stop)

	ropt, _ := asynq.ParseRedisURI(rd.url())
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { _ = client.Close() })
	deps := servertest.Deps(t)
	var err error
	if deps.Courier, err = faultCourier(env.DB, env.Registry, client, env.Config); err != nil {
		t.Fatal(err)
	}
	p := tenanttest.NewProject(t)
	srv := httptest.NewServer(server.APIRouter(deps))
	t.Cleanup(srv.Close)
	site := &codetest.Site{T: t, Project: p, Deps: deps, Srv: srv, Base: srv.URL + "/p/" + p.Project.Slug}
	// 200 sign-ups from one address are this test's load, not an attack.
	site.Configure(func(c *flows.Config) {
		c.Limits["registration:ip"] = ratelimit.Limit{Rate: 100000, Period: time.Minute, Burst: 100000}
	})

	// The scheduler's relay sweep, as `lanyard worker` runs it.
	ctx, stopSweep := context.WithCancel(context.Background())
	var sweeps sync.WaitGroup
	sweeps.Add(1)
	go func() {
		defer sweeps.Done()
		for ctx.Err() == nil {
			_, _ = deps.Courier.Sweep(ctx)
			time.Sleep(250 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stopSweep(); sweeps.Wait() })

	mp, err := url.Parse(env.Config.SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	gate := &smtpGate{t: t, port: freePort(t), target: mp.Host}
	gate.open()
	t.Cleanup(gate.close)
	smtpURL := fmt.Sprintf("smtp://127.0.0.1:%d", gate.port)
	w1 := startFaultWorker(t, env, rd.url(), smtpURL)
	const n = 200
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("fault-%d-%s", i, codetest.Address(t))
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail error
	)
	// Faults by progress: the SMTP server refuses connections from 15 to
	// 40, the worker is killed at 50, Redis is killed at 90, and at 150
	// Redis restarts (empty) and a new worker starts.
	faults := map[int64]func(){
		15: func() { gate.close(); t.Log("SMTP server down after 15 registrations") },
		40: func() { gate.open(); t.Log("SMTP server back after 40 registrations") },
		50: func() {
			_ = w1.Process.Kill()
			_ = w1.Wait()
			t.Log("worker killed after 50 registrations")
		},
		90: func() { rd.stop(); t.Log("Redis killed after 90 registrations") },
		150: func() {
			rd.start()
			startFaultWorker(t, env, rd.url(), smtpURL)
			t.Log("Redis restarted (empty) and a new worker started after 150 registrations")
		},
	}
	var done atomic.Int64
	var faultMu sync.Mutex
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 20 * time.Second}
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				if err := register(site, c, addrs[i]); err != nil {
					mu.Lock()
					fail = err
					mu.Unlock()
					return
				}
				k := done.Add(1)
				if f := faults[k]; f != nil {
					faultMu.Lock()
					f()
					faultMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		t.Fatalf("registration failed: %v", fail)
	}

	// Everything is sent.
	deadline := time.Now().Add(90 * time.Second)
	var sent int
	for {
		err := env.DB.InTx(context.Background(), p.Project, func(tx tenant.Tx) error {
			return tx.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status = 'sent')
				FROM courier_messages WHERE template_type = 'verification_code_valid'`).Scan(&sent)
		})
		if err != nil {
			t.Fatal(err)
		}
		if sent == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d verification mails sent after 90 s", sent, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Attempts that left no dispatch row: a worker died between claiming
	// the message and recording the outcome (the only duplicate window).
	unrecorded := map[string]int{}
	err = env.DB.InTx(context.Background(), p.Project, func(tx tenant.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT m.recipient, m.send_count - count(d.id) FROM courier_messages m
			LEFT JOIN courier_message_dispatches d ON d.message_id = m.id
			WHERE m.template_type = 'verification_code_valid' GROUP BY m.id HAVING m.send_count > count(d.id)`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r string
			var k int
			if err := rows.Scan(&r, &k); err != nil {
				return err
			}
			unrecorded[r] = k
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// And each arrived once, but for that window.
	var missing, dups int
	for _, a := range addrs {
		got := len(waitInboxAtLeast(t, a, 1))
		switch {
		case got == 0:
			missing++
		case got > 1:
			dups += got - 1
			if got-1 > unrecorded[a] {
				t.Errorf("%s got %d mails; only %d attempts were cut off by a dying worker", a, got, unrecorded[a])
			}
		}
	}
	t.Logf("200 registrations: %d mails sent; %d messages with an attempt cut off by the killed worker; %d duplicates in Mailpit",
		sent, len(unrecorded), dups)
	if missing > 0 {
		t.Fatalf("%d verification mails never arrived", missing)
	}
}

// register signs up through the API flow.
func register(s *codetest.Site, c *http.Client, email string) error {
	req, _ := http.NewRequest("GET", s.Base+"/self-service/registration/api", nil)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	var f struct {
		UI struct{ Action string } `json:"ui"`
	}
	err = decode(res, &f)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`{"method":"password","traits":{"email":%q},"password":%q}`, email, password)
	req, _ = http.NewRequest("POST", f.UI.Action, stringsReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err = c.Do(req)
	if err != nil {
		return err
	}
	var out map[string]any
	if err := decode(res, &out); err != nil {
		return err
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("registration of %s: %d %v", email, res.StatusCode, out)
	}
	return nil
}

// waitInboxAtLeast waits a little for n mails to address and returns what
// Mailpit holds.
func waitInboxAtLeast(t *testing.T, address string, n int) []codetest.Mail {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := codetest.Inbox(t, address)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func decode(res *http.Response, v any) error {
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
