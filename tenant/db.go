package tenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/migrations"
)

// DefaultCell is the name of the one Postgres cluster every deployment has.
const DefaultCell = "default"

// DB gives tenant-scoped transactions. It knows which Postgres cluster
// ("cell") holds each project; today every project lives in the default
// cell, which also holds the platform schema.
type DB struct {
	platform *pgxpool.Pool
	cells    map[string]*pgxpool.Pool
}

// NewDB returns a DB with one cell, the platform pool.
func NewDB(platform *pgxpool.Pool) *DB {
	return &DB{platform: platform, cells: map[string]*pgxpool.Pool{DefaultCell: platform}}
}

// Platform returns the pool of the control schema. Only platform-level
// stores (projects, workspaces, keys, billing) use it.
func (d *DB) Platform() *pgxpool.Pool { return d.platform }

func (d *DB) pool(p *Project) (*pgxpool.Pool, error) {
	if p == nil || p.Schema == "" || p.ID.String() == "" {
		return nil, ErrNoProject
	}
	pool, ok := d.cells[p.Cell]
	if !ok {
		return nil, fmt.Errorf("tenant: project %s is placed on unknown cell %q", p.ID, p.Cell)
	}
	return pool, nil
}

// Tx is a transaction pinned to one project's schema. It can only be made
// by DB.InTx, so tenant-scoped code cannot run without a project; a zero Tx
// refuses every call with ErrNoProject.
type Tx struct {
	tx      pgx.Tx
	project *Project
}

// Project is the project this transaction belongs to.
func (t Tx) Project() *Project { return t.project }

// Exec runs a statement in the project's schema.
func (t Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.tx == nil {
		return pgconn.CommandTag{}, ErrNoProject
	}
	return t.tx.Exec(ctx, sql, args...)
}

// Query runs a query in the project's schema.
func (t Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.tx == nil {
		return nil, ErrNoProject
	}
	return t.tx.Query(ctx, sql, args...)
}

// QueryRow runs a one-row query in the project's schema.
func (t Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.tx == nil {
		return errRow{}
	}
	return t.tx.QueryRow(ctx, sql, args...)
}

// CopyFrom bulk-loads rows into a table of the project's schema.
func (t Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if t.tx == nil {
		return 0, ErrNoProject
	}
	return t.tx.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends queued queries in one round trip.
func (t Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.tx == nil {
		return errBatch{}
	}
	return t.tx.SendBatch(ctx, b)
}

type errRow struct{}

func (errRow) Scan(...any) error { return ErrNoProject }

type errBatch struct{}

func (errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, ErrNoProject }
func (errBatch) Query() (pgx.Rows, error)         { return nil, ErrNoProject }
func (errBatch) QueryRow() pgx.Row                { return errRow{} }
func (errBatch) Close() error                     { return ErrNoProject }
func (errBatch) Tx() pgx.Tx                       { return nil }

// TxOptions says how InTx opens its transaction.
type TxOptions struct {
	ReadOnly bool
}

// InTx runs fn in a transaction whose search_path is the project's schema,
// for that transaction only. fn's error rolls back; otherwise it commits.
// A nil project returns ErrNoProject without touching the database.
func (d *DB) InTx(ctx context.Context, p *Project, fn func(Tx) error) error {
	return d.InTxOpts(ctx, p, TxOptions{}, fn)
}

// InTxOpts is InTx with options.
func (d *DB) InTxOpts(ctx context.Context, p *Project, o TxOptions, fn func(Tx) error) error {
	pool, err := d.pool(p)
	if err != nil {
		return err
	}
	opts := pgx.TxOptions{}
	if o.ReadOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	return pgx.BeginTxFunc(ctx, pool, opts, func(tx pgx.Tx) error {
		if err := migrations.PinSchema(ctx, tx, p.Schema); err != nil {
			return fmt.Errorf("tenant: pin schema: %w", err)
		}
		return fn(Tx{tx: tx, project: p})
	})
}

// Postgres error codes the stores map to errx codes.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
)

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgForeignKeyViolation
}

// IsUniqueViolation reports whether err is a Postgres unique violation, and
// on which constraint.
func IsUniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		return pe.ConstraintName, true
	}
	return "", false
}

// NotFoundIfNoRows maps pgx.ErrNoRows to an errx.NotFound with reason.
func NotFoundIfNoRows(err error, reason string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errx.New(errx.NotFound, reason).Wrap(err)
	}
	return err
}
