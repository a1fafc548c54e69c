package platform

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
)

// Routes lists the whole platform API on r, under /api/v1.
func (a *API) Routes(r gin.IRouter) {
	g := r.Group("/api/v1", httpx.NoCache, httpx.BodyLimit(a.o.BodyLimit), a.Authenticate())
	w := httpx.Wrap

	g.GET("/me", w(a.me))

	g.GET("/workspaces", w(a.listWorkspaces))
	g.GET("/workspaces/:workspace", w(a.getWorkspace))
	g.PATCH("/workspaces/:workspace", w(a.patchWorkspace))
	g.GET("/workspaces/:workspace/audit", w(a.listAudit))

	g.GET("/workspaces/:workspace/members", w(a.listMembers))
	g.PATCH("/workspaces/:workspace/members/:account", w(a.patchMember))
	g.DELETE("/workspaces/:workspace/members/:account", w(a.deleteMember))
	g.GET("/workspaces/:workspace/invitations", w(a.listInvitations))
	g.POST("/workspaces/:workspace/invitations", w(a.invite))
	g.DELETE("/workspaces/:workspace/invitations/:invitation", w(a.revokeInvitation))
	g.POST("/invitations/accept", w(a.acceptInvitation))

	g.GET("/workspaces/:workspace/tokens", w(a.listTokens))
	g.POST("/workspaces/:workspace/tokens", w(a.createToken))
	g.DELETE("/workspaces/:workspace/tokens/:token", w(a.revokeToken))

	g.GET("/workspaces/:workspace/billing", w(a.getBilling))
	g.GET("/workspaces/:workspace/billing/usage", w(a.getBillingUsage))
	g.POST("/workspaces/:workspace/billing/checkout", w(a.startCheckout))
	g.POST("/workspaces/:workspace/billing/portal", w(a.openPortal))

	g.GET("/workspaces/:workspace/projects", w(a.listProjects))
	g.POST("/workspaces/:workspace/projects", w(a.createProject))
	g.GET("/projects/:project", w(a.getProject))
	g.DELETE("/projects/:project", w(a.deleteProject))

	g.GET("/projects/:project/api-keys", w(a.listAPIKeys))
	g.POST("/projects/:project/api-keys", w(a.createAPIKey))
	g.DELETE("/projects/:project/api-keys/:key", w(a.revokeAPIKey))

	// A project's identities, through the project's own admin handlers.
	id := func(c *gin.Context) string { return "/admin/identities/" + c.Param("id") }
	g.GET("/projects/:project/identities", w(a.proxy(RoleViewer, "", func(*gin.Context) string { return "/admin/identities" })))
	g.POST("/projects/:project/identities", w(a.proxy(RoleAdmin, "identity.create", func(*gin.Context) string { return "/admin/identities" })))
	g.GET("/projects/:project/identities/:id", w(a.proxy(RoleViewer, "", id)))
	g.PATCH("/projects/:project/identities/:id", w(a.proxy(RoleAdmin, "identity.patch", id)))
	g.DELETE("/projects/:project/identities/:id", w(a.proxy(RoleAdmin, "identity.delete", id)))
	sessions := func(c *gin.Context) string { return "/admin/identities/" + c.Param("id") + "/sessions" }
	g.GET("/projects/:project/identities/:id/sessions", w(a.proxy(RoleViewer, "", sessions)))
	g.DELETE("/projects/:project/identities/:id/sessions", w(a.proxy(RoleAdmin, "identity.sessions_revoke", sessions)))
	g.POST("/projects/:project/identities/:id/recovery-code", w(a.recoveryCode()))

	// Mailed recovery links and the project usage chart (http_users_extra.go).
	a.usersExtraRoutes(g)

	// A project's hooks and email settings (http_hooks_email.go).
	a.hookEmailRoutes(g)
	a.templateRoutes(g) // mail templates (http_templates.go)

	// A project's authentication settings, schemas and CORS (http_settings.go).
	a.settingsRoutes(g)
}
