package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// TestMain lets the test binary stand in for the lanyard binary: with
// LANYARD_TEST_AS_MAIN=1 it runs main() with its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("LANYARD_TEST_AS_MAIN") == "1" {
		os.Args = append([]string{"lanyard"}, strings.Fields(os.Getenv("LANYARD_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	tenanttest.Main(m)
}

// cliEnv is the environment the CLI sees in tests: this run's database and
// Redis namespace, dev mode, a temp data dir.
func cliEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	env := tenanttest.Get(t)
	m := map[string]string{
		"LANYARD_MODE":            "dev",
		"LANYARD_DATABASE_URL":    env.DatabaseURL,
		"LANYARD_REDIS_URL":       env.RedisURL,
		"LANYARD_REDIS_NAMESPACE": env.Namespace,
		"LANYARD_DATA_DIR":        t.TempDir(),
		"LANYARD_SPARE_SCHEMAS":   "2",
		"LANYARD_LOG_LEVEL":       "warn",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	if err != nil {
		t.Logf("lanyard %s: stderr: %s", strings.Join(args, " "), errb.String())
	}
	return out.String(), err
}

func TestEveryCommandHasHelp(t *testing.T) {
	var out, errb bytes.Buffer
	var walk func(path []string, c *cobra.Command)
	count := 0
	walk = func(path []string, c *cobra.Command) {
		out.Reset()
		if err := run(context.Background(), append(path, "--help"), func(string) string { return "" }, &out, &errb); err != nil {
			t.Errorf("%v --help: %v", path, err)
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v --help printed no usage: %q", path, out.String())
		}
		count++
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(append(append([]string{}, path...), sub.Name()), sub)
		}
	}
	e := &env{getenv: func(string) string { return "" }, stdout: &out, stderr: &errb, configPath: new(string)}
	root := &cobra.Command{Use: "lanyard"}
	root.AddCommand(serveCmd(e), workerCmd(e), migrateCmd(e), projectCmd(e), healthcheckCmd(e))
	walk(nil, root)
	if count < 10 {
		t.Fatalf("walked only %d commands", count)
	}
}

func TestProjectCommands(t *testing.T) {
	env := cliEnv(t, nil)
	out, err := runCLI(t, env, "project", "create", "--name", "demo", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID     string `json:"id"`
		Slug   string `json:"slug"`
		URL    string `json:"url"`
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create -o json: %v: %q", err, out)
	}
	if created.ID == "" || created.Slug == "" || created.URL != "http://"+created.Slug+".localhost:4433" || !strings.HasPrefix(created.APIKey, "lanyard_sk_") {
		t.Fatalf("create output: %+v", created)
	}
	out, err = runCLI(t, env, "project", "create", "--name", "text one")
	if err != nil || !strings.Contains(out, "API key:  lanyard_sk_") || !strings.Contains(out, "URL:") {
		t.Fatalf("create text: %v %q", err, out)
	}
	if _, err := runCLI(t, env, "project", "create", "--name", ""); err == nil {
		t.Fatal("empty name accepted")
	}
	out, err = runCLI(t, env, "project", "list")
	if err != nil || !strings.Contains(out, created.Slug) {
		t.Fatalf("list: %v %q", err, out)
	}
	if out, err = runCLI(t, env, "project", "delete", created.Slug); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %v %q", err, out)
	}
	if out, _ = runCLI(t, env, "project", "list"); strings.Contains(out, created.Slug) {
		t.Fatalf("deleted project still listed: %q", out)
	}
	if _, err := runCLI(t, env, "project", "delete", created.Slug); err == nil {
		t.Fatal("deleting twice succeeded")
	}
}

