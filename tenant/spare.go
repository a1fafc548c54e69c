package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/migrations"
)

// Spare schemas: project schemas built and migrated ahead of time. Creating
// a project claims one in its transaction (so a failed creation puts it
// back), which keeps creation fast however many tenant migrations exist;
// when none is left, creation builds a schema itself.

// claimSpare takes the oldest spare schema of the cell, brings it up to the
// registry's migrations and returns its name, or "" when there is none.
func (r *Registry) claimSpare(ctx context.Context, tx pgx.Tx, cell string) (string, error) {
	var schema string
	err := tx.QueryRow(ctx, `DELETE FROM platform.spare_schemas WHERE schema_name = (
			SELECT schema_name FROM platform.spare_schemas WHERE cell = $1
			ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING schema_name`, cell).Scan(&schema)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("claim spare schema: %w", err)
	}
	if err := migrations.PinSchema(ctx, tx, schema); err != nil {
		return "", err
	}
	if _, err := r.migrations.Apply(ctx, tx); err != nil {
		return "", fmt.Errorf("bring spare schema up to date: %w", err)
	}
	return schema, nil
}

// FillSpares creates spare schemas until the default cell has target of
// them, one transaction each. It returns how many it created.
func (r *Registry) FillSpares(ctx context.Context, target int) (int, error) {
	var have int
	if err := r.db.Platform().QueryRow(ctx, `SELECT count(*) FROM platform.spare_schemas WHERE cell = $1`, DefaultCell).Scan(&have); err != nil {
		return 0, fmt.Errorf("tenant.Registry.FillSpares: %w", err)
	}
	created := 0
	for ; have+created < target; created++ {
		err := pgx.BeginFunc(ctx, r.db.Platform(), func(tx pgx.Tx) error {
			schema := newSchemaName()
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
				return err
			}
			if err := migrations.PinSchema(ctx, tx, schema); err != nil {
				return err
			}
			if _, err := r.migrations.Apply(ctx, tx); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO platform.spare_schemas (schema_name, cell, tenant_version) VALUES ($1, $2, $3)`,
				schema, DefaultCell, r.migrations.Latest())
			return err
		})
		if err != nil {
			return created, fmt.Errorf("tenant.Registry.FillSpares: %w", err)
		}
	}
	return created, nil
}

// refillSoon tops the spare pool up in the background after a claim; one
// refill runs at a time per registry.
func (r *Registry) refillSoon() {
	if r.spares <= 0 || !r.refilling.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer r.refilling.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := r.FillSpares(ctx, r.spares); err != nil {
			r.log.Warn("spare schema refill failed; the worker sweep retries", "error", err)
		}
	}()
}

// Spares is the pool size this registry keeps.
func (r *Registry) Spares() int { return r.spares }
