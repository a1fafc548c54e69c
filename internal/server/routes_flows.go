package server

import "github.com/gin-gonic/gin"

// flowRoutes lists the self-service flows and session endpoints of a
// project: /self-service/..., /sessions/... and the admin session API.
func flowRoutes(d Deps, pub, admin *gin.RouterGroup) {
}
