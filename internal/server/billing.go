package server

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/tenant"
)

// readOnlyOverLimit refuses admin API writes (anything but GET, HEAD and
// OPTIONS) to a project beyond its workspace plan's project limit: after a
// downgrade such projects keep their data and serve reads and sign-ins,
// but change nothing until the workspace upgrades (billing.ProjectWritable).
func (d Deps) readOnlyOverLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if d.Billing == nil || !d.Billing.Enabled() {
			return
		}
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return
		}
		p, err := tenant.ProjectOf(c)
		if err != nil {
			httpx.WriteError(c, err)
			return
		}
		if err := d.Billing.ProjectWritable(c.Request.Context(), p); err != nil {
			httpx.WriteError(c, err)
		}
	}
}

// gatedHooks is the hook service whose saves the workspace plan gates
// (JavaScript actions, the number of hooks: billing.Service.AllowHooks,
// which with billing off gates only workspaces an operator put on a plan).
func (d Deps) gatedHooks() *hook.Service {
	if d.Billing == nil {
		return d.Hooks
	}
	b := d.Billing
	return d.Hooks.WithGate(func(ctx context.Context, p *tenant.Project, u hook.Use) error {
		return b.AllowHooks(ctx, p, billing.HookUse{Hooks: u.Hooks, JSActions: u.JSActions})
	})
}
