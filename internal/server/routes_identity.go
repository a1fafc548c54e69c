package server

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/internal/httpx"
	"github.com/lanyard-id/lanyard/internal/openapi"
)

// identityRoutes lists the identity and identity-schema endpoints of a
// project: public /schemas and the admin API under /admin.
func identityRoutes(d Deps, pub, admin *gin.RouterGroup) {
	m := d.Identities

	pub.GET("/.well-known/openapi.json", openapi.Handler)

	pub.GET("/schemas", httpx.Wrap(identity.ListSchemas(m)))
	pub.GET("/schemas/:id", httpx.Wrap(identity.GetSchema(m)))
	admin.GET("/schemas", httpx.Wrap(identity.ListSchemas(m)))
	admin.GET("/schemas/:id", httpx.Wrap(identity.GetSchema(m)))

	admin.GET("/identities", httpx.Wrap(identity.ListIdentities(m)))
	admin.POST("/identities", httpx.Wrap(identity.CreateIdentity(m)))
	admin.PATCH("/identities", httpx.Wrap(identity.BatchPatchIdentities(m)))
	admin.GET("/identities/:id", httpx.Wrap(identity.GetIdentity(m)))
	admin.PUT("/identities/:id", httpx.Wrap(identity.UpdateIdentity(m)))
	admin.PATCH("/identities/:id", httpx.Wrap(identity.PatchIdentity(m)))
	admin.DELETE("/identities/:id", httpx.Wrap(identity.DeleteIdentity(m)))
	admin.DELETE("/identities/:id/credentials/:type", httpx.Wrap(identity.DeleteCredentials(m)))
}
