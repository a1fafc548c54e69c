package server

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows/hook"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

// hookRoutes lists the hook endpoints of a project (Lanyard): the hook
// configuration and the delivery log with replay.
func hookRoutes(d Deps, _, admin *gin.RouterGroup) {
	if d.Hooks == nil {
		return
	}
	admin.GET("/hooks", httpx.Wrap(hook.GetConfig(d.Hooks)))
	admin.PUT("/hooks", httpx.Wrap(hook.PutConfig(d.gatedHooks())))
	admin.GET("/hooks/deliveries", httpx.Wrap(hook.ListDeliveries(d.Hooks)))
	admin.GET("/hooks/deliveries/:id", httpx.Wrap(hook.GetDelivery(d.Hooks)))
	admin.POST("/hooks/deliveries/:id/replay", httpx.Wrap(hook.ReplayDelivery(d.Hooks)))
}
