package identity_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestOrySDKCompatibility runs sdk/js/compat (node --test) with the
// official @ory/client-fetch against the real API router on a loopback
// port, with basePath = the project URL and accessToken = its key.
func TestOrySDKCompatibility(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs(filepath.Join("..", "sdk", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@ory", "client-fetch")); err != nil {
		t.Skipf("sdk/js/node_modules is missing: run `npm ci` in sdk/js first (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	e := newEnv(t)
	srv := httptest.NewServer(e.router) // listens on 127.0.0.1:<free port>
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec")
	cmd.Dir = filepath.Join(dir, "compat")
	cmd.Env = append(os.Environ(), "LANYARD_URL="+srv.URL+"/p/"+e.proj.Project.Slug, "LANYARD_KEY="+e.proj.APIKey)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}
