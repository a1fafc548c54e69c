package deploy

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/config"
)

// configEnvNames is every environment variable the binary reads: LANYARD_
// followed by the env tag of each field of config.Config.
func configEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	typ := reflect.TypeOf(config.Config{})
	for i := 0; i < typ.NumField(); i++ {
		tag, ok := typ.Field(i).Tag.Lookup("env")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name != "" {
			names["LANYARD_"+name] = true
		}
	}
	if len(names) < 10 {
		t.Fatalf("found only %d env tags on config.Config: has its shape changed?", len(names))
	}
	return names
}

// envExample is deploy/.env.example: the variables set on active lines, and
// the ones only documented on commented-out lines ("# NAME=value").
type envExample struct {
	active     map[string]string
	documented map[string]bool // active or commented out
	order      []string        // active names in file order
}

var (
	envLineRE      = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)
	envCommentedRE = regexp.MustCompile(`^#\s*([A-Z][A-Z0-9_]*)=`)
)

func readEnvExample(t *testing.T) envExample {
	t.Helper()
	f, err := os.Open(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex := envExample{active: map[string]string{}, documented: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if m := envLineRE.FindStringSubmatch(line); m != nil {
			if _, dup := ex.active[m[1]]; dup {
				t.Errorf(".env.example:%d: %s is set twice", n, m[1])
			}
			ex.active[m[1]] = m[2]
			ex.documented[m[1]] = true
			ex.order = append(ex.order, m[1])
			continue
		}
		if m := envCommentedRE.FindStringSubmatch(line); m != nil {
			ex.documented[m[1]] = true
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf(".env.example:%d: not NAME=value or a comment: %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestEnvExampleDocumentsEverySetting: every setting of the binary is in
// .env.example, and every LANYARD_* name there is a real setting.
func TestEnvExampleDocumentsEverySetting(t *testing.T) {
	known := configEnvNames(t)
	ex := readEnvExample(t)
	var missing []string
	for name := range known {
		if !ex.documented[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("internal/config has settings that deploy/.env.example does not document: %v\n"+
			"add each with a comment and its default, as \"NAME=\" (compose passes it on) or \"# NAME=default\"", missing)
	}
	for name := range ex.documented {
		if strings.HasPrefix(name, "LANYARD_") && !known[name] {
			t.Errorf(".env.example: %s is not a setting of the binary (internal/config)", name)
		}
	}
	// The brief's list of settings an operator must find documented.
	for _, name := range []string{
		"LANYARD_MODE", "LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_API_ADDR",
		"LANYARD_DASHBOARD_ADDR", "LANYARD_WORKER_ADDR", "LANYARD_PROJECTS_DOMAIN",
		"LANYARD_PUBLIC_SCHEME", "LANYARD_SECRET", "LANYARD_LOG_LEVEL", "LANYARD_BODY_LIMIT",
		"LANYARD_DB_MAX_CONNS", "LANYARD_SMTP_URL", "LANYARD_STRIPE_SECRET_KEY",
		"LANYARD_STRIPE_WEBHOOK_SECRET", "LANYARD_STRIPE_API_BASE",
	} {
		if !ex.documented[name] {
			t.Errorf(".env.example does not document %s", name)
		}
	}
	if v := ex.active["LANYARD_SECRET"]; v != "" {
		t.Errorf(".env.example ships a value for LANYARD_SECRET; it must be empty so nobody runs with a published key")
	}
	if v := ex.active["POSTGRES_PASSWORD"]; v != "" {
		t.Errorf(".env.example ships a value for POSTGRES_PASSWORD; it must be empty")
	}
}
