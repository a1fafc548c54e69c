package server

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/worker/courier"
)

// courierRoutes lists the courier endpoints of a project: the admin
// message log (Kratos CourierApi), the project's own SMTP server and its
// mail templates (Lanyard).
func courierRoutes(d Deps, _, admin *gin.RouterGroup) {
	if d.Courier == nil {
		return
	}
	admin.GET("/courier/messages", httpx.Wrap(courier.ListMessages(d.Courier)))
	admin.GET("/courier/messages/:id", httpx.Wrap(courier.GetMessage(d.Courier)))
	admin.GET("/courier/smtp", httpx.Wrap(courier.GetSMTP(d.Courier)))
	admin.PUT("/courier/smtp", httpx.Wrap(courier.PutSMTP(d.Courier)))
	admin.DELETE("/courier/smtp", httpx.Wrap(courier.DeleteSMTP(d.Courier)))
	admin.POST("/courier/smtp/test", httpx.Wrap(courier.TestSMTP(d.Courier)))
	admin.GET("/courier/templates", httpx.Wrap(courier.ListTemplates(d.Courier)))
	admin.PUT("/courier/templates/:type/:locale", httpx.Wrap(courier.PutTemplate(d.Courier)))
	admin.DELETE("/courier/templates/:type/:locale", httpx.Wrap(courier.DeleteTemplate(d.Courier)))
	admin.POST("/courier/templates/:type/preview", httpx.Wrap(courier.PreviewTemplate(d.Courier)))
}
