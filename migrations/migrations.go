// Package migrations holds Lanyard's embedded SQL migrations and the code
// that applies one set to one schema. Platform migrations build the control
// schema "platform"; tenant migrations build every project schema. Each
// schema keeps its own version table, schema_migrations.
//
// Migrations are up-only and forward-fixed. Each one runs in the caller's
// transaction together with its version row, so a schema is always at a
// whole version: a crash leaves it at the last committed one and the next
// run finishes the rest.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
)

//go:embed platform/*.sql tenant/*.sql
var files embed.FS

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Set is an ordered list of migrations for one kind of schema.
type Set struct {
	migrations []Migration
}

var fileRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Load reads NNNN_name.sql files from dir in fsys. Versions must be unique.
func Load(fsys fs.FS, dir string) (Set, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return Set{}, fmt.Errorf("migrations.Load: %w", err)
	}
	var s Set
	seen := map[int]string{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return Set{}, fmt.Errorf("migrations.Load: %s: name must be NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if other, dup := seen[v]; dup {
			return Set{}, fmt.Errorf("migrations.Load: %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return Set{}, fmt.Errorf("migrations.Load: %w", err)
		}
		s.migrations = append(s.migrations, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	sort.Slice(s.migrations, func(i, j int) bool { return s.migrations[i].Version < s.migrations[j].Version })
	return s, nil
}

func mustLoad(dir string) Set {
	s, err := Load(files, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// Platform and Tenant are the migrations shipped with this binary.
var (
	Platform = mustLoad("platform")
	Tenant   = mustLoad("tenant")
)

// With returns a copy of s with extra migrations appended (used by tests
// that rehearse a new migration).
func (s Set) With(extra ...Migration) Set {
	out := Set{migrations: append(append([]Migration(nil), s.migrations...), extra...)}
	sort.Slice(out.migrations, func(i, j int) bool { return out.migrations[i].Version < out.migrations[j].Version })
	return out
}

// Latest is the highest version in s (0 when empty).
func (s Set) Latest() int {
	if len(s.migrations) == 0 {
		return 0
	}
	return s.migrations[len(s.migrations)-1].Version
}

// All returns the migrations in order.
func (s Set) All() []Migration { return append([]Migration(nil), s.migrations...) }

const versionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// Apply brings the schema that tx has pinned as its search_path up to date:
// it creates the version table if needed, reads which versions are there
// and applies the missing ones in order, each with its version row. It
// returns the versions it applied. The caller owns the transaction and any
// lock that keeps two appliers off the same schema.
func (s Set) Apply(ctx context.Context, tx pgx.Tx) ([]int, error) {
	if _, err := tx.Exec(ctx, versionTable); err != nil {
		return nil, fmt.Errorf("migrations.Apply: version table: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrations.Apply: read versions: %w", err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("migrations.Apply: read versions: %w", err)
	}
	done := make(map[int]bool, len(have))
	for _, v := range have {
		done[int(v)] = true
	}
	var applied []int
	for _, m := range s.migrations {
		if done[m.Version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return applied, fmt.Errorf("migrations.Apply: %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return applied, fmt.Errorf("migrations.Apply: record %04d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// PinSchema sets the search_path of tx (for this transaction only) to the
// quoted schema name.
func PinSchema(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, pgx.Identifier{schema}.Sanitize())
	return err
}
