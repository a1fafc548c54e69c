package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads compose.yaml the way `docker compose` does, with env
// written to the .env file beside it, validating it against the Compose
// specification's schema. It returns the project and every variable the
// file interpolated.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, map[string]bool, error) {
	t.Helper()
	src, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	var dotenv strings.Builder
	for k, v := range env {
		fmt.Fprintf(&dotenv, "%s=%s\n", k, v)
	}
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	looked := map[string]bool{}
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: file}},
		Environment: env,
	}
	p, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("lanyard", true)
		lookup := o.Interpolate.LookupValue
		o.Interpolate.LookupValue = func(key string) (string, bool) {
			looked[key] = true
			return lookup(key)
		}
	})
	return p, looked, err
}

// exampleEnv is .env.example as an operator fills it in: the required
// secrets get values.
func exampleEnv(t *testing.T) map[string]string {
	ex := readEnvExample(t)
	env := map[string]string{}
	for k, v := range ex.active {
		env[k] = v
	}
	env["LANYARD_SECRET"] = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NQ=="
	env["POSTGRES_PASSWORD"] = "Zk3x9Qp2Lr7w"
	return env
}

// lanyardRoles maps each Lanyard service of compose.yaml to its command and
// the port its health check must probe.
var lanyardRoles = map[string]struct {
	command []string
	port    string
}{
	"migrate":   {[]string{"migrate"}, ""},
	"api":       {[]string{"serve", "api"}, "4433"},
	"dashboard": {[]string{"serve", "dashboard"}, "4000"},
	"worker":    {[]string{"worker"}, "4435"},
}

func TestComposeFile(t *testing.T) {
	env := exampleEnv(t)
	p, looked, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	ex := readEnvExample(t)
	known := configEnvNames(t)

	// Every variable compose.yaml reads is documented in .env.example.
	var undocumented []string
	for k := range looked {
		if _, ok := ex.active[k]; !ok {
			undocumented = append(undocumented, k)
		}
	}
	sort.Strings(undocumented)
	if len(undocumented) > 0 {
		t.Errorf("compose.yaml reads variables that .env.example does not set: %v", undocumented)
	}
	// Every variable .env.example sets is used: LANYARD_* ones reach the
	// Lanyard services through env_file, the others are interpolated.
	for _, k := range ex.order {
		if !looked[k] && !strings.HasPrefix(k, "LANYARD_") {
			t.Errorf(".env.example sets %s, which compose.yaml never reads", k)
		}
	}

	for _, want := range []string{"postgres", "redis", "mailpit", "migrate", "api", "dashboard", "worker"} {
		if _, ok := p.Services[want]; !ok {
			t.Errorf("compose.yaml: no %q service", want)
		}
	}
	for name, s := range p.Services {
		if s.Image == "" {
			t.Errorf("service %s: no image", name)
		}
		if s.Restart == "" {
			t.Errorf("service %s: no restart policy", name)
		}
		if strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
			t.Errorf("service %s: image %q is not pinned to a tag", name, s.Image)
		}
		role, isLanyard := lanyardRoles[name]
		if !isLanyard {
			continue
		}
		if s.Image != env["DEPLOY_IMAGE"] {
			t.Errorf("service %s: image %q, want the Lanyard image %q", name, s.Image, env["DEPLOY_IMAGE"])
		}
		if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("service %s: does not build from deploy/Dockerfile", name)
		}
		if !slices.Equal([]string(s.Command), role.command) && !(name == "migrate" && len(s.Command) > 0 && s.Command[0] == "migrate") {
			t.Errorf("service %s: command %q, want %q", name, s.Command, role.command)
		}
		if !s.ReadOnly {
			t.Errorf("service %s: root filesystem is not read-only", name)
		}
		for k := range s.Environment {
			if strings.HasPrefix(k, "LANYARD_") && !known[k] {
				t.Errorf("service %s: environment %s is not a setting of the binary", name, k)
			}
			if _, documented := ex.active[k]; !documented {
				t.Errorf("service %s: environment %s is not in .env.example", name, k)
			}
		}
		for _, k := range ex.order {
			if strings.HasPrefix(k, "LANYARD_") && s.Environment[k] == nil {
				t.Errorf("service %s: %s from deploy/.env does not reach it", name, k)
			}
		}
		for _, k := range []string{"LANYARD_SECRET", "LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_MODE"} {
			if v := s.Environment[k]; v == nil || *v == "" {
				t.Errorf("service %s: %s is not set", name, k)
			}
		}
		if db := s.Environment["LANYARD_DATABASE_URL"]; db != nil && !strings.Contains(*db, env["POSTGRES_PASSWORD"]+"@postgres:5432/") {
			t.Errorf("service %s: LANYARD_DATABASE_URL %q does not use the postgres service and POSTGRES_PASSWORD", name, *db)
		}
		if name == "migrate" {
			if s.Restart != "no" {
				t.Errorf("service migrate: restart %q; a one-shot job must not restart", s.Restart)
			}
			for _, dep := range []string{"postgres", "redis"} {
				if s.DependsOn[dep].Condition != types.ServiceConditionHealthy {
					t.Errorf("service migrate: does not wait for %s to be healthy", dep)
				}
			}
			continue
		}
		if s.DependsOn["migrate"].Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("service %s: does not wait for migrate to complete successfully", name)
		}
		hc := s.HealthCheck
		want := []string{"CMD", "/usr/local/bin/lanyard", "healthcheck", "--url", "http://127.0.0.1:" + role.port + "/health/ready"}
		if hc == nil || hc.Disable || !slices.Equal([]string(hc.Test), want) {
			t.Errorf("service %s: healthcheck %v, want %q", name, hc, want)
		}
	}

	redis := p.Services["redis"]
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--maxmemory-policy noeviction", "--appendonly yes"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("service redis: command %q lacks %q", cmd, want)
		}
	}
	if img := p.Services["postgres"].Image; !strings.HasPrefix(img, "postgres:15") {
		t.Errorf("service postgres: image %q, want postgres:15", img)
	}
	if img := p.Services["mailpit"].Image; !strings.HasPrefix(img, "axllent/mailpit:") {
		t.Errorf("service mailpit: image %q, want axllent/mailpit", img)
	}
	if img := p.Services["redis"].Image; !strings.HasPrefix(img, "redis:7") {
		t.Errorf("service redis: image %q, want redis:7", img)
	}
}

// TestComposeRequiresSecrets: compose refuses to start without the secret
// and the database password rather than running with empty ones.
func TestComposeRequiresSecrets(t *testing.T) {
	for _, name := range []string{"LANYARD_SECRET", "POSTGRES_PASSWORD"} {
		env := exampleEnv(t)
		env[name] = ""
		_, _, err := loadCompose(t, env)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("with %s empty: got error %v, want one naming %s", name, err, name)
		}
	}
}
