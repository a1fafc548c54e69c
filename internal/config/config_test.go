package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultsWorkOnADeveloperMachine(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load("", envMap(map[string]string{"LANYARD_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != DefaultDatabaseURL || cfg.RedisURL != "redis://127.0.0.1:6379/0" || cfg.APIAddr != ":4433" || cfg.DashboardAddr != ":4000" {
		t.Fatalf("defaults: %+v", cfg)
	}
	if got, want := cfg.ProjectURL("demo-x"), "http://demo-x.localhost:4433"; got != want {
		t.Fatalf("ProjectURL = %q, want %q", got, want)
	}
	if len(cfg.SecretKeys()) != 1 || len(cfg.SecretKeys()[0]) != 32 {
		t.Fatal("dev mode did not generate a 32-byte secret")
	}
	// The secret is kept and reused.
	again, err := Load("", envMap(map[string]string{"LANYARD_DATA_DIR": dir}))
	if err != nil || again.Secrets[0] != cfg.Secrets[0] {
		t.Fatalf("second load: %v, secret changed: %v", err, again.Secrets[0] != cfg.Secrets[0])
	}
	if fi, err := os.Stat(filepath.Join(dir, "secret")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lanyard.yaml")
	os.WriteFile(file, []byte("api_addr: \":5555\"\nprojects_domain: example.test\nlog_level: debug\nbody_limit: 2048\n"), 0o644)
	cfg, err := Load(file, envMap(map[string]string{"LANYARD_DATA_DIR": dir, "LANYARD_API_ADDR": ":6666"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIAddr != ":6666" || cfg.ProjectsDomain != "example.test" || cfg.LogLevel != "debug" || cfg.BodyLimit != 2048 {
		t.Fatalf("merged config: %+v", cfg)
	}
	os.WriteFile(file, []byte("no_such_key: 1\n"), 0o644)
	if _, err := Load(file, envMap(map[string]string{"LANYARD_DATA_DIR": dir})); err == nil || !strings.Contains(err.Error(), "no_such_key") {
		t.Fatalf("unknown YAML key: %v", err)
	}
}

func TestProductionRefusesMissingSecretAndDefaultPasswords(t *testing.T) {
	base := map[string]string{"LANYARD_MODE": "production", "LANYARD_DATA_DIR": t.TempDir()}
	_, err := Load("", envMap(base))
	if err == nil || !strings.Contains(err.Error(), "LANYARD_SECRET") || !strings.Contains(err.Error(), "LANYARD_DATABASE_URL") {
		t.Fatalf("production without secret and with the default DB URL: %v", err)
	}
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0"
	for _, pw := range []string{"postgres", "password", "changeme"} {
		m := map[string]string{"LANYARD_MODE": "production", "LANYARD_SECRET": secret,
			"LANYARD_DATABASE_URL": "postgres://lanyard:" + pw + "@db:5432/lanyard"}
		if _, err := Load("", envMap(m)); err == nil || !strings.Contains(err.Error(), "default database password") {
			t.Errorf("password %q accepted: %v", pw, err)
		}
	}
	ok := map[string]string{"LANYARD_MODE": "production", "LANYARD_SECRET": secret + ",c2Vjb25kLXNlY3JldC1zZWNvbmQtc2VjcmV0LXNlY29uZC0xMjM0",
		"LANYARD_DATABASE_URL": "postgres://lanyard:Xk29fPq81zz@db:5432/lanyard"}
	cfg, err := Load("", envMap(ok))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SecretKeys()) != 2 || cfg.Scheme() != "https" || cfg.ProjectURL("a-b") != "https://a-b.localhost" {
		t.Fatalf("production config: %+v", cfg)
	}
}

func TestBadValuesNameTheSetting(t *testing.T) {
	for key, val := range map[string]string{
		"LANYARD_DATABASE_URL":    "mysql://nope",
		"LANYARD_REDIS_URL":       "http://x",
		"LANYARD_API_ADDR":        "4433",
		"LANYARD_MODE":            "staging",
		"LANYARD_SECRET":          "dG9vc2hvcnQ=",
		"LANYARD_PROJECTS_DOMAIN": "a/b",
		"LANYARD_BODY_LIMIT":      "-1",
	} {
		_, err := Load("", envMap(map[string]string{key: val, "LANYARD_DATA_DIR": t.TempDir()}))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v, want an error naming %s", key, val, err, key)
		}
	}
}
