package platform

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// hookEmailRoutes lists a project's hook and email settings on the platform
// API: the project's own admin handlers (/admin/hooks..., /admin/courier...)
// behind the caller's workspace role, every change audited.
func (a *API) hookEmailRoutes(g gin.IRouter) {
	w := httpx.Wrap
	fixed := func(p string) func(*gin.Context) string { return func(*gin.Context) string { return p } }
	project := func(c *gin.Context) string { return c.Param("project") }
	delivery := func(c *gin.Context) string { return c.Param("id") }

	g.GET("/projects/:project/hooks", w(a.adminProxy(RoleViewer, "", "", nil, fixed("/admin/hooks"))))
	g.PUT("/projects/:project/hooks", w(a.adminProxy(RoleAdmin, "hooks.update", "project", project, fixed("/admin/hooks"))))
	g.GET("/projects/:project/hooks/deliveries", w(a.adminProxy(RoleViewer, "", "", nil, fixed("/admin/hooks/deliveries"))))
	g.GET("/projects/:project/hooks/deliveries/:id", w(a.adminProxy(RoleViewer, "", "", nil,
		func(c *gin.Context) string { return "/admin/hooks/deliveries/" + c.Param("id") })))
	g.POST("/projects/:project/hooks/deliveries/:id/replay", w(a.adminProxy(RoleAdmin, "hooks.replay", "hook_delivery", delivery,
		func(c *gin.Context) string { return "/admin/hooks/deliveries/" + c.Param("id") + "/replay" })))

	g.GET("/projects/:project/email/smtp", w(a.adminProxy(RoleViewer, "", "", nil, fixed("/admin/courier/smtp"))))
	g.PUT("/projects/:project/email/smtp", w(a.adminProxy(RoleAdmin, "email.smtp_update", "project", project, fixed("/admin/courier/smtp"))))
	g.DELETE("/projects/:project/email/smtp", w(a.adminProxy(RoleAdmin, "email.smtp_delete", "project", project, fixed("/admin/courier/smtp"))))
	g.POST("/projects/:project/email/smtp/test", w(a.adminProxy(RoleAdmin, "email.test_send", "project", project, fixed("/admin/courier/smtp/test"))))
	g.GET("/projects/:project/email/messages", w(a.adminProxy(RoleViewer, "", "", nil, fixed("/admin/courier/messages"))))
	g.GET("/projects/:project/email/messages/:id", w(a.adminProxy(RoleViewer, "", "", nil,
		func(c *gin.Context) string { return "/admin/courier/messages/" + c.Param("id") })))
}

// adminProxy serves a platform route with the project's admin handler at
// admin(c), as proxy does, for settings rather than identities: a change
// that succeeded is audited as action on targetType/target(c). Link
// headers point at the platform routes (the courier log is under /email).
func (a *API) adminProxy(min Role, action, targetType string, target, admin func(c *gin.Context) string) httpx.Handler {
	return a.forward(min, admin, func(c *gin.Context, _ *tenant.Project, _ []byte) *audit {
		if action == "" {
			return nil
		}
		return &audit{Action: action, TargetType: targetType, TargetID: target(c)}
	})
}
