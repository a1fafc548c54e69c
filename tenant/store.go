package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/migrations"
)

// Registry is the store of workspaces, projects, domains and API keys, and
// the provisioner of project schemas.
type Registry struct {
	db         *DB
	migrations migrations.Set
	cache      *projectCache
	keys       *keyCache
	log        *slog.Logger
	spares     int
	refilling  atomic.Bool
	quota      ProjectQuota
	// touched remembers when this process last recorded each key's use.
	touched sync.Map
}

// RegistryOptions configures a Registry.
type RegistryOptions struct {
	// Migrations are the tenant migrations applied to new schemas; the
	// embedded set when zero.
	Migrations *migrations.Set
	// Notifier tells other processes that a project changed; may be nil.
	Notifier Notifier
	// CacheTTL bounds how long a project lookup is served from memory
	// when no change notice arrives; 0 means 30 s.
	CacheTTL time.Duration
	Logger   *slog.Logger
	// Spares is how many pre-built project schemas to keep ready (0: none;
	// creation then builds each schema itself).
	Spares int
	// Quota refuses a project its workspace's plan does not allow (nil:
	// no limit).
	Quota ProjectQuota
}

// ProjectQuota decides whether a workspace may create another project; it
// returns the error to show (billing.Service implements it).
type ProjectQuota interface {
	AllowProject(ctx context.Context, workspaceID uuid.UUID) error
}

