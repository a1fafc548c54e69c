package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/httpx"
)

// DashboardRouter is the HTTP surface of the dashboard service.
func DashboardRouter(d Deps) *gin.Engine {
	r := newEngine(d, "dashboard")
	d.Health().Register(r)
	r.GET("/metrics", httpx.InternalOnly, d.metricsHandler())
	r.GET("/", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(dashboardPlaceholder))
	})
	return r
}

const dashboardPlaceholder = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lanyard</title></head>
<body><h1>Lanyard</h1><p>The dashboard is not built into this binary yet. Projects are managed with
<code>lanyard project create|list|delete</code>.</p></body></html>`

// WorkerRouter serves the worker's health and metrics.
func WorkerRouter(d Deps) *gin.Engine {
	r := newEngine(d, "worker")
	d.Health().Register(r)
	r.GET("/metrics", d.metricsHandler())
	return r
}
