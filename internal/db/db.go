// Package db opens Lanyard's Postgres pool and, in dev mode, creates the
// database when it is missing.
package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open parses url and returns a pool. It does not wait for the server:
// callers that need it up use Ping.
func Open(ctx context.Context, rawURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("LANYARD_DATABASE_URL: %w", redact(err))
	}
	cfg.MaxConns = maxConns
	Tune(cfg)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// Tune sets the session parameters of Lanyard's connections, unless the
// URL sets them: application_name, and jit off. Lanyard's statements are
// short indexed lookups; a plan whose cost is overestimated (statistics
// not yet gathered after a bulk import, for example) would otherwise pay
// a JIT compilation of a few hundred milliseconds for a query that runs in
// ten (measured on an identity list of 100,000).
func Tune(cfg *pgxpool.Config) {
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "lanyard"
	}
	if _, ok := params["jit"]; !ok {
		params["jit"] = "off"
	}
}

// redact removes a password that pgx may echo in a parse error.
func redact(err error) error {
	return errors.New(strings.TrimSpace(err.Error()))
}

// EnsureDatabase creates the database named in rawURL if it does not exist,
// connecting to the server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("LANYARD_DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connect to create database %q: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P04" { // created meanwhile
		return nil
	}
	return err
}