// NewRegistry returns a Registry over db.
func NewRegistry(db *DB, o RegistryOptions) *Registry {
	set := migrations.Tenant
	if o.Migrations != nil {
		set = *o.Migrations
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cache := newProjectCache(o.CacheTTL, o.Notifier)
	return &Registry{db: db, migrations: set, cache: cache, keys: cache.keys, log: o.Logger, spares: o.Spares, quota: o.Quota}
}

// DB returns the tenant DB the registry provisions into.
func (r *Registry) DB() *DB { return r.db }

const projectColumns = `id, workspace_id, slug, name, environment, schema_name, cell, state, tenant_version, created_at, updated_at`

func scanProject(row pgx.Row) (*Project, error) {
	var p Project
	err := row.Scan(&p.ID, &p.WorkspaceID, &p.Slug, &p.Name, &p.Environment, &p.Schema, &p.Cell, &p.State, &p.TenantVersion, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateParams describes a new project.
type CreateParams struct {
	Name        string
	Environment string    // dev (default) or prod
	WorkspaceID uuid.UUID // the default workspace when zero
	Slug        string    // generated when empty
	KeyName     string    // name of the first API key; "default" when empty
}

// Created is a new project and the secret of its first API key, which is
// shown once and never stored.
type Created struct {
	Project *Project
	APIKey  string
}

// Create provisions a project: its row, its schema with every tenant
// migration and its first API key, in one transaction, so that a failure
// leaves nothing behind.
func (r *Registry) Create(ctx context.Context, cp CreateParams) (*Created, error) {
	name, err := ValidateName(cp.Name)
	if err != nil {
		return nil, err
	}
	env := cp.Environment
	switch env {
	case "":
		env = EnvDev
	case EnvDev, EnvProd:
	default:
		return nil, errx.Newf(errx.Invalid, "The environment must be %q or %q.", EnvDev, EnvProd)
	}
	if cp.Slug != "" && !SlugRE.MatchString(cp.Slug) {
		return nil, errx.New(errx.Invalid, "The slug must be 2 to 63 lower-case letters, digits or dashes.")
	}
	wsID := cp.WorkspaceID
	if wsID == uuid.Nil {
		if wsID, err = r.DefaultWorkspace(ctx); err != nil {
			return nil, err
		}
	}
	if r.quota != nil {
		if err := r.quota.AllowProject(ctx, wsID); err != nil {
			return nil, err
		}
	}
	keyName := cp.KeyName
	if keyName == "" {
		keyName = "default"
	}
	for attempt := 0; ; attempt++ {
		slug := cp.Slug
		if slug == "" {
			slug = NewSlug()
		}
		created, err := r.create(ctx, wsID, slug, name, env, keyName)
		if c, ok := IsUniqueViolation(err); ok && c == "projects_slug_key" {
			if cp.Slug != "" || attempt >= 4 {
				return nil, errx.Newf(errx.Conflict, "The slug %q is taken.", slug).Wrap(err)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tenant.Registry.Create: %w", err)
		}
		r.cache.changed(ctx, created.Project.Slug)
		return created, nil
	}
}

func (r *Registry) create(ctx context.Context, wsID uuid.UUID, slug, name, env, keyName string) (*Created, error) {
	var out *Created
	claimed := false
	err := pgx.BeginFunc(ctx, r.db.Platform(), func(tx pgx.Tx) error {
		schema, err := r.claimSpare(ctx, tx, DefaultCell)
		if err != nil {
			return err
		}
		claimed = schema != ""
		if !claimed {
			schema = newSchemaName()
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
			if err := migrations.PinSchema(ctx, tx, schema); err != nil {
				return err
			}
			if _, err := r.migrations.Apply(ctx, tx); err != nil {
				return err
			}
		}
		p, err := scanProject(tx.QueryRow(ctx, `
			INSERT INTO platform.projects (id, workspace_id, slug, name, environment, schema_name, cell, tenant_version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			RETURNING `+projectColumns,
			uuid.New(), wsID, slug, name, env, schema, DefaultCell, r.migrations.Latest()))
		if err != nil {
			if isForeignKeyViolation(err) {
				return errx.New(errx.NotFound, "The workspace does not exist.").Wrap(err)
			}
			return err
		}
		secret, err := insertAPIKey(ctx, tx, p.ID, keyName)
		if err != nil {
			return err
		}
		out = &Created{Project: p, APIKey: secret}
		return nil
	})
	if err == nil && (claimed || r.spares > 0) {
		r.refillSoon()
	}
	return out, err
}

// DefaultWorkspace returns the id of the operator's default workspace,
// creating it on first use.
func (r *Registry) DefaultWorkspace(ctx context.Context) (uuid.UUID, error) {
	var id uuid.UUID
	for range 3 {
		err := r.db.Platform().QueryRow(ctx, `SELECT id FROM platform.workspaces WHERE is_default`).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, fmt.Errorf("tenant.Registry.DefaultWorkspace: %w", err)
		}
		// Two callers may race here; the loser's insert does nothing and
		// its next select (a new snapshot) sees the winner's row.
		err = r.db.Platform().QueryRow(ctx, `INSERT INTO platform.workspaces (id, name, is_default) VALUES ($1, 'Default', true)
			ON CONFLICT (is_default) WHERE is_default DO NOTHING RETURNING id`, uuid.New()).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, fmt.Errorf("tenant.Registry.DefaultWorkspace: %w", err)
		}
	}
	return uuid.Nil, errors.New("tenant.Registry.DefaultWorkspace: no default workspace after retries")
}

// CreateWorkspace makes a workspace.
func (r *Registry) CreateWorkspace(ctx context.Context, name string) (*Workspace, error) {
	name, err := ValidateName(name)
	if err != nil {
		return nil, err
	}
	w := Workspace{ID: uuid.New(), Name: name}
	err = r.db.Platform().QueryRow(ctx, `INSERT INTO platform.workspaces (id, name) VALUES ($1, $2) RETURNING created_at`, w.ID, w.Name).Scan(&w.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("tenant.Registry.CreateWorkspace: %w", err)
	}
	return &w, nil
}

var errProjectNotFound = errx.New(errx.NotFound, "The requested project could not be found.").WithID("project_not_found")

// BySlug returns the active project with this slug, or errx.NotFound.
func (r *Registry) BySlug(ctx context.Context, slug string) (*Project, error) {
	if !SlugRE.MatchString(slug) {
		return nil, errProjectNotFound
	}
	return r.cache.get(ctx, "s:"+slug, func(ctx context.Context) (*Project, error) {
		return r.queryOne(ctx, `SELECT `+projectColumns+` FROM platform.projects WHERE slug = $1 AND state = 'active'`, slug)
	})
}

// ByDomain returns the active project served on a custom domain.
func (r *Registry) ByDomain(ctx context.Context, host string) (*Project, error) {
	return r.cache.get(ctx, "d:"+host, func(ctx context.Context) (*Project, error) {
		return r.queryOne(ctx, `SELECT p.id, p.workspace_id, p.slug, p.name, p.environment, p.schema_name, p.cell, p.state, p.tenant_version, p.created_at, p.updated_at
			FROM platform.project_domains d JOIN platform.projects p ON p.id = d.project_id
			WHERE d.domain = $1 AND p.state = 'active'`, host)
	})
}

// ByID returns a project in any state but deleted.
func (r *Registry) ByID(ctx context.Context, id uuid.UUID) (*Project, error) {
	return r.queryOne(ctx, `SELECT `+projectColumns+` FROM platform.projects WHERE id = $1 AND state <> 'deleted'`, id)
}

// Lookup finds an active project by slug, or by id when ref is a UUID.
func (r *Registry) Lookup(ctx context.Context, ref string) (*Project, error) {
	if id, err := uuid.Parse(ref); err == nil {
		p, err := r.ByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if p.State != StateActive {
			return nil, errProjectNotFound
		}
		return p, nil
	}
	return r.BySlug(ctx, ref)
}

func (r *Registry) queryOne(ctx context.Context, sql string, args ...any) (*Project, error) {
	p, err := scanProject(r.db.Platform().QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errProjectNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("tenant.Registry: %w", err)
	}
	return p, nil
}

// ListParams pages through projects, newest first.
type ListParams struct {
	WorkspaceID uuid.UUID // all workspaces when zero
	Limit       int       // 100 when zero, at most 1000
	Before      *Project  // the last project of the previous page
}

// List returns active projects.
func (r *Registry) List(ctx context.Context, lp ListParams) ([]*Project, error) {
	if lp.Limit <= 0 {
		lp.Limit = 100
	}
	lp.Limit = min(lp.Limit, 1000)
	var beforeAt *time.Time
	var beforeID *uuid.UUID
	if lp.Before != nil {
		beforeAt, beforeID = &lp.Before.CreatedAt, &lp.Before.ID
	}
	var ws *uuid.UUID
	if lp.WorkspaceID != uuid.Nil {
		ws = &lp.WorkspaceID
	}
	rows, err := r.db.Platform().Query(ctx, `SELECT `+projectColumns+` FROM platform.projects
		WHERE state = 'active' AND ($1::uuid IS NULL OR workspace_id = $1)
		  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, ws, beforeAt, beforeID, lp.Limit)
	if err != nil {
		return nil, fmt.Errorf("tenant.Registry.List: %w", err)
	}
	defer rows.Close()
	var out []*Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("tenant.Registry.List: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Delete soft-deletes a project: it is marked deleting and stops answering
// at once; its schema is dropped later by DropSchema (a worker job).
func (r *Registry) Delete(ctx context.Context, id uuid.UUID) (*Project, error) {
	p, err := r.queryOne(ctx, `UPDATE platform.projects SET state = 'deleting', deleted_at = now(), updated_at = now()
		WHERE id = $1 AND state = 'active' RETURNING `+projectColumns, id)
	if err != nil {
		return nil, err
	}
	r.cache.changed(ctx, p.Slug)
	return p, nil
}

// DropSchema drops the schema of a project marked deleting and marks it
// deleted. It is idempotent: a project already dropped is left alone.
func (r *Registry) DropSchema(ctx context.Context, id uuid.UUID) error {
	defer r.cache.changed(ctx, "") // its keys were revoked
	return pgx.BeginFunc(ctx, r.db.Platform(), func(tx pgx.Tx) error {
		var schema string
		err := tx.QueryRow(ctx, `SELECT schema_name FROM platform.projects WHERE id = $1 AND state = 'deleting' FOR UPDATE`, id).Scan(&schema)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tenant.Registry.DropSchema: %w", err)
		}
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			return fmt.Errorf("tenant.Registry.DropSchema: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM platform.project_domains WHERE project_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE platform.project_api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE project_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE platform.projects SET state = 'deleted', updated_at = now() WHERE id = $1`, id)
		return err
	})
}

// PendingDrops lists projects marked deleting before the given time.
func (r *Registry) PendingDrops(ctx context.Context, before time.Time, limit int) ([]uuid.UUID, error) {
	rows, err := r.db.Platform().Query(ctx, `SELECT id FROM platform.projects WHERE state = 'deleting' AND deleted_at < $1 ORDER BY deleted_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("tenant.Registry.PendingDrops: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// AddDomain binds a custom host name to a project.
func (r *Registry) AddDomain(ctx context.Context, projectID uuid.UUID, domain string) error {
	_, err := r.db.Platform().Exec(ctx, `INSERT INTO platform.project_domains (domain, project_id) VALUES (lower($1), $2)`, domain, projectID)
	if _, ok := IsUniqueViolation(err); ok {
		return errx.Newf(errx.Conflict, "The domain %q is already in use.", domain)
	}
	if err != nil {
		return fmt.Errorf("tenant.Registry.AddDomain: %w", err)
	}
	r.cache.changed(ctx, "")
	return nil
}