func TestMigrateCommandIsIdempotent(t *testing.T) {
	env := cliEnv(t, nil)
	if _, err := runCLI(t, env, "migrate", "--concurrency", "2"); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, env, "migrate")
	if err != nil || !strings.Contains(out, "migrated 0 of 0 project schemas") {
		t.Fatalf("second migrate: %v %q", err, out)
	}
	bad := cliEnv(t, map[string]string{"LANYARD_DATABASE_URL": "postgres://postgres@127.0.0.1:1/nope?sslmode=disable&connect_timeout=1", "LANYARD_MODE": "production",
		"LANYARD_SECRET": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0"})
	bad["LANYARD_DATABASE_URL"] = "postgres://lanyard:Zq8rT1x9@127.0.0.1:1/nope?sslmode=disable&connect_timeout=1"
	if _, err := runCLI(t, bad, "migrate"); err == nil || !strings.Contains(err.Error(), "LANYARD_DATABASE_URL") {
		t.Fatalf("migrate with an unreachable database: %v", err)
	}
	if _, err := runCLI(t, map[string]string{"LANYARD_DATABASE_URL": "::not a url", "LANYARD_DATA_DIR": t.TempDir()}, "migrate"); err == nil || !strings.Contains(err.Error(), "LANYARD_DATABASE_URL") {
		t.Fatalf("malformed URL: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func get(host, url string) (int, string) {
	req, _ := http.NewRequest("GET", url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// The all-in-one server as a real process: it serves a project created by
// the CLI on its host and path, and exits within 10 s of SIGTERM.
func TestServeProcessServesProjectsAndStopsOnSIGTERM(t *testing.T) {
	apiPort, dashPort := freePort(t), freePort(t)
	env := cliEnv(t, map[string]string{
		"LANYARD_API_ADDR":       fmt.Sprintf("127.0.0.1:%d", apiPort),
		"LANYARD_DASHBOARD_ADDR": fmt.Sprintf("127.0.0.1:%d", dashPort),
	})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LANYARD_TEST_AS_MAIN=1", "LANYARD_TEST_ARGS=serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("", api+"/health/ready"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready in 30s; stderr: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, err := runCLI(t, env, "project", "create", "--name", "demo", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Slug string }
	_ = json.Unmarshal([]byte(out), &created)
	if code, body := get(fmt.Sprintf("%s.localhost:%d", created.Slug, apiPort), api+"/health/ready"); code != 200 {
		t.Fatalf("project host ready: %d %s", code, body)
	}
	if code, body := get("", api+"/p/"+created.Slug+"/health/alive"); code != 200 {
		t.Fatalf("project path alive: %d %s", code, body)
	}
	if code, _ := get("", fmt.Sprintf("http://127.0.0.1:%d/health/alive", dashPort)); code != 200 {
		t.Fatalf("dashboard alive: %d", code)
	}
	if code, body := get("", api+"/metrics"); code != 200 || !strings.Contains(body, "lanyard_http_request_duration_seconds") {
		t.Fatalf("metrics: %d", code)
	}
	if !strings.Contains(stdout.String(), "Lanyard is running") {
		t.Fatalf("no URLs printed: %q", stdout.String())
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, stderr.String())
		}
		t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
}

// In production mode a server whose database is unreachable still starts,
// says which setting to check, and reports the database in /health/ready.
func TestServeWithUnreachableDatabaseReportsIt(t *testing.T) {
	apiPort := freePort(t)
	dead := freePort(t) // nothing listens there
	env := cliEnv(t, map[string]string{
		"LANYARD_MODE":         "production",
		"LANYARD_SECRET":       "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0",
		"LANYARD_DATABASE_URL": fmt.Sprintf("postgres://lanyard:Zq8rT1x9@127.0.0.1:%d/lanyard?sslmode=disable&connect_timeout=1", dead),
		"LANYARD_API_ADDR":     fmt.Sprintf("127.0.0.1:%d", apiPort),
		"LANYARD_LOG_LEVEL":    "info",
	})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LANYARD_TEST_AS_MAIN=1", "LANYARD_TEST_ARGS=serve api")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	deadline := time.Now().Add(20 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		if code, body = get("", api+"/health/ready"); code != 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != 503 || !strings.Contains(body, `"database"`) || strings.Contains(body, `"redis"`) {
		t.Fatalf("ready with the database down: %d %s", code, body)
	}
	if code, _ := get("", api+"/health/alive"); code != 200 {
		t.Fatalf("alive: %d", code)
	}
	for time.Now().Before(deadline) && !strings.Contains(stderr.String(), "LANYARD_DATABASE_URL") {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), `"setting":"LANYARD_DATABASE_URL"`) {
		t.Fatalf("no log line naming the setting: %s", stderr.String())
	}
}
