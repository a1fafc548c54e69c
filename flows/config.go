package flows

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// SettingsKey is the project_settings row holding Config.
const SettingsKey = "flows"

// Config is a project's self-service configuration.
type Config struct {
	// AllowedReturnURLs extend the return_to allow-list beyond the
	// project's own URL.
	AllowedReturnURLs []string `json:"allowed_return_urls"`
	// DefaultReturnURL is where a browser goes after a flow without
	// return_to; "" means the project URL.
	DefaultReturnURL string `json:"default_browser_return_url"`
	// UI maps a kind ("login", ..., "error") to the page that renders it.
	// "{base}" is replaced by the project URL. Defaults: {base}/ui/<kind>.
	UI map[string]string `json:"ui"`
	// LifespanMinutes of a flow (60).
	LifespanMinutes int `json:"lifespan_minutes"`
	// RegistrationEnabled turns sign-up on.
	RegistrationEnabled bool `json:"registration_enabled"`
	// PrivilegedMinutes is how recent a login must be to change
	// credentials, identifier traits or addresses (15).
	PrivilegedMinutes int `json:"privileged_session_max_age_minutes"`
	// Limits per scope ("login:ip", "login:identifier", "registration:ip",
	// "recovery:address", ...).
	Limits map[string]ratelimit.Limit `json:"limits"`
	// Password is the password policy.
	Password PasswordSettings `json:"password"`
	// Verification and Recovery choose the method those flows offer and
	// what a recovery does to other sessions.
	Verification VerificationSettings `json:"verification"`
	Recovery     RecoverySettings     `json:"recovery"`
	// Login holds the built-in login hooks.
	Login LoginSettings `json:"login"`
}

// Methods of the verification and recovery flows (Kratos'
// selfservice.flows.{verification,recovery}.use).
const (
	MethodCode = "code"
	MethodLink = "link"
)

// VerificationSettings configure the verification flow.
type VerificationSettings struct {
	// Use is the method the flow offers: "code" (the default) or "link".
	Use string `json:"use,omitempty"`
}

// RecoverySettings configure the recovery flow.
type RecoverySettings struct {
	// Use is the method the flow offers: "code" (the default) or "link".
	Use string `json:"use,omitempty"`
	// RevokeActiveSessions ends the identity's other sessions when a
	// recovery completes (Kratos' revoke_active_sessions hook; on when
	// unset).
	RevokeActiveSessions *bool `json:"revoke_active_sessions,omitempty"`
}

// RevokesSessions reports whether a recovery ends the other sessions.
func (r RecoverySettings) RevokesSessions() bool {
	return r.RevokeActiveSessions == nil || *r.RevokeActiveSessions
}

// LoginSettings configure the login flow's built-in hooks.
type LoginSettings struct {
	// RequireVerifiedAddress refuses a login until one of the identity's
	// addresses is verified (Kratos' require_verified_address hook).
	RequireVerifiedAddress bool `json:"require_verified_address,omitempty"`
}

// MethodOf is the method a flow uses: use, or "code" when unset.
func MethodOf(use string) string {
	if use == MethodLink {
		return MethodLink
	}
	return MethodCode
}

// PasswordSettings is a project's password policy (the password method
// applies it at registration and in settings).
type PasswordSettings struct {
	// MinLength in characters (8 when zero).
	MinLength int `json:"min_password_length,omitempty"`
	// IdentifierSimilarityCheck refuses a password too similar to an
	// identifier (on when unset).
	IdentifierSimilarityCheck *bool `json:"identifier_similarity_check_enabled,omitempty"`
	// CommonPasswordCheck refuses a password on the offline list of common
	// and breached passwords (on when unset).
	CommonPasswordCheck *bool `json:"common_password_check_enabled,omitempty"`
}

// SimilarityCheck reports whether the identifier-similarity check is on.
func (p PasswordSettings) SimilarityCheck() bool {
	return p.IdentifierSimilarityCheck == nil || *p.IdentifierSimilarityCheck
}

// CommonCheck reports whether the common-password check is on.
func (p PasswordSettings) CommonCheck() bool {
	return p.CommonPasswordCheck == nil || *p.CommonPasswordCheck
}

