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

// compatSuites are the files of sdk/js/compat that TestOrySDKCompatibility
// runs, each as a subtest: the admin IdentityApi, and the FrontendApi
// self-service flows (native with a session token, browser with a cookie
// jar). A new .test.mjs file runs only once it is listed here.
var compatSuites = []string{
	"identities.test.mjs",
	"flows.test.mjs",
}

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
	t.Cleanup(srv.Close)
	for _, file := range compatSuites {
		t.Run(file, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "compat", file)); err != nil {
				t.Fatal(err)
			}
			// Each suite gets its own project: flows and sessions of one
			// do not meet the rate limits or identities of another.
			p := e.other()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", file)
			cmd.Dir = filepath.Join(dir, "compat")
			cmd.Env = append(os.Environ(), "LANYARD_URL="+srv.URL+"/p/"+p.proj.Project.Slug, "LANYARD_KEY="+p.proj.APIKey)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node --test %s failed: %v\n%s", file, err, out)
			}
			t.Logf("node --test %s:\n%s", file, out)
		})
	}
}
