// Package tenant is Lanyard's project registry and the only way to reach a
// project's data. It resolves a request to exactly one project, provisions
// and deletes project schemas, issues and checks project API keys, and hands
// out transactions pinned to one project's schema.
//
// Errors: lookups return errx.NotFound for unknown or deleted projects;
// creation returns errx.Invalid for bad names and errx.Conflict when a slug
// is taken; API key checks return errx.Unauthorized.
package tenant

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Project states.
const (
	StateActive   = "active"
	StateDeleting = "deleting"
	StateDeleted  = "deleted"
)

// Environments.
const (
	EnvDev  = "dev"
	EnvProd = "prod"
)

// Project is one tenant.
type Project struct {
	ID            uuid.UUID `json:"id"`
	WorkspaceID   uuid.UUID `json:"workspace_id"`
	Slug          string    `json:"slug"`
	Name          string    `json:"name"`
	Environment   string    `json:"environment"`
	Schema        string    `json:"-"`
	Cell          string    `json:"cell"`
	State         string    `json:"state"`
	TenantVersion int       `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type ctxKey struct{}

// WithProject returns ctx carrying p.
func WithProject(ctx context.Context, p *Project) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// ErrNoProject is returned when tenant-scoped code runs without a project.
var ErrNoProject = errx.New(errx.NotFound, "No project is bound to this request.").WithID("project_not_found")

// FromContext returns the project bound to ctx, or ErrNoProject. There is
// no default project.
func FromContext(ctx context.Context) (*Project, error) {
	p, ok := ctx.Value(ctxKey{}).(*Project)
	if !ok || p == nil {
		return nil, ErrNoProject
	}
	return p, nil
}

// Workspace owns projects and is the unit of membership and billing.
type Workspace struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}
