package platform

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// settingsRoutes lists a project's authentication settings, identity
// schemas and CORS origins on the platform API: the project's own admin
// handlers (/admin/config, /admin/schemas, /admin/cors) behind the
// caller's workspace role, every change audited.
func (a *API) settingsRoutes(g gin.IRouter) {
	w := httpx.Wrap
	fixed := func(p string) func(*gin.Context) string { return func(*gin.Context) string { return p } }
	schema := func(c *gin.Context) string { return "/admin/schemas/" + c.Param("id") }

	g.GET("/projects/:project/config", w(a.settingsProxy(RoleViewer, "", "", fixed("/admin/config"))))
	g.PATCH("/projects/:project/config", w(a.settingsProxy(RoleAdmin, "config.update", "authentication", fixed("/admin/config"))))
	g.GET("/projects/:project/cors", w(a.settingsProxy(RoleViewer, "", "", fixed("/admin/cors"))))
	g.PUT("/projects/:project/cors", w(a.settingsProxy(RoleAdmin, "config.update", "cors", fixed("/admin/cors"))))
	g.GET("/projects/:project/schemas", w(a.settingsProxy(RoleViewer, "", "", fixed("/admin/schemas"))))
	g.GET("/projects/:project/schemas/:id", w(a.settingsProxy(RoleViewer, "", "", schema)))
	g.PUT("/projects/:project/schemas/:id", w(a.settingsProxy(RoleAdmin, "schema.update", "", schema)))
}

// settingsProxy serves a platform route with the project's admin handler
// at admin(c). A change that succeeded is audited as action: on the
// project with data.section for config.update, on the schema (target
// type "identity_schema", its id) for schema.update.
func (a *API) settingsProxy(min Role, action, section string, admin func(c *gin.Context) string) httpx.Handler {
	return a.forward(min, admin, func(c *gin.Context, pr *tenant.Project, _ []byte) *audit {
		if action == "" {
			return nil
		}
		ev := &audit{Action: action, TargetType: "project", TargetID: pr.ID.String(), Data: map[string]any{}}
		if section != "" {
			ev.Data["section"] = section
		}
		if id := c.Param("id"); id != "" {
			ev.TargetType, ev.TargetID = "identity_schema", id
			ev.Data["default"] = c.Query("default") == "true"
		}
		return ev
	})
}
