package server

import (
	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/login"
	"github.com/lanyard-id/lanyard/flows/logout"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/flows/recovery"
	"github.com/lanyard-id/lanyard/flows/registration"
	"github.com/lanyard-id/lanyard/flows/settings"
	"github.com/lanyard-id/lanyard/flows/strategy/code"
	"github.com/lanyard-id/lanyard/flows/strategy/password"
	"github.com/lanyard-id/lanyard/flows/strategy/profile"
	"github.com/lanyard-id/lanyard/flows/verification"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/httpx"
)

// flowRoutes lists the self-service flows and session endpoints of a
// project: /self-service/..., /sessions/... and the admin session API.
func flowRoutes(d Deps, pub, admin *gin.RouterGroup) {
	s := d.Sessions

	// Sessions (Kratos §7). whoami answers any method but DELETE, which
	// reaches /sessions/{id} as in Kratos.
	whoami := httpx.Wrap(session.Whoami(s))
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH"} {
		pub.Handle(m, "/sessions/whoami", whoami)
	}
	pub.POST("/sessions/refresh", httpx.Wrap(session.RefreshMine(s))) // Lanyard: client refresh
	pub.GET("/sessions", httpx.Wrap(session.ListMine(s)))
	pub.DELETE("/sessions", httpx.Wrap(session.RevokeOthers(s)))
	pub.DELETE("/sessions/:id", httpx.Wrap(session.RevokeMine(s)))

	// Self-service flows (Kratos §3). Methods: password (login,
	// registration, settings) and profile (settings); more strategies plug
	// into flows.Methods.
	pw := &password.Strategy{Identities: d.Identities}
	prof := &profile.Strategy{Identities: d.Identities}
	fd := &flows.Deps{DB: d.DB, Sessions: s, Identities: d.Identities, Log: d.Log,
		Limiter: ratelimit.New(d.Redis, d.Config.RedisNamespace),
		Methods: flows.Methods{
			Login:        []flows.LoginStrategy{pw},
			Registration: []flows.RegistrationStrategy{pw},
			Settings:     []flows.SettingsStrategy{prof, pw},
		}}
	if d.Billing != nil {
		fd.Usage = d.Billing
	}
	if d.Hooks != nil {
		fd.Hooks = d.Hooks
	}

	pub.GET("/self-service/login/browser", login.Init(fd, flows.TypeBrowser))
	pub.GET("/self-service/login/api", login.Init(fd, flows.TypeAPI))
	pub.GET("/self-service/login/flows", login.Get(fd))
	pub.POST("/self-service/login", login.Submit(fd))
	pub.GET("/self-service/login", login.Submit(fd))

	pub.GET("/self-service/registration/browser", registration.Init(fd, flows.TypeBrowser))
	pub.GET("/self-service/registration/api", registration.Init(fd, flows.TypeAPI))
	pub.GET("/self-service/registration/flows", registration.Get(fd))
	// Verification and recovery with the code or link method (they need
	// the courier); registration then starts verification (Kratos' verification
	// hook).
	var hooks registration.Hooks
	if d.Courier != nil {
		codes := code.New(d.Config.SecretKeys()[0])
		ver := &verification.Handler{D: fd, Courier: d.Courier, Codes: codes}
		rec := &recovery.Handler{D: fd, Courier: d.Courier, Codes: codes}
		hooks.Verification = ver.AfterRegistration

		pub.GET("/self-service/verification/browser", ver.Init(flows.TypeBrowser))
		pub.GET("/self-service/verification/api", ver.Init(flows.TypeAPI))
		pub.GET("/self-service/verification/flows", ver.Get())
		pub.POST("/self-service/verification", ver.Submit())
		pub.GET("/self-service/verification", ver.Submit())

		pub.GET("/self-service/recovery/browser", rec.Init(flows.TypeBrowser))
		pub.GET("/self-service/recovery/api", rec.Init(flows.TypeAPI))
		pub.GET("/self-service/recovery/flows", rec.Get())
		pub.POST("/self-service/recovery", rec.Submit())
		pub.GET("/self-service/recovery", rec.Submit())
		admin.POST("/recovery/code", rec.AdminCreateCode())
		admin.POST("/recovery/link", rec.AdminCreateLink())
	}

	pub.POST("/self-service/registration", registration.SubmitWith(fd, hooks))
	pub.GET("/self-service/registration", registration.SubmitWith(fd, hooks))

	pub.GET("/self-service/settings/browser", settings.Init(fd, flows.TypeBrowser))
	pub.GET("/self-service/settings/api", settings.Init(fd, flows.TypeAPI))
	pub.GET("/self-service/settings/flows", settings.Get(fd))
	pub.POST("/self-service/settings", settings.Submit(fd))
	pub.GET("/self-service/settings", settings.Submit(fd))

	pub.GET("/self-service/logout/browser", logout.CreateBrowser(fd))
	pub.GET("/self-service/logout", logout.Update(fd))
	pub.DELETE("/self-service/logout/api", logout.PerformNative(fd))

	pub.GET("/self-service/errors", httpx.Wrap(flows.GetError(flows.Errors{DB: d.DB})))

	admin.GET("/sessions", httpx.Wrap(session.AdminList(s)))
	admin.GET("/sessions/:id", httpx.Wrap(session.AdminGet(s)))
	admin.DELETE("/sessions/:id", httpx.Wrap(session.AdminDisable(s)))
	admin.PATCH("/sessions/:id/extend", httpx.Wrap(session.AdminExtend(s)))
	admin.GET("/identities/:id/sessions", httpx.Wrap(session.AdminIdentitySessions(s)))
	admin.DELETE("/identities/:id/sessions", httpx.Wrap(session.AdminRevokeIdentitySessions(s)))
}
