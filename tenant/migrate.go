package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/lanyard-id/lanyard/migrations"
)

// migrateLockKey is the advisory lock that keeps two migration runs apart.
const migrateLockKey int64 = 0x4c616e7961726431 // "Lanyard1"

// WithMigrationLock runs fn while holding the cluster-wide migration lock on
// a dedicated connection; a second run waits for the first to finish.
func WithMigrationLock(ctx context.Context, pool *pgxpool.Pool, fn func() error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even when ctx ended.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
	}()
	return fn()
}

// MigratePlatform creates the platform schema if needed and applies the
// platform migrations, under the migration lock.
func MigratePlatform(ctx context.Context, pool *pgxpool.Pool, set migrations.Set) ([]int, error) {
	var applied []int
	err := WithMigrationLock(ctx, pool, func() error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS platform`); err != nil {
				return err
			}
			if err := migrations.PinSchema(ctx, tx, "platform"); err != nil {
				return err
			}
			var err error
			applied, err = set.Apply(ctx, tx)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("tenant.MigratePlatform: %w", err)
	}
	return applied, nil
}

// MigrateOptions tunes MigrateTenants.
type MigrateOptions struct {
	// Concurrency is how many schemas migrate at once (default 4).
	Concurrency int
	// All checks every active schema, not only those whose recorded
	// version is behind (use after restoring a schema from a backup).
	All bool
	// Progress, if set, is called after each schema with the counts so far.
	Progress func(done, total int)
	// Total, if set, is called once the number of schemas to visit is known.
	Total func(total int)
}

// MigrateResult summarises a run.
type MigrateResult struct {
	Visited  int     // schemas looked at
	Migrated int     // schemas that had at least one migration applied
	Applied  int     // migrations applied in all
	Failed   []error // one per schema that failed, with its project id
}

type pendingSchema struct {
	id     uuid.UUID // uuid.Nil for a spare schema
	schema string
	cell   string
	spare  bool
}

// MigrateTenants applies the registry's tenant migrations to every active
// project schema that needs them, with bounded concurrency, under the
// migration lock. Each schema migrates in its own transaction, together
// with its recorded version, so a run killed halfway leaves every schema
// at a whole version and the next run finishes the rest. Projects created
// while the run goes on are picked up by a final pass.
func (r *Registry) MigrateTenants(ctx context.Context, o MigrateOptions) (MigrateResult, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	var res MigrateResult
	err := WithMigrationLock(ctx, r.db.Platform(), func() error {
		failed := map[string]bool{}
		for pass := 0; ; pass++ {
			todo, err := r.pendingSchemas(ctx, o.All && pass == 0, failed)
			if err != nil {
				return err
			}
			if len(todo) == 0 {
				return nil
			}
			if o.Total != nil {
				o.Total(res.Visited + len(todo))
			}
			if err := r.migrateBatch(ctx, todo, o, &res, failed); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return res, fmt.Errorf("tenant.MigrateTenants: %w", err)
	}
	return res, nil
}

func (r *Registry) pendingSchemas(ctx context.Context, all bool, skip map[string]bool) ([]pendingSchema, error) {
	latest := r.migrations.Latest()
	if all {
		latest = int(^uint32(0) >> 1)
	}
	rows, err := r.db.Platform().Query(ctx, `
		SELECT id, schema_name, cell, false FROM platform.projects WHERE state = 'active' AND tenant_version < $1
		UNION ALL
		SELECT $2::uuid, schema_name, cell, true FROM platform.spare_schemas WHERE tenant_version < $1
		ORDER BY 4, 1, 2`, latest, uuid.Nil)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingSchema
	for rows.Next() {
		var s pendingSchema
		if err := rows.Scan(&s.id, &s.schema, &s.cell, &s.spare); err != nil {
			return nil, err
		}
		if !skip[s.schema] {
			out = append(out, s)
		}
	}
	return out, rows.Err()
}

func (r *Registry) migrateBatch(ctx context.Context, todo []pendingSchema, o MigrateOptions, res *MigrateResult, failed map[string]bool) error {
	var mu sync.Mutex
	var visited, migrated, applied atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for _, s := range todo {
		g.Go(func() error {
			n, err := r.migrateSchema(gctx, s)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				mu.Lock()
				failed[s.schema] = true
				what := "project " + s.id.String()
				if s.spare {
					what = "spare"
				}
				res.Failed = append(res.Failed, fmt.Errorf("%s (schema %s): %w", what, s.schema, err))
				mu.Unlock()
			}
			if n > 0 {
				migrated.Add(1)
				applied.Add(int64(n))
			}
			v := visited.Add(1)
			if o.Progress != nil {
				o.Progress(res.Visited+int(v), res.Visited+len(todo))
			}
			return nil
		})
	}
	err := g.Wait()
	res.Visited += int(visited.Load())
	res.Migrated += int(migrated.Load())
	res.Applied += int(applied.Load())
	return err
}

// migrateSchema brings one schema up to date and records its version.
func (r *Registry) migrateSchema(ctx context.Context, s pendingSchema) (int, error) {
	p := &Project{ID: s.id, Schema: s.schema, Cell: s.cell}
	cell, err := r.db.lanes(p)
	if err != nil {
		return 0, err
	}
	pc, err := cell.acquire(ctx, p.Schema)
	if err != nil {
		return 0, err
	}
	defer pc.Release()
	var n int
	err = pgx.BeginFunc(ctx, pc.Conn(), func(tx pgx.Tx) error {
		// Serialise with anything else migrating this schema.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.schema); err != nil {
			return err
		}
		if s.spare {
			// A spare claimed meanwhile is its project's now: the claim
			// brought it up to date.
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM platform.spare_schemas WHERE schema_name = $1 FOR UPDATE`, s.schema).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errors.New("schema is missing")
		}
		if err := migrations.PinSchema(ctx, tx, s.schema); err != nil {
			return err
		}
		done, err := r.migrations.Apply(ctx, tx)
		if err != nil {
			return err
		}
		n = len(done)
		var version int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
			return err
		}
		if s.spare {
			_, err = tx.Exec(ctx, `UPDATE platform.spare_schemas SET tenant_version = $2 WHERE schema_name = $1`, s.schema, version)
		} else {
			_, err = tx.Exec(ctx, `UPDATE platform.projects SET tenant_version = $2 WHERE id = $1`, s.id, version)
		}
		return err
	})
	return n, err
}
