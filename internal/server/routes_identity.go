package server

import "github.com/gin-gonic/gin"

// identityRoutes lists the identity and identity-schema endpoints of a
// project: public /schemas and the admin API under /admin.
func identityRoutes(d Deps, pub, admin *gin.RouterGroup) {
}
