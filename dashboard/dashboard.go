// Package dashboard is the dashboard service: the built-in console project
// whose identities are the dashboard's accounts, and the platform API
// (dashboard/platform) mounted on the dashboard router. Only the command
// imports it.
package dashboard

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/dashboard/platform"
	"github.com/lanyard-id/lanyard/dashboard/web"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/internal/pagetoken"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/tenant"
)

// API returns the platform API over the server's dependencies.
func API(d server.Deps) *platform.API {
	var mailer platform.Mailer
	if d.Courier != nil {
		mailer = d.Courier
	}
	cfg := d.Config
	return platform.New(platform.Options{
		Registry:     d.Registry,
		Sessions:     d.Sessions,
		Mailer:       mailer,
		Admin:        server.ProjectAdmin(d),
		Sealer:       pagetoken.New(cfg.SecretKeys()[0]),
		ProjectURL:   cfg.ProjectURL,
		DashboardURL: cfg.DashboardBaseURL(),
		ConsoleSlug:  ConsoleSlug,
		Billing:      d.Billing,
		BodyLimit:    cfg.BodyLimit,
		Log:          d.Log,
	})
}

// Router is the dashboard service's HTTP surface: the dashboard router of
// internal/server with the platform API under /api/v1 and the console
// project's self-service flows, sessions and schemas on the dashboard's
// own origin (/self-service/..., /sessions/..., /schemas), so that the
// account's session cookie is first-party to the platform API. Every other
// GET is the React app (dashboard/web); a path no route takes under the
// API prefixes stays a 404 in the error envelope.
func Router(d server.Deps) *gin.Engine {
	api := API(d)
	base := d.Config.DashboardBaseURL()
	return server.DashboardRouterWith(d, func(r *gin.Engine) {
		api.Routes(r)
		server.ConsoleRoutes(d, r, bindConsole(d.Registry, base))
		app := web.Handler()
		r.NoRoute(func(c *gin.Context) { app.Serve(c.Writer, c.Request, func() { httpx.NotFound(c) }) })
	})
}

// bindConsole binds the console project to a request, with the dashboard
// URL as its base URL. Until the console project exists the routes answer
// 503.
func bindConsole(reg *tenant.Registry, base string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := reg.BySlug(c.Request.Context(), ConsoleSlug)
		if errx.Has(err, errx.NotFound) {
			err = errx.New(errx.Unavailable, "The console project is not set up yet; run the migrations.").Wrap(err)
		}
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		c.Request = c.Request.WithContext(tenant.WithBinding(c.Request.Context(), &tenant.Binding{Project: p, BaseURL: base}))
		c.Next()
	}
}
