package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// CORS answers for browsers on other origins than the project's own
// (a single-page app on app.example.com calling its project's public API
// with credentials), per the project's flows.CORS policy:
//   - an allowed Origin gets Access-Control-Allow-Origin (that origin, never
//     "*"), Allow-Credentials and Vary: Origin;
//   - a preflight (OPTIONS with Access-Control-Request-Method) is answered
//     here with 204 and the allowed methods and headers, or with a bare
//     204 that the browser treats as a refusal;
//   - the admin API never gets CORS headers (its key is not for browsers).
//
// It runs engine-wide, after host resolution and before routing, because
// preflights have no route of their own.
var (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Accept, Authorization, Content-Type, Cookie, X-CSRF-Token, X-Session-Token, X-Request-Id"
	corsExpose  = "Content-Type, Link, Retry-After, X-Request-Id, X-Total-Count"
)

func corsMiddleware(reg *tenant.Registry, policies *flows.CORSPolicies) gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		path := c.Request.URL.Path
		var p *tenant.Project
		if b, err := tenant.BindingFrom(ctx); err == nil {
			p = b.Project
		}
		if rest, ok := strings.CutPrefix(path, "/p/"); ok {
			slug, sub, _ := strings.Cut(rest, "/")
			path = "/" + sub
			if p == nil {
				p, _ = reg.BySlug(ctx, slug) // unknown: routing answers 404
			} else if p.Slug != slug {
				p = nil // host and path disagree: routing answers 404
			}
		}
		preflight := c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != ""
		if p == nil || path == "/admin" || strings.HasPrefix(path, "/admin/") {
			if preflight {
				c.AbortWithStatus(http.StatusNoContent)
				return
			}
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		policy, err := policies.Get(ctx, p)
		if err != nil {
			if preflight {
				httpx.WriteError(c, err)
				return
			}
			c.Next() // no CORS headers: the browser keeps the answer from the page
			return
		}
		if !policy.Allows(origin) {
			if preflight {
				c.AbortWithStatus(http.StatusNoContent)
				return
			}
			c.Next()
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExpose)
		c.Next()
	}
}

// corsRoutes are the admin endpoints of a project's CORS policy (a
// Lanyard extension).
func corsRoutes(policies *flows.CORSPolicies, admin *gin.RouterGroup) {
	admin.GET("/cors", httpx.Wrap(func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		policy, err := policies.Get(c.Request.Context(), p)
		if err != nil {
			return err
		}
		if policy.AllowedOrigins == nil {
			policy.AllowedOrigins = []string{}
		}
		c.JSON(http.StatusOK, policy)
		return nil
	}))
	admin.PUT("/cors", httpx.Wrap(func(c *gin.Context) error {
		p, err := tenant.ProjectOf(c)
		if err != nil {
			return err
		}
		var policy flows.CORS
		if err := httpx.BindJSON(c, &policy, true); err != nil {
			return err
		}
		if err := policies.Save(c.Request.Context(), p, policy); err != nil {
			return err
		}
		if policy.AllowedOrigins == nil {
			policy.AllowedOrigins = []string{}
		}
		c.JSON(http.StatusOK, policy)
		return nil
	}))
}
