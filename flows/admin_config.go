package flows

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// AdminConfig is the admin view of a project's authentication settings
// (GET /admin/config): the knobs of Config and of the session
// configuration (identity/session.Config) that an admin may change, with
// the defaults filled in. Its JSON shape is part of the admin API.
type AdminConfig struct {
	// RegistrationEnabled turns sign-up on.
	RegistrationEnabled bool `json:"registration_enabled"`
	// FlowLifespanMinutes is how long a self-service flow may be used.
	FlowLifespanMinutes int `json:"flow_lifespan_minutes"`
	// PrivilegedMinutes is how recent a login must be to change
	// credentials or identifier traits.
	PrivilegedMinutes int `json:"privileged_session_max_age_minutes"`
	// DefaultReturnURL is where a browser goes after a flow without
	// return_to ("" is the project URL).
	DefaultReturnURL string `json:"default_browser_return_url"`
	// AllowedReturnURLs extend the return_to allow-list.
	AllowedReturnURLs []string                `json:"allowed_return_urls"`
	Password          AdminPasswordConfig     `json:"password"`
	Session           AdminSessionConfig      `json:"session"`
	Login             AdminLoginConfig        `json:"login"`
	Verification      AdminVerificationConfig `json:"verification"`
	Recovery          AdminRecoveryConfig     `json:"recovery"`
	// Limits are the brute-force limits per scope (every known scope).
	Limits map[string]AdminLimit `json:"limits"`
}

// AdminPasswordConfig is the password policy.
type AdminPasswordConfig struct {
	MinLength                 int  `json:"min_length"`
	CommonPasswordCheck       bool `json:"common_password_check"`
	IdentifierSimilarityCheck bool `json:"identifier_similarity_check"`
}

// AdminSessionConfig is the session lifetime.
type AdminSessionConfig struct {
	// LifespanMinutes from issue or from the last extension.
	LifespanMinutes int `json:"lifespan_minutes"`
	// Sliding extends a used session when less than half its life remains.
	Sliding bool `json:"sliding"`
	// MaxLifespanMinutes is the absolute limit from issue.
	MaxLifespanMinutes int `json:"max_lifespan_minutes"`
	// ClientRefresh allows POST /sessions/refresh.
	ClientRefresh bool `json:"client_refresh"`
	// CookiePersistent gives the session cookie a Max-Age.
	CookiePersistent bool `json:"cookie_persistent"`
}

// AdminLoginConfig holds the login hooks.
type AdminLoginConfig struct {
	RequireVerifiedAddress bool `json:"require_verified_address"`
}

// AdminVerificationConfig is the verification method ("code" or "link").
type AdminVerificationConfig struct {
	Use string `json:"use"`
}

// AdminRecoveryConfig is the recovery method and its effect on sessions.
type AdminRecoveryConfig struct {
	Use                  string `json:"use"`
	RevokeActiveSessions bool   `json:"revoke_active_sessions"`
}

// AdminLimit is one brute-force limit: rate events per period, with a
// burst.
type AdminLimit struct {
	Rate          int `json:"rate"`
	PeriodSeconds int `json:"period_seconds"`
	Burst         int `json:"burst"`
}

// AdminConfigPatch is a PATCH /admin/config body: every field is
// optional; Limits replaces the scopes it names.
type AdminConfigPatch struct {
	RegistrationEnabled *bool     `json:"registration_enabled"`
	FlowLifespanMinutes *int      `json:"flow_lifespan_minutes"`
	PrivilegedMinutes   *int      `json:"privileged_session_max_age_minutes"`
	DefaultReturnURL    *string   `json:"default_browser_return_url"`
	AllowedReturnURLs   *[]string `json:"allowed_return_urls"`
	Password            *struct {
		MinLength                 *int  `json:"min_length"`
		CommonPasswordCheck       *bool `json:"common_password_check"`
		IdentifierSimilarityCheck *bool `json:"identifier_similarity_check"`
	} `json:"password"`
	Session *struct {
		LifespanMinutes    *int  `json:"lifespan_minutes"`
		Sliding            *bool `json:"sliding"`
		MaxLifespanMinutes *int  `json:"max_lifespan_minutes"`
		ClientRefresh      *bool `json:"client_refresh"`
		CookiePersistent   *bool `json:"cookie_persistent"`
	} `json:"session"`
	Login *struct {
		RequireVerifiedAddress *bool `json:"require_verified_address"`
	} `json:"login"`
	Verification *struct {
		Use *string `json:"use"`
	} `json:"verification"`
	Recovery *struct {
		Use                  *string `json:"use"`
		RevokeActiveSessions *bool   `json:"revoke_active_sessions"`
	} `json:"recovery"`
	Limits map[string]AdminLimit `json:"limits"`
}

// FieldError is the errx.Invalid of a setting: details carry the field
// (its JSON path, "password.min_length") and the message.
func FieldError(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return errx.New(errx.Invalid, field+": "+msg).WithDetails(map[string]any{"field": field, "message": msg})
}

