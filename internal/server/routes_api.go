package server

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// APIRouter is the HTTP surface of the project API (public and admin, for
// every project). Each route exists twice: on the project's own host
// ({slug}.{domain} or a custom domain) and under /p/{slug} for
// environments without wildcard DNS.
func APIRouter(d Deps) *gin.Engine { return APIRouterWith(d, nil) }

// Extra adds routes to the public and admin groups of every project (used
// by tests that need a route of their own behind the real middleware).
type Extra func(public, admin *gin.RouterGroup)

// APIRouterWith is APIRouter plus extra routes.
func APIRouterWith(d Deps, extra Extra) *gin.Engine {
	r := newEngine(d, "api")
	res := &tenant.Resolver{Registry: d.Registry, Domain: d.Config.ProjectsDomain, Scheme: d.Config.Scheme()}
	cors := &flows.CORSPolicies{DB: d.DB}
	r.Use(res.Host(), httpx.BodyLimit(d.Config.BodyLimit), corsMiddleware(d.Registry, cors))

	// Process-level endpoints, answered on any host (probes use the pod IP).
	r.GET("/metrics", httpx.InternalOnly, d.metricsHandler())

	projectRoutes(d, r.Group("/"), cors, extra)
	projectRoutes(d, r.Group("/p/:slug", res.PathPrefix()), cors, extra)
	return r
}

// projectRoutes lists the routes of one project.
func projectRoutes(d Deps, g *gin.RouterGroup, cors *flows.CORSPolicies, extra Extra) {
	health := d.Health()
	health.Register(g)

	pub := g.Group("/", tenant.Require, httpx.NoCache)

	admin := g.Group("/admin", tenant.Require, httpx.NoCache, d.Registry.RequireAPIKey(), d.readOnlyOverLimit())

	identityRoutes(d, pub, admin)
	flowRoutes(d, pub, admin)
	courierRoutes(d, pub, admin)
	corsRoutes(cors, admin)
	hookRoutes(d, pub, admin)
	settingsRoutes(d, admin)

	if extra != nil {
		extra(pub, admin)
	}
}
