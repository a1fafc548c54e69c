package session

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// SettingsKey is the project_settings row holding Config.
const SettingsKey = "session"

// Duration is a time.Duration written as a Go duration string ("24h").
type Duration time.Duration

// MarshalJSON writes d as "24h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"24h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Config is a project's session configuration.
type Config struct {
	// Lifespan of a session from issue or from its last extension.
	Lifespan Duration `json:"lifespan"`
	// Sliding extends a session that is used when less than half of its
	// lifespan remains.
	Sliding bool `json:"sliding"`
	// MaxLifespan is the absolute limit from issue that nothing but an
	// admin extension passes.
	MaxLifespan Duration `json:"max_lifespan"`
	// ClientRefresh allows POST /sessions/refresh.
	ClientRefresh bool `json:"client_refresh"`
	// CookieName is the session cookie of the project.
	CookieName string `json:"cookie_name"`
	// CookiePersistent gives the cookie a Max-Age (the session's remaining
	// life); otherwise it is a browser-session cookie.
	CookiePersistent bool `json:"cookie_persistent"`
}

// DefaultConfig is the configuration of a new project.
func DefaultConfig() Config {
	return Config{
		Lifespan:         Duration(24 * time.Hour),
		Sliding:          true,
		MaxLifespan:      Duration(30 * 24 * time.Hour),
		ClientRefresh:    true,
		CookieName:       "lanyard_session",
		CookiePersistent: true,
	}
}

var cookieNameRE = regexp.MustCompile(`^[A-Za-z0-9_\-.]{1,64}$`)

// Validate returns errx.Invalid for a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case time.Duration(c.Lifespan) < time.Minute:
		return errx.New(errx.Invalid, "session.lifespan must be at least 1m.")
	case c.MaxLifespan < c.Lifespan:
		return errx.New(errx.Invalid, "session.max_lifespan must not be shorter than session.lifespan.")
	case time.Duration(c.MaxLifespan) > 400*24*time.Hour:
		return errx.New(errx.Invalid, "session.max_lifespan must be at most 400 days.")
	case !cookieNameRE.MatchString(c.CookieName):
		return errx.New(errx.Invalid, "session.cookie_name must be 1-64 letters, digits, '_', '-' or '.'.")
	}
	return nil
}

// LoadConfig reads the project's session configuration in tx: the defaults
// overlaid with whatever the project set.
func LoadConfig(ctx context.Context, tx tenant.Tx) (Config, error) {
	c := DefaultConfig()
	if _, err := tenant.LoadSetting(ctx, tx, SettingsKey, &c); err != nil {
		return DefaultConfig(), fmt.Errorf("session.LoadConfig: %w", err)
	}
	return c, nil
}

// SaveConfig validates and stores c in tx.
func SaveConfig(ctx context.Context, tx tenant.Tx, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := tenant.SaveSetting(ctx, tx, SettingsKey, c); err != nil {
		return fmt.Errorf("session.SaveConfig: %w", err)
	}
	return nil
}