// Bounds of the admin settings.
const (
	maxReturnURLs      = 100
	maxLimitRate       = 1_000_000
	maxLimitPeriodSecs = 7 * 24 * 3600
	maxSessionMinutes  = 400 * 24 * 60
	maxFlowMinutes     = 24 * 60
	maxPrivilegedMins  = 24 * 60
	defaultMinPassword = 8
)

// AdminView renders the admin view of c and s.
func AdminView(c Config, s session.Config) AdminConfig {
	v := AdminConfig{
		RegistrationEnabled: c.RegistrationEnabled,
		FlowLifespanMinutes: c.LifespanMinutes,
		PrivilegedMinutes:   int(c.PrivilegedMaxAge() / time.Minute),
		DefaultReturnURL:    c.DefaultReturnURL,
		AllowedReturnURLs:   append([]string{}, c.AllowedReturnURLs...),
		Password: AdminPasswordConfig{MinLength: c.Password.MinLength, CommonPasswordCheck: c.Password.CommonCheck(),
			IdentifierSimilarityCheck: c.Password.SimilarityCheck()},
		Session: AdminSessionConfig{LifespanMinutes: int(time.Duration(s.Lifespan) / time.Minute), Sliding: s.Sliding,
			MaxLifespanMinutes: int(time.Duration(s.MaxLifespan) / time.Minute), ClientRefresh: s.ClientRefresh,
			CookiePersistent: s.CookiePersistent},
		Login:        AdminLoginConfig{RequireVerifiedAddress: c.Login.RequireVerifiedAddress},
		Verification: AdminVerificationConfig{Use: MethodOf(c.Verification.Use)},
		Recovery:     AdminRecoveryConfig{Use: MethodOf(c.Recovery.Use), RevokeActiveSessions: c.Recovery.RevokesSessions()},
		Limits:       map[string]AdminLimit{},
	}
	if v.Password.MinLength == 0 {
		v.Password.MinLength = defaultMinPassword
	}
	for scope := range DefaultLimits() {
		l := c.Limit(scope)
		v.Limits[scope] = AdminLimit{Rate: l.Rate, PeriodSeconds: int(l.Period / time.Second), Burst: l.Burst}
	}
	return v
}

