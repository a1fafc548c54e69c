// Package codetest drives the verification and recovery flows over real
// HTTP in tests: a project served by the real API router, a courier worker
// delivering to the test Mailpit, and readers of Mailpit's API.
package codetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/openapi/openapitest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Site is one project served over real HTTP, addressed by path prefix.
type Site struct {
	T       testing.TB
	Project *tenant.Created
	Deps    server.Deps
	Srv     *httptest.Server
	Base    string
}

var worker sync.Once

// NewSite serves a fresh project and makes sure a courier worker runs.
func NewSite(t testing.TB) *Site {
	t.Helper()
	p := tenanttest.NewProject(t)
	deps := servertest.Deps(t)
	srv := httptest.NewServer(server.APIRouter(deps))
	t.Cleanup(srv.Close)
	startWorker(t, deps)
	return &Site{T: t, Project: p, Deps: deps, Srv: srv, Base: srv.URL + "/p/" + p.Project.Slug}
}

// startWorker runs one asynq server per test binary on the queues the
// server's courier hands mail to.
func startWorker(t testing.TB, d server.Deps) {
	worker.Do(func() {
		env := tenanttest.Get(t)
		ropt, err := asynq.ParseRedisURI(env.RedisURL)
		if err != nil {
			t.Fatal(err)
		}
		srv := asynq.NewServer(ropt, asynq.Config{
			Concurrency: 8, Queues: map[string]int{d.Config.RedisNamespace + "mail": 3, d.Config.RedisNamespace + "maintenance": 1},
			LogLevel: asynq.ErrorLevel, ShutdownTimeout: time.Second,
			DelayedTaskCheckInterval: 50 * time.Millisecond, TaskCheckInterval: 50 * time.Millisecond,
			RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond },
		})
		mux := asynq.NewServeMux()
		courier.Register(mux, d.Courier)
		if err := srv.Start(mux); err != nil {
			t.Fatal(err)
		}
	})
}

// Client returns a cookie-keeping client that does not follow redirects.
func Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Resp is an HTTP answer.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r Resp) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return m
}

// Call makes a request; body is JSON unless it is url.Values (a form).
func (s *Site) Call(c *http.Client, method, path string, body any, hdr map[string]string) Resp {
	s.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd = strings.NewReader(b.Encode())
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = s.Base + path
	}
	req, _ := http.NewRequest(method, u, rd)
	switch body.(type) {
	case nil:
	case url.Values:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if strings.HasPrefix(u, s.Srv.URL) {
		// Every answer of the project is checked against the OpenAPI document.
		openapitest.CheckResponse(s.T, req, res.StatusCode, res.Header, b)
	}
	return Resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Want fails unless r has status.
func Want(t testing.TB, r Resp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
}

// Action is a flow's ui.action.
func Action(f map[string]any) string { return f["ui"].(map[string]any)["action"].(string) }

// NodeValue is the value of a flow's input node (nil when absent).
func NodeValue(f map[string]any, name string) any {
	for _, n := range f["ui"].(map[string]any)["nodes"].([]any) {
		a := n.(map[string]any)["attributes"].(map[string]any)
		if a["name"] == name {
			return a["value"]
		}
	}
	return nil
}

// MessageIDs lists the ids of a flow's messages (flow and nodes).
func MessageIDs(f map[string]any) []int {
	var ids []int
	ui := f["ui"].(map[string]any)
	if ms, ok := ui["messages"].([]any); ok {
		for _, m := range ms {
			ids = append(ids, int(m.(map[string]any)["id"].(float64)))
		}
	}
	for _, n := range ui["nodes"].([]any) {
		for _, m := range n.(map[string]any)["messages"].([]any) {
			ids = append(ids, int(m.(map[string]any)["id"].(float64)))
		}
	}
	return ids
}

// HasID reports whether f carries message id.
func HasID(f map[string]any, id int) bool {
	for _, x := range MessageIDs(f) {
		if x == id {
			return true
		}
	}
	return false
}

// Address is a recipient no other test uses.
func Address(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	return fmt.Sprintf("%s-%s@codes.test", name[:min(len(name), 40)], hex.EncodeToString(b))
}

func mailpitAPI() string {
	if v := os.Getenv("LANYARD_TEST_MAILPIT_API"); v != "" {
		return v
	}
	return "http://127.0.0.1:8025"
}

// Mail is one message in Mailpit.
type Mail struct {
	ID      string
	Subject string
	Text    string
}

// Inbox returns the messages Mailpit holds for address, newest first.
func Inbox(t testing.TB, address string) []Mail {
	t.Helper()
	resp, err := http.Get(mailpitAPI() + "/api/v1/search?limit=50&query=" + url.QueryEscape("to:"+address))
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct{ ID, Subject string } `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	var list []Mail
	for _, m := range out.Messages {
		list = append(list, Mail{ID: m.ID, Subject: m.Subject})
	}
	return list
}

// WaitMail waits until Mailpit holds n messages for address and returns
// the newest with its text body.
func WaitMail(t testing.TB, address string, n int) Mail {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := Inbox(t, address)
		if len(got) >= n {
			m := got[0]
			resp, err := http.Get(mailpitAPI() + "/api/v1/message/" + m.ID)
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Text string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			m.Text = body.Text
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mailpit holds %d messages for %s after 15s, want %d", len(got), address, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var codeRE = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)

// CodeOf reads the 6-digit code from a mail body.
func CodeOf(t testing.TB, m Mail) string {
	t.Helper()
	g := codeRE.FindStringSubmatch(m.Text)
	if g == nil {
		t.Fatalf("no code in mail %q: %s", m.Subject, m.Text)
	}
	return g[1]
}

// Register signs up through the API and returns the answer.
func (s *Site) Register(c *http.Client, email, password string) map[string]any {
	s.T.Helper()
	r := s.Call(c, "GET", "/self-service/registration/api", nil, nil)
	Want(s.T, r, 200)
	r = s.Call(c, "POST", Action(r.JSON(s.T)), map[string]any{"method": "password", "traits": map[string]any{"email": email}, "password": password}, nil)
	Want(s.T, r, 200)
	return r.JSON(s.T)
}

// Configure changes the project's flow configuration.
func (s *Site) Configure(edit func(*flows.Config)) {
	s.T.Helper()
	ctx := context.Background()
	err := s.Deps.DB.InTx(ctx, s.Project.Project, func(tx tenant.Tx) error {
		c, err := flows.LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		edit(&c)
		return flows.SaveConfig(ctx, tx, c)
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

// LinkOf reads the first link starting with prefix from a mail body.
func LinkOf(t testing.TB, m Mail, prefix string) string {
	t.Helper()
	i := strings.Index(m.Text, prefix)
	if i < 0 {
		t.Fatalf("no link %s… in mail %q: %s", prefix, m.Subject, m.Text)
	}
	return strings.Fields(m.Text[i:])[0]
}
