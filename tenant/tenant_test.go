package tenant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/migrations"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

func TestCreateProvisionsSchemaAndKey(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	c := tenanttest.NewProject(t)
	p := c.Project
	if !tenant.SlugRE.MatchString(p.Slug) {
		t.Fatalf("slug %q does not match %s", p.Slug, tenant.SlugRE)
	}
	if got, want := p.TenantVersion, migrations.Tenant.Latest(); got != want {
		t.Fatalf("tenant_version = %d, want %d", got, want)
	}
	if !strings.HasPrefix(c.APIKey, tenant.APIKeyPrefix) || len(c.APIKey) < len(tenant.APIKeyPrefix)+43 {
		t.Fatalf("api key %q lacks prefix or 256 bits", c.APIKey)
	}
	var versions int
	err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions)
	})
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(migrations.Tenant.All()) {
		t.Fatalf("schema has %d versions, want %d", versions, len(migrations.Tenant.All()))
	}
	// The key is stored only as a hash.
	var n int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM platform.project_api_keys WHERE project_id = $1 AND position($2 in encode(hash, 'escape')) = 0`, p.ID, c.APIKey).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored keys = %d, %v", n, err)
	}
	if _, err := env.Registry.Authenticate(ctx, p, c.APIKey); err != nil {
		t.Fatalf("Authenticate(own key) = %v", err)
	}
	got, err := env.Registry.BySlug(ctx, p.Slug)
	if err != nil || got.ID != p.ID {
		t.Fatalf("BySlug = %v, %v", got, err)
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	bad := migrations.Tenant.With(migrations.Migration{Version: 9999, Name: "broken", SQL: "CREATE TABLE broken (x nonexistent_type)"})
	reg := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &bad})
	_, err := reg.Create(ctx, tenant.CreateParams{Name: "doomed", Slug: "doomed-project-1"})
	if err == nil {
		t.Fatal("Create with a broken migration succeeded")
	}
	var n int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM platform.projects WHERE slug = 'doomed-project-1'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("project rows left = %d, %v", n, err)
	}
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_namespace n WHERE NOT EXISTS (SELECT 1 FROM platform.projects p WHERE p.schema_name = n.nspname) AND NOT EXISTS (SELECT 1 FROM platform.spare_schemas s WHERE s.schema_name = n.nspname) AND n.nspname LIKE 'p\_%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("orphan schemas = %d, %v", n, err)
	}
}

func TestNamesAndSlugsValidated(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, slug, env string
	}{
		{name: ""}, {name: "   "}, {name: strings.Repeat("x", 65)}, {name: "bad\x00name"},
		{name: "ok", slug: "Bad_Slug"}, {name: "ok", slug: "x"}, {name: "ok", env: "staging"},
	} {
		_, err := env.Registry.Create(ctx, tenant.CreateParams{Name: tc.name, Slug: tc.slug, Environment: tc.env})
		if !errx.Has(err, errx.Invalid) {
			t.Errorf("Create(%q, %q, %q) = %v, want Invalid", tc.name, tc.slug, tc.env, err)
		}
	}
	c := tenanttest.NewProject(t)
	_, err := env.Registry.Create(ctx, tenant.CreateParams{Name: "dup", Slug: c.Project.Slug})
	if !errx.Has(err, errx.Conflict) {
		t.Fatalf("duplicate slug: %v, want Conflict", err)
	}
}

func TestTenantScopedCodeNeedsAProject(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	called := false
	err := env.DB.InTx(ctx, nil, func(tenant.Tx) error { called = true; return nil })
	if !errors.Is(err, tenant.ErrNoProject) || called {
		t.Fatalf("InTx(nil) = %v (called %v), want ErrNoProject", err, called)
	}
	var zero tenant.Tx
	if _, err := zero.Exec(ctx, "SELECT 1"); !errors.Is(err, tenant.ErrNoProject) {
		t.Fatalf("zero Tx Exec = %v", err)
	}
	if err := zero.QueryRow(ctx, "SELECT 1").Scan(new(int)); !errors.Is(err, tenant.ErrNoProject) {
		t.Fatalf("zero Tx QueryRow = %v", err)
	}
	if _, err := tenant.FromContext(ctx); !errors.Is(err, tenant.ErrNoProject) {
		t.Fatalf("FromContext(empty) = %v", err)
	}
}

// Two projects write to the same table; each transaction sees only its own
// rows, and a schema name passed as data cannot redirect it.
func TestSchemaIsolation(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	for _, p := range []*tenant.Project{a, b} {
		err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO audit_events (actor, action, target) VALUES ('test', 'write', $1)`, p.Slug)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*tenant.Project{a, b} {
		var targets []string
		err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			rows, err := tx.Query(ctx, `SELECT target FROM audit_events`)
			if err != nil {
				return err
			}
			targets, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(targets) != 1 || targets[0] != p.Slug {
			t.Fatalf("project %s sees %v", p.Slug, targets)
		}
	}
	// The pinned search path ends with the transaction.
	var sp string
	if err := env.Pool.QueryRow(ctx, `SHOW search_path`).Scan(&sp); err != nil || strings.Contains(sp, "p_") {
		t.Fatalf("search_path leaked to the pool: %q, %v", sp, err)
	}
	// A project value forged with another project's schema name but an
	// unknown cell is refused rather than guessed.
	forged := *a
	forged.Cell = "elsewhere"
	if err := env.DB.InTx(ctx, &forged, func(tenant.Tx) error { return nil }); err == nil {
		t.Fatal("InTx accepted a project on an unknown cell")
	}
}

