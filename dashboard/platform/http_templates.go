package platform

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
)

// templateRoutes lists a project's mail templates on the platform API: the
// project's /admin/courier/templates handlers behind the caller's
// workspace role. Viewers list and preview; admins save and reset, audited
// as email.template_update / email.template_delete on the template
// ("{type}/{locale}").
func (a *API) templateRoutes(g gin.IRouter) {
	w := httpx.Wrap
	list := func(*gin.Context) string { return "/admin/courier/templates" }
	one := func(c *gin.Context) string {
		return "/admin/courier/templates/" + c.Param("type") + "/" + c.Param("locale")
	}
	preview := func(c *gin.Context) string { return "/admin/courier/templates/" + c.Param("type") + "/preview" }
	target := func(c *gin.Context) string { return c.Param("type") + "/" + c.Param("locale") }

	g.GET("/projects/:project/email/templates", w(a.adminProxy(RoleViewer, "", "", nil, list)))
	g.PUT("/projects/:project/email/templates/:type/:locale", w(a.adminProxy(RoleAdmin, "email.template_update", "email_template", target, one)))
	g.DELETE("/projects/:project/email/templates/:type/:locale", w(a.adminProxy(RoleAdmin, "email.template_delete", "email_template", target, one)))
	g.POST("/projects/:project/email/templates/:type/preview", w(a.adminProxy(RoleViewer, "", "", nil, preview)))
}