// Apply validates p and applies it to c and s. It returns the first
// invalid field as FieldError and leaves c and s unchanged then.
func (p AdminConfigPatch) Apply(c *Config, s *session.Config) error {
	nc, ns := *c, *s
	nc.AllowedReturnURLs = append([]string(nil), c.AllowedReturnURLs...)
	nc.Limits = map[string]ratelimit.Limit{}
	for k, l := range c.Limits {
		nc.Limits[k] = l
	}
	between := func(field string, v *int, lo, hi int) error {
		if v != nil && (*v < lo || *v > hi) {
			return FieldError(field, "must be between %d and %d.", lo, hi)
		}
		return nil
	}
	for _, b := range []struct {
		f      string
		v      *int
		lo, hi int
	}{
		{"flow_lifespan_minutes", p.FlowLifespanMinutes, 1, maxFlowMinutes},
		{"privileged_session_max_age_minutes", p.PrivilegedMinutes, 1, maxPrivilegedMins},
	} {
		if err := between(b.f, b.v, b.lo, b.hi); err != nil {
			return err
		}
	}
	if p.RegistrationEnabled != nil {
		nc.RegistrationEnabled = *p.RegistrationEnabled
	}
	if p.FlowLifespanMinutes != nil {
		nc.LifespanMinutes = *p.FlowLifespanMinutes
	}
	if p.PrivilegedMinutes != nil {
		nc.PrivilegedMinutes = *p.PrivilegedMinutes
	}
	if p.DefaultReturnURL != nil {
		u := strings.TrimSpace(*p.DefaultReturnURL)
		if u != "" && !strings.HasPrefix(u, "{base}") && !absoluteHTTP(u) {
			return FieldError("default_browser_return_url", "%q is not an absolute http(s) URL.", u)
		}
		nc.DefaultReturnURL = u
	}
	if p.AllowedReturnURLs != nil {
		list := []string{}
		for _, u := range *p.AllowedReturnURLs {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			if !absoluteHTTP(strings.Replace(u, "*.", "x.", 1)) {
				return FieldError("allowed_return_urls", "%q is not an absolute http(s) URL.", u)
			}
			list = append(list, u)
		}
		if len(list) > maxReturnURLs {
			return FieldError("allowed_return_urls", "at most %d URLs.", maxReturnURLs)
		}
		nc.AllowedReturnURLs = list
	}
	if pw := p.Password; pw != nil {
		if err := between("password.min_length", pw.MinLength, 6, 1024); err != nil {
			return err
		}
		if pw.MinLength != nil {
			nc.Password.MinLength = *pw.MinLength
		}
		if pw.CommonPasswordCheck != nil {
			nc.Password.CommonPasswordCheck = ptr(*pw.CommonPasswordCheck)
		}
		if pw.IdentifierSimilarityCheck != nil {
			nc.Password.IdentifierSimilarityCheck = ptr(*pw.IdentifierSimilarityCheck)
		}
	}
	if ps := p.Session; ps != nil {
		if err := between("session.lifespan_minutes", ps.LifespanMinutes, 1, maxSessionMinutes); err != nil {
			return err
		}
		if err := between("session.max_lifespan_minutes", ps.MaxLifespanMinutes, 1, maxSessionMinutes); err != nil {
			return err
		}
		if ps.LifespanMinutes != nil {
			ns.Lifespan = session.Duration(time.Duration(*ps.LifespanMinutes) * time.Minute)
		}
		if ps.MaxLifespanMinutes != nil {
			ns.MaxLifespan = session.Duration(time.Duration(*ps.MaxLifespanMinutes) * time.Minute)
		}
		if ns.MaxLifespan < ns.Lifespan {
			return FieldError("session.max_lifespan_minutes", "must not be shorter than session.lifespan_minutes.")
		}
		if ps.Sliding != nil {
			ns.Sliding = *ps.Sliding
		}
		if ps.ClientRefresh != nil {
			ns.ClientRefresh = *ps.ClientRefresh
		}
		if ps.CookiePersistent != nil {
			ns.CookiePersistent = *ps.CookiePersistent
		}
	}
	if p.Login != nil && p.Login.RequireVerifiedAddress != nil {
		nc.Login.RequireVerifiedAddress = *p.Login.RequireVerifiedAddress
	}
	if p.Verification != nil && p.Verification.Use != nil {
		if err := checkUse("verification.use", *p.Verification.Use); err != nil {
			return err
		}
		nc.Verification.Use = *p.Verification.Use
	}
	if pr := p.Recovery; pr != nil {
		if pr.Use != nil {
			if err := checkUse("recovery.use", *pr.Use); err != nil {
				return err
			}
			nc.Recovery.Use = *pr.Use
		}
		if pr.RevokeActiveSessions != nil {
			nc.Recovery.RevokeActiveSessions = ptr(*pr.RevokeActiveSessions)
		}
	}
	known := DefaultLimits()
	scopes := make([]string, 0, len(p.Limits))
	for scope := range p.Limits {
		scopes = append(scopes, scope)
	}
	sort.Strings(scopes)
	for _, scope := range scopes {
		l := p.Limits[scope]
		field := "limits." + scope
		if _, ok := known[scope]; !ok {
			return FieldError(field, "is not a known limit scope.")
		}
		switch {
		case l.Rate < 1 || l.Rate > maxLimitRate:
			return FieldError(field+".rate", "must be between 1 and %d.", maxLimitRate)
		case l.PeriodSeconds < 1 || l.PeriodSeconds > maxLimitPeriodSecs:
			return FieldError(field+".period_seconds", "must be between 1 and %d.", maxLimitPeriodSecs)
		case l.Burst < 1 || l.Burst > maxLimitRate:
			return FieldError(field+".burst", "must be between 1 and %d.", maxLimitRate)
		}
		nc.Limits[scope] = ratelimit.Limit{Rate: l.Rate, Period: time.Duration(l.PeriodSeconds) * time.Second, Burst: l.Burst}
	}
	if err := nc.Validate(); err != nil {
		return err
	}
	if err := ns.Validate(); err != nil {
		return err
	}
	*c, *s = nc, ns
	return nil
}

func checkUse(field, use string) error {
	if use != MethodCode && use != MethodLink {
		return FieldError(field, "must be %q or %q.", MethodCode, MethodLink)
	}
	return nil
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func ptr[T any](v T) *T { return &v }

// LoadAdminConfig reads the admin view of the project's settings in tx.
func LoadAdminConfig(ctx context.Context, tx tenant.Tx) (AdminConfig, error) {
	c, err := LoadConfig(ctx, tx)
	if err != nil {
		return AdminConfig{}, err
	}
	s, err := session.LoadConfig(ctx, tx)
	if err != nil {
		return AdminConfig{}, err
	}
	return AdminView(c, s), nil
}

// PatchAdminConfig applies p to the project's settings in tx and returns
// the new view; on a FieldError nothing is written.
func PatchAdminConfig(ctx context.Context, tx tenant.Tx, p AdminConfigPatch) (AdminConfig, error) {
	c, err := LoadConfig(ctx, tx)
	if err != nil {
		return AdminConfig{}, err
	}
	s, err := session.LoadConfig(ctx, tx)
	if err != nil {
		return AdminConfig{}, err
	}
	if err := p.Apply(&c, &s); err != nil {
		return AdminConfig{}, err
	}
	if err := SaveConfig(ctx, tx, c); err != nil {
		return AdminConfig{}, err
	}
	if p.Session != nil {
		if err := session.SaveConfig(ctx, tx, s); err != nil {
			return AdminConfig{}, err
		}
	}
	return AdminView(c, s), nil
}
