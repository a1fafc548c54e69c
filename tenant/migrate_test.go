package tenant_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/lanyard-id/lanyard/migrations"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// probe is the "new release" migration the tests roll out. The sleep makes
// a run long enough to kill halfway.
func probeSet(version int) migrations.Set {
	return migrations.Tenant.With(migrations.Migration{
		Version: version, Name: "probe",
		SQL: fmt.Sprintf(`CREATE TABLE probe_%d (id int PRIMARY KEY); INSERT INTO probe_%d VALUES (1); SELECT pg_sleep(0.004);`, version, version),
	})
}

// noopProbeSet is a realistic small migration (a new table and index)
// without the sleep, for benchmarks.
func noopProbeSet(version int) migrations.Set {
	return migrations.Tenant.With(migrations.Migration{
		Version: version, Name: "bench",
		SQL: fmt.Sprintf(`CREATE TABLE bench_%d (id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now()); CREATE INDEX ON bench_%d (created_at);`, version, version),
	})
}

const childEnv = "LANYARD_TEST_MIGRATE_CHILD_DB"

// TestMigrateChild is the process the crash test kills; it only runs when
// started by TestMigrateThousandProjects.
func TestMigrateChild(t *testing.T) {
	url := os.Getenv(childEnv)
	if url == "" {
		t.Skip("helper process for TestMigrateThousandProjects")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	set := probeSet(9001)
	reg := tenant.NewRegistry(tenant.NewDB(pool), tenant.RegistryOptions{Migrations: &set})
	_, err = reg.MigrateTenants(ctx, tenant.MigrateOptions{Concurrency: 4, Progress: func(done, total int) {
		fmt.Printf("progress %d %d\n", done, total)
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func createProjects(t *testing.T, reg *tenant.Registry, n int) []*tenant.Project {
	return createProjectsTB(t, reg, n)
}

func createProjectsTB(t testing.TB, reg *tenant.Registry, n int) []*tenant.Project {
	return tenanttest.CreateProjects(t, reg, n)
}

// probeState reports, per project, whether the probe migration is recorded
// and whether its table is there; the two must always agree.
func probeState(t *testing.T, env *tenanttest.Env, ps []*tenant.Project, version int) (done int) {
	t.Helper()
	ctx := context.Background()
	for _, p := range ps {
		var recorded, table bool
		err := env.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&recorded); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, fmt.Sprintf("probe_%d", version)).Scan(&table)
		})
		if err != nil {
			t.Fatal(err)
		}
		if recorded != table {
			t.Fatalf("project %s is half-migrated: recorded=%v table=%v", p.Slug, recorded, table)
		}
		if recorded {
			done++
		}
	}
	return done
}

// TestMigrateThousandProjects rolls a new tenant migration out to 1,000
// project schemas: a run killed halfway (SIGKILL) leaves no schema half
// migrated, the next run finishes the rest, a third does nothing, and two
// runs started at once migrate each schema once.
func TestMigrateThousandProjects(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,000 projects")
	}
	// Its own database: the run must see exactly these projects.
	env := tenanttest.Get(t)
	ctx := context.Background()
	ps := createProjects(t, env.Registry, 1000)
	_ = ps

	// 1. Start a run in a child process and kill it a third of the way in.
	cmd := exec.Command(os.Args[0], "-test.run=^TestMigrateChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+env.DatabaseURL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	killedAt := -1
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "progress" {
			if n, _ := strconv.Atoi(f[1]); n >= 300 {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killedAt = n
				break
			}
		}
	}
	_ = cmd.Wait()
	if killedAt < 0 {
		t.Fatal("the child finished before it could be killed")
	}
	all := listAll(t, env)
	done := probeState(t, env, all, 9001)
	t.Logf("killed after %d schemas; %d schemas carry the migration", killedAt, done)
	if done < killedAt || done >= len(all) {
		t.Fatalf("after the kill %d of %d schemas migrated; want between %d and %d", done, len(all), killedAt, len(all)-1)
	}

	// 2. The next run finishes exactly the rest.
	set := probeSet(9001)
	reg := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &set})
	var mu sync.Mutex
	var progress []int
	res, err := reg.MigrateTenants(ctx, tenant.MigrateOptions{Concurrency: 8, Progress: func(d, _ int) {
		mu.Lock()
		progress = append(progress, d)
		mu.Unlock()
	}})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("second run: %v %v", err, res.Failed)
	}
	if res.Migrated != len(all)-done || len(progress) != res.Visited {
		t.Fatalf("second run migrated %d (progress calls %d), want %d", res.Migrated, len(progress), len(all)-done)
	}
	if got := probeState(t, env, all, 9001); got != len(all) {
		t.Fatalf("after the second run %d of %d migrated", got, len(all))
	}

	// 3. A third run has nothing to do and visits nothing.
	res, err = reg.MigrateTenants(ctx, tenant.MigrateOptions{})
	if err != nil || res.Visited != 0 || res.Migrated != 0 {
		t.Fatalf("third run: %+v %v", res, err)
	}

	// 4. Two runs of a further migration at once: each schema once.
	set2 := probeSet(9002)
	var results [2]tenant.MigrateResult
	g := errgroup.Group{}
	for i := range results {
		g.Go(func() error {
			r := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &set2})
			var err error
			results[i], err = r.MigrateTenants(ctx, tenant.MigrateOptions{Concurrency: 4})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if sum := results[0].Migrated + results[1].Migrated; sum != len(all) {
		t.Fatalf("concurrent runs migrated %d + %d schemas, want %d in all", results[0].Migrated, results[1].Migrated, len(all))
	}
	if got := probeState(t, env, all, 9002); got != len(all) {
		t.Fatalf("after concurrent runs %d of %d migrated", got, len(all))
	}

	// 5. A schema restored from an old backup (migration missing, but the
	// platform row says up to date) is found by --all and finished.
	victim := all[17]
	err = env.DB.InTx(ctx, victim, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `DROP TABLE probe_9002; DELETE FROM schema_migrations WHERE version = 9002`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := tenant.NewRegistry(env.DB, tenant.RegistryOptions{Migrations: &set2})
	res, err = r.MigrateTenants(ctx, tenant.MigrateOptions{All: true})
	if err != nil || res.Migrated != 1 || res.Applied != 1 {
		t.Fatalf("--all run: %+v %v", res, err)
	}
	if got := probeState(t, env, []*tenant.Project{victim}, 9002); got != 1 {
		t.Fatal("restored schema not finished")
	}
}

func listAll(t *testing.T, env *tenanttest.Env) []*tenant.Project {
	t.Helper()
	ps, err := env.Registry.List(context.Background(), tenant.ListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	more, err := env.Registry.List(context.Background(), tenant.ListParams{Limit: 1000, Before: ps[len(ps)-1]})
	if err != nil {
		t.Fatal(err)
	}
	return append(ps, more...)
}