func TestDeleteIsSoftThenDropped(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	c := tenanttest.NewProject(t)
	if _, err := env.Registry.Delete(ctx, c.Project.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Registry.BySlug(ctx, c.Project.Slug); !errx.Has(err, errx.NotFound) {
		t.Fatalf("BySlug after delete = %v, want NotFound", err)
	}
	var exists bool
	_ = env.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, c.Project.Schema).Scan(&exists)
	if !exists {
		t.Fatal("schema dropped before the background job ran")
	}
	if err := env.Registry.DropSchema(ctx, c.Project.ID); err != nil {
		t.Fatal(err)
	}
	if err := env.Registry.DropSchema(ctx, c.Project.ID); err != nil {
		t.Fatalf("second DropSchema = %v, want idempotent", err)
	}
	_ = env.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, c.Project.Schema).Scan(&exists)
	if exists {
		t.Fatal("schema still there after DropSchema")
	}
	if _, err := env.Registry.Authenticate(ctx, c.Project, c.APIKey); err == nil {
		t.Fatal("a deleted project's key still authenticates")
	}
}

// Creation claims a pre-built schema when one is ready, and the claimed
// schema is brought up to the registry's migrations in the same
// transaction.
func TestCreateClaimsSpareSchema(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	old := migrations.Tenant
	pool := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &old})
	var spare string
	for try := 0; spare == ""; try++ { // parallel tests may claim the spare first
		if _, err := pool.FillSpares(ctx, 1); err != nil {
			t.Fatal(err)
		}
		err := env.Pool.QueryRow(ctx, `SELECT schema_name FROM platform.spare_schemas ORDER BY created_at LIMIT 1`).Scan(&spare)
		if err != nil && (!errors.Is(err, pgx.ErrNoRows) || try == 20) {
			t.Fatal(err)
		}
	}
	// A newer release (one more migration) claims it.
	newer := migrations.Tenant.With(migrations.Migration{Version: 9500, Name: "newer", SQL: "CREATE TABLE newer_thing (id int)"})
	reg := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &newer})
	var c *tenant.Created
	for range 20 { // other parallel tests may claim spares too
		var err error
		if c, err = reg.Create(ctx, tenant.CreateParams{Name: "claims"}); err != nil {
			t.Fatal(err)
		}
		if c.Project.Schema == spare {
			break
		}
		if _, err := pool.FillSpares(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	if c.Project.Schema != spare {
		t.Skip("the spare was claimed by another test each time")
	}
	var ok bool
	err := env.DB.InTx(ctx, c.Project, func(tx tenant.Tx) error {
		return tx.QueryRow(ctx, `SELECT to_regclass('newer_thing') IS NOT NULL AND EXISTS (SELECT 1 FROM schema_migrations WHERE version = 9500)`).Scan(&ok)
	})
	if err != nil || !ok {
		t.Fatalf("claimed spare not brought up to date: %v %v", ok, err)
	}
}

// Read pins the schema for its one query, and only for it.
func TestReadIsPinnedToTheProject(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	ctx := context.Background()
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	for _, p := range []*tenant.Project{a, b} {
		if err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO audit_events (actor, action, target) VALUES ('t', 'read-test', $1)`, p.Slug)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 { // alternate, so pooled connections and cached statements are reused across schemas
		for _, p := range []*tenant.Project{a, b} {
			var got []string
			err := env.DB.Read(ctx, p, `SELECT target FROM audit_events WHERE action = $1`, []any{"read-test"}, func(rows pgx.Rows) error {
				var err error
				got, err = pgx.CollectRows(rows, pgx.RowTo[string])
				return err
			})
			if err != nil || len(got) != 1 || got[0] != p.Slug {
				t.Fatalf("Read in %s: %v %v", p.Slug, got, err)
			}
		}
	}
	if err := env.DB.Read(ctx, nil, `SELECT 1`, nil, func(pgx.Rows) error { return nil }); !errors.Is(err, tenant.ErrNoProject) {
		t.Fatalf("Read(nil) = %v", err)
	}
}
