// Package platform is the dashboard's platform API under /api/v1: the
// signed-in account (a session of the built-in console project) or a
// workspace access token manages workspaces, members, invitations, access
// tokens, projects, project API keys and a project's identities. Every call
// checks membership and role against Postgres (nothing about membership
// is cached, so a removed member loses access with the next request), and
// every change is written to the workspace's audit log.
//
// Errors: unauthenticated calls get errx.Unauthorized; a workspace or
// project the caller is not a member of is errx.NotFound, exactly like one
// that does not exist; a role too low for the call is errx.Forbidden.
package platform

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/pagetoken"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// Role is a member's (or token's) role in a workspace.
type Role string

// Roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r grants what min grants.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

// Mailer sends mail through a project's courier (worker/courier.Service).
type Mailer interface {
	Send(ctx context.Context, p *tenant.Project, m courier.Message) (uuid.UUID, error)
}

// Options are the API's dependencies, passed explicitly by the command.
type Options struct {
	Registry *tenant.Registry
	Sessions *session.Service
	Mailer   Mailer
	// Admin serves a project's admin API for the project bound to the
	// request context (internal/server.ProjectAdmin).
	Admin http.Handler
	// Sealer seals page tokens.
	Sealer pagetoken.Sealer
	// ProjectURL is the public URL of the project with a slug.
	ProjectURL func(slug string) string
	// DashboardURL is the dashboard's public URL (invitation links).
	DashboardURL string
	// ConsoleSlug is the slug of the project whose identities are the
	// accounts ("console").
	ConsoleSlug string
	// InvitationTTL is how long an invitation stays valid (7 days).
	InvitationTTL time.Duration
	// Billing serves the Billing page (plans, usage, Checkout and the
	// customer portal); nil answers its endpoints with 503.
	Billing *billing.Service
	// BodyLimit bounds request bodies (bytes; 1 MiB when zero).
	BodyLimit int64
	Log       *slog.Logger
}

// API is the platform API.
type API struct {
	o      Options
	st     *store
	origin string // scheme://host of DashboardURL
}

// New returns the API.
func New(o Options) *API {
	if o.InvitationTTL == 0 {
		o.InvitationTTL = 7 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 1 << 20
	}
	if o.ConsoleSlug == "" {
		o.ConsoleSlug = "console"
	}
	a := &API{o: o, st: &store{db: o.Registry.DB().Platform()}}
	if u, err := url.Parse(o.DashboardURL); err == nil {
		a.origin = u.Scheme + "://" + u.Host
	}
	return a
}

// Principal is who makes a platform API call: an account or a workspace
// access token.
type Principal struct {
	Kind string // "account" or "token"
	// Account fields.
	AccountID uuid.UUID
	Email     string
	Verified  bool // the account's email address is verified
	// Token fields.
	TokenID        uuid.UUID
	TokenName      string
	TokenWorkspace uuid.UUID
	TokenRole      Role
}

// Principal kinds.
const (
	KindAccount = "account"
	KindToken   = "token"
)

func (p *Principal) actorID() uuid.UUID {
	if p.Kind == KindToken {
		return p.TokenID
	}
	return p.AccountID
}

func (p *Principal) actorName() string {
	if p.Kind == KindToken {
		return "token:" + p.TokenName
	}
	return p.Email
}

var (
	errUnauthorized      = errx.New(errx.Unauthorized, "The request could not be authorized: sign in to the dashboard or send a workspace access token as 'Authorization: Bearer <token>'.").WithID("session_inactive")
	errWorkspaceNotFound = errx.New(errx.NotFound, "The workspace could not be found.").WithID("workspace_not_found")
	errProjectNotFound   = errx.New(errx.NotFound, "The project could not be found.").WithID("project_not_found")
	errAccountOnly       = errx.New(errx.Forbidden, "This action needs a signed-in account; workspace access tokens cannot do it.").WithID("account_required")
)

func errRole(need Role) error {
	return errx.Newf(errx.Forbidden, "This action needs the %s role in the workspace.", need).WithID("insufficient_role")
}
