package flows

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// CORSSettingsKey is the project_settings row holding CORS.
const CORSSettingsKey = "cors"

// CORS is a project's cross-origin policy for its public API: which web
// origins (an app on another host than the project's URL) may call it from
// a browser with credentials. The admin API never answers cross-origin
// requests. Empty by default: only the project's own origin.
type CORS struct {
	// AllowedOrigins are origins such as "https://app.example.com" or
	// "http://localhost:3000"; "https://*.example.com" allows every
	// subdomain of example.com (not example.com itself).
	AllowedOrigins []string `json:"allowed_origins"`
}

// maxCORSOrigins bounds the list.
const maxCORSOrigins = 100

// Validate returns errx.Invalid naming the first origin that is not one.
func (c CORS) Validate() error {
	if len(c.AllowedOrigins) > maxCORSOrigins {
		return errx.Newf(errx.Invalid, "allowed_origins: at most %d origins.", maxCORSOrigins)
	}
	for _, o := range c.AllowedOrigins {
		if _, _, err := parseOrigin(o); err != nil {
			return errx.Newf(errx.Invalid, "allowed_origins: %q %s", o, err.Error())
		}
	}
	return nil
}

// parseOrigin splits an allowed origin into scheme and host pattern.
func parseOrigin(o string) (scheme, host string, err error) {
	if o == "*" {
		return "", "", fmt.Errorf("is not allowed: credentialed requests need explicit origins (a wildcard subdomain such as https://*.example.com is)")
	}
	u, perr := url.Parse(o)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("is not an origin such as https://app.example.com")
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("is not an origin: it has a path, query or user")
	}
	host = strings.ToLower(u.Host)
	if strings.Contains(strings.TrimPrefix(host, "*."), "*") {
		return "", "", fmt.Errorf("may only have a wildcard as its first label (https://*.example.com)")
	}
	return u.Scheme, host, nil
}

// Allows reports whether origin (the Origin request header) is allowed.
func (c CORS) Allows(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, o := range c.AllowedOrigins {
		scheme, pattern, err := parseOrigin(o)
		if err != nil || scheme != u.Scheme {
			continue
		}
		if rest, ok := strings.CutPrefix(pattern, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if host == pattern {
			return true
		}
	}
	return false
}

// LoadCORS reads the project's CORS policy in tx (empty when unset).
func LoadCORS(ctx context.Context, tx tenant.Tx) (CORS, error) {
	var c CORS
	if _, err := tenant.LoadSetting(ctx, tx, CORSSettingsKey, &c); err != nil {
		return CORS{}, fmt.Errorf("flows.LoadCORS: %w", err)
	}
	return c, nil
}

// CORSPolicies serves projects' CORS policies from memory: the policy is
// read on every cross-origin request, so it is kept for TTL (a change made
// in another process applies within that time; one made through Save in
// this process at once).
type CORSPolicies struct {
	DB  *tenant.DB
	TTL time.Duration // 10s when zero

	m sync.Map // project id -> cachedCORS
}

type cachedCORS struct {
	c  CORS
	at time.Time
}

// Get returns p's policy.
func (cp *CORSPolicies) Get(ctx context.Context, p *tenant.Project) (CORS, error) {
	ttl := cp.TTL
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	if v, ok := cp.m.Load(p.ID); ok && time.Since(v.(cachedCORS).at) < ttl {
		return v.(cachedCORS).c, nil
	}
	var c CORS
	err := cp.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		c, err = LoadCORS(ctx, tx)
		return err
	})
	if err != nil {
		return CORS{}, err
	}
	cp.m.Store(p.ID, cachedCORS{c: c, at: time.Now()})
	return c, nil
}

// Save validates and stores p's policy.
func (cp *CORSPolicies) Save(ctx context.Context, p *tenant.Project, c CORS) error {
	if c.AllowedOrigins == nil {
		c.AllowedOrigins = []string{}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	err := cp.DB.InTx(ctx, p, func(tx tenant.Tx) error { return tenant.SaveSetting(ctx, tx, CORSSettingsKey, c) })
	if err != nil {
		return fmt.Errorf("flows.CORSPolicies.Save: %w", err)
	}
	cp.m.Delete(p.ID)
	return nil
}
