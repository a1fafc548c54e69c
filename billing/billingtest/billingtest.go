// Package billingtest starts stripe-mock for tests that reach Stripe.
package billingtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StripeMockVersion is the stripe-mock the tests run against.
const StripeMockVersion = "v0.203.0"

var (
	once    sync.Once
	baseURL string
	initErr error
)

// StripeMock returns the base URL of a stripe-mock server shared by the
// test binary, starting it on a free 127.0.0.1 port on first use (and
// installing it with go install when it is missing). The test is skipped,
// with the reason, only when stripe-mock can be neither found nor
// installed.
func StripeMock(t testing.TB) string {
	t.Helper()
	once.Do(func() { baseURL, initErr = start() })
	if initErr != nil {
		if strings.HasPrefix(initErr.Error(), "install:") {
			t.Skipf("stripe-mock is not available (%v); install it with: go install github.com/stripe/stripe-mock@%s", initErr, StripeMockVersion)
		}
		t.Fatalf("stripe-mock: %v", initErr)
	}
	return baseURL
}

func binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			return "", fmt.Errorf("install: go env GOPATH: %w", err)
		}
		gobin = filepath.Join(strings.TrimSpace(strings.Split(string(out), string(os.PathListSeparator))[0]), "bin")
	}
	p := filepath.Join(gobin, "stripe-mock")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	var stderr bytes.Buffer
	cmd := exec.Command("go", "install", "github.com/stripe/stripe-mock@"+StripeMockVersion)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install: go install failed: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start() (string, error) {
	bin, err := binary()
	if err != nil {
		return "", err
	}
	var lastErr error
	for range 3 { // another process may take the port between probe and start
		lastErr = nil
		port, err := freePort()
		if err != nil {
			return "", err
		}
		tlsPort, err := freePort()
		if err != nil {
			return "", err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		// Both listeners on free ports: stripe-mock's default HTTPS port may
		// be taken by another run.
		cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", fmt.Sprintf("127.0.0.1:%d", tlsPort))
		// stripe-mock dies with the test binary.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return "", fmt.Errorf("start %s: %w", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		url := "http://" + addr
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				lastErr = fmt.Errorf("stripe-mock exited: %v: %s", err, out.String())
			default:
			}
			if lastErr != nil {
				break
			}
			if resp, err := http.Get(url + "/v1/customers"); err == nil {
				resp.Body.Close()
				return url, nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		if lastErr == nil {
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("stripe-mock did not answer on %s: %s", addr, out.String())
		}
	}
	return "", lastErr
}
