package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// DashboardRouter is the HTTP surface of the dashboard service.
func DashboardRouter(d Deps) *gin.Engine { return DashboardRouterWith(d, nil) }

// Mount adds routes to a router; the command uses it to mount the platform
// API (package dashboard, which nothing but the command imports).
type Mount func(r *gin.Engine)

// DashboardRouterWith is DashboardRouter plus the platform API routes that
// mount adds (under /api/v1).
func DashboardRouterWith(d Deps, mount Mount) *gin.Engine {
	r := newEngine(d, "dashboard")
	d.Health().Register(r)
	r.GET("/metrics", httpx.InternalOnly, d.metricsHandler())
	if mount != nil {
		mount(r)
	}
	if d.Billing != nil {
		r.POST(billing.WebhookPath, httpx.BodyLimit(d.Config.BodyLimit), d.Billing.WebhookHandler())
	}
	return r
}

// ConsoleRoutes serves the public API of one project (self-service flows,
// sessions, schemas) on r for requests that bind accepts; bind must bind
// the project (tenant.WithBinding) with the router's own URL as base URL.
// The dashboard serves the console project this way, so that the flows,
// their CSRF cookie and the session cookie are first-party to the
// dashboard and reach its platform API.
func ConsoleRoutes(d Deps, r gin.IRouter, bind gin.HandlerFunc) {
	pub := r.Group("/", bind, httpx.BodyLimit(d.Config.BodyLimit), tenant.Require, httpx.NoCache)
	unused := gin.New().Group("/")
	identityRoutes(d, pub, unused)
	flowRoutes(d, pub, unused)
}

// ProjectAdmin serves the admin API of the project bound to the request
// context (tenant.WithBinding) under /admin, with no API key check: the
// caller has authorized the request itself. The platform API reaches a
// project's identities, sessions and recovery codes through it, so that
// the dashboard and the admin API share one implementation.
func ProjectAdmin(d Deps) http.Handler {
	ginMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = false
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.NoRoute(httpx.NotFound)
	// The public routes of the same makers go to a group that is never
	// served.
	unused := gin.New().Group("/")
	admin := r.Group("/admin", tenant.Require, httpx.NoCache)
	identityRoutes(d, unused, admin)
	flowRoutes(d, unused, admin)
	corsRoutes(&flows.CORSPolicies{DB: d.DB}, admin)
	settingsRoutes(d, admin)
	hookRoutes(d, unused, admin)
	courierRoutes(d, unused, admin)
	return r
}

// WorkerRouter serves the worker's health and metrics.
func WorkerRouter(d Deps) *gin.Engine {
	r := newEngine(d, "worker")
	d.Health().Register(r)
	r.GET("/metrics", d.metricsHandler())
	return r
}
