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