// DefaultLimits are a new project's brute-force limits.
func DefaultLimits() map[string]ratelimit.Limit {
	return map[string]ratelimit.Limit{
		"login:ip":             {Rate: 30, Period: time.Minute, Burst: 30},
		"login:identifier":     {Rate: 5, Period: 5 * time.Minute, Burst: 10},
		"registration:ip":      {Rate: 10, Period: time.Minute, Burst: 20},
		"recovery:ip":          {Rate: 10, Period: time.Minute, Burst: 10},
		"recovery:address":     {Rate: 3, Period: 15 * time.Minute, Burst: 5},
		"verification:ip":      {Rate: 10, Period: time.Minute, Burst: 10},
		"verification:address": {Rate: 3, Period: 15 * time.Minute, Burst: 5},
		"code:identifier":      {Rate: 5, Period: 15 * time.Minute, Burst: 5},
		// Mails per recipient (verification and recovery), counting those
		// sent after a registration too.
		"verification:mail": {Rate: 10, Period: time.Hour, Burst: 10},
		"recovery:mail":     {Rate: 10, Period: time.Hour, Burst: 10},
	}
}

// DefaultConfig is a new project's configuration.
func DefaultConfig() Config {
	return Config{LifespanMinutes: 60, RegistrationEnabled: true, PrivilegedMinutes: 15, Limits: DefaultLimits(), UI: map[string]string{}}
}

// Validate returns errx.Invalid for a configuration that cannot work.
func (c Config) Validate() error {
	for _, a := range c.AllowedReturnURLs {
		u, err := url.Parse(strings.Replace(a, "*.", "x.", 1))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errx.Newf(errx.Invalid, "allowed_return_urls: %q is not an absolute http(s) URL.", a)
		}
	}
	if c.LifespanMinutes < 1 || c.LifespanMinutes > 24*60 {
		return errx.New(errx.Invalid, "lifespan_minutes must be between 1 and 1440.")
	}
	if c.Password.MinLength != 0 && (c.Password.MinLength < 6 || c.Password.MinLength > 1024) {
		return errx.New(errx.Invalid, "password.min_password_length must be between 6 and 1024.")
	}
	for name, use := range map[string]string{"verification": c.Verification.Use, "recovery": c.Recovery.Use} {
		if use != "" && use != MethodCode && use != MethodLink {
			return errx.Newf(errx.Invalid, "%s.use must be code or link.", name)
		}
	}
	for scope, l := range c.Limits {
		if !l.Valid() {
			return errx.Newf(errx.Invalid, "limits.%s: rate, period and burst must be positive.", scope)
		}
	}
	return nil
}

// PrivilegedMaxAge is the privileged session window.
func (c Config) PrivilegedMaxAge() time.Duration {
	if c.PrivilegedMinutes <= 0 {
		return 15 * time.Minute
	}
	return time.Duration(c.PrivilegedMinutes) * time.Minute
}

// Lifespan is the flow lifetime.
func (c Config) Lifespan() time.Duration { return time.Duration(c.LifespanMinutes) * time.Minute }

// UIURL is the page that renders a kind (or "error") for the project at
// base.
func (c Config) UIURL(kind, base string) string {
	if u := c.UI[kind]; u != "" {
		return strings.ReplaceAll(u, "{base}", base)
	}
	return base + "/ui/" + kind
}

// ReturnURL is where a browser goes after a flow without return_to.
func (c Config) ReturnURL(base string) string {
	if c.DefaultReturnURL != "" {
		return strings.ReplaceAll(c.DefaultReturnURL, "{base}", base)
	}
	return base + "/"
}

// Limit returns the limit of a scope, the default when unset.
func (c Config) Limit(scope string) ratelimit.Limit {
	if l, ok := c.Limits[scope]; ok && l.Valid() {
		return l
	}
	return DefaultLimits()[scope]
}

// LoadConfig reads the project's flow configuration in tx.
func LoadConfig(ctx context.Context, tx tenant.Tx) (Config, error) {
	c := DefaultConfig()
	if _, err := tenant.LoadSetting(ctx, tx, SettingsKey, &c); err != nil {
		return DefaultConfig(), fmt.Errorf("flows.LoadConfig: %w", err)
	}
	return c, nil
}

// SaveConfig validates and stores c in tx.
func SaveConfig(ctx context.Context, tx tenant.Tx, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := tenant.SaveSetting(ctx, tx, SettingsKey, c); err != nil {
		return fmt.Errorf("flows.SaveConfig: %w", err)
	}
	return nil
}
