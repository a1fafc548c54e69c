// Package config holds Lanyard's one typed configuration, read from an optional
// YAML file and then from LANYARD_* environment variables (which win).
package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	env "github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// Modes.
const (
	ModeDev        = "dev"
	ModeProduction = "production"
)

// DefaultDatabaseURL is the developer-machine default.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/lanyard?sslmode=disable"

// Config is everything a Lanyard process can be told. Every field is
// documented in the README; the env name is LANYARD_ + the env tag.
type Config struct {
	Mode        string `yaml:"mode" env:"MODE"`
	DatabaseURL string `yaml:"database_url" env:"DATABASE_URL"`
	DBMaxConns  int32  `yaml:"db_max_conns" env:"DB_MAX_CONNS"`
	RedisURL    string `yaml:"redis_url" env:"REDIS_URL"`
	// RedisNamespace prefixes Lanyard's Redis keys, channels and queue
	// names, so that several deployments (or test runs) can share a Redis.
	RedisNamespace string `yaml:"redis_namespace" env:"REDIS_NAMESPACE"`
	APIAddr        string `yaml:"api_addr" env:"API_ADDR"`
	DashboardAddr  string `yaml:"dashboard_addr" env:"DASHBOARD_ADDR"`
	WorkerAddr     string `yaml:"worker_addr" env:"WORKER_ADDR"`
	ProjectsDomain string `yaml:"projects_domain" env:"PROJECTS_DOMAIN"`
	// ProjectsURL is the public URL template of a project; {slug} is replaced.
	// Empty means {scheme}://{slug}.{projects_domain}[:api port in dev].
	ProjectsURL  string `yaml:"projects_url" env:"PROJECTS_URL"`
	PublicScheme string `yaml:"public_scheme" env:"PUBLIC_SCHEME"`
	// DashboardURL is the dashboard's public URL (invitation links, the
	// console project's return_to allow-list). Empty means
	// {scheme}://{projects_domain}[:dashboard port in dev].
	DashboardURL string `yaml:"dashboard_url" env:"DASHBOARD_URL"`
	// Secrets: comma-separated base64 keys, the first is current, the others
	// are still accepted for decryption (rotation).
	Secrets []string `yaml:"secrets" env:"SECRET" envSeparator:","`
	DataDir string   `yaml:"data_dir" env:"DATA_DIR"`
	// SpareSchemas is how many project schemas are kept built ahead of
	// time, so that creating a project takes milliseconds.
	SpareSchemas int `yaml:"spare_schemas" env:"SPARE_SCHEMAS"`

	LogLevel        string        `yaml:"log_level" env:"LOG_LEVEL"`
	LogFormat       string        `yaml:"log_format" env:"LOG_FORMAT"`
	BodyLimit       int64         `yaml:"body_limit" env:"BODY_LIMIT"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"SHUTDOWN_TIMEOUT"`

	SMTPURL  string `yaml:"smtp_url" env:"SMTP_URL"`
	MailFrom string `yaml:"mail_from" env:"MAIL_FROM"`

	// HooksAllowPrivate lets webhooks reach loopback, private and
	// link-local addresses in production mode (self-hosting); dev mode
	// always allows them.
	HooksAllowPrivate bool `yaml:"hooks_allow_private" env:"HOOKS_ALLOW_PRIVATE"`
	// HookLogRetention is how long finished webhook deliveries and action
	// runs stay in a project's delivery log (default 30 days).
	HookLogRetention time.Duration `yaml:"hook_log_retention" env:"HOOK_LOG_RETENTION"`

	StripeSecretKey     string `yaml:"stripe_secret_key" env:"STRIPE_SECRET_KEY"`
	StripeWebhookSecret string `yaml:"stripe_webhook_secret" env:"STRIPE_WEBHOOK_SECRET"`
	StripeAPIBase       string `yaml:"stripe_api_base" env:"STRIPE_API_BASE"`
	// StripeMeterEvent is the event name of the Stripe billing meter that
	// MAU usage is reported to; StripeProPriceID and
	// StripeProMeteredPriceID fill the price ids of the default Pro plan.
	StripeMeterEvent        string `yaml:"stripe_meter_event" env:"STRIPE_METER_EVENT"`
	StripeProPriceID        string `yaml:"stripe_pro_price_id" env:"STRIPE_PRO_PRICE_ID"`
	StripeProMeteredPriceID string `yaml:"stripe_pro_metered_price_id" env:"STRIPE_PRO_METERED_PRICE_ID"`
	// BillingDefaultPlan is the plan of a workspace without a paid
	// subscription (every workspace while billing is off).
	BillingDefaultPlan string `yaml:"billing_default_plan" env:"BILLING_DEFAULT_PLAN"`
	// BillingGracePeriod is how long a workspace keeps its paid plan after
	// a failed payment before it falls back to the default plan.
	BillingGracePeriod time.Duration `yaml:"billing_grace_period" env:"BILLING_GRACE_PERIOD"`
	// BillingMAUGracePercent is the margin above a hard MAU cap before
	// registrations are refused (10 = refuse from 110% of the cap).
	BillingMAUGracePercent int `yaml:"billing_mau_grace_percent" env:"BILLING_MAU_GRACE_PERCENT"`
	// BillingPlans replaces the default plan set (YAML only; see README).
	BillingPlans []PlanConfig `yaml:"billing_plans"`

	// Password hashing (identity/hash). Zero values take the defaults:
	// argon2id with m=19456 KiB, t=2, p=1 (OWASP); bcrypt cost 12.
	HashAlgorithm     string `yaml:"hash_algorithm" env:"HASH_ALGORITHM"`
	Argon2Memory      uint32 `yaml:"argon2_memory" env:"ARGON2_MEMORY"`
	Argon2Iterations  uint32 `yaml:"argon2_iterations" env:"ARGON2_ITERATIONS"`
	Argon2Parallelism uint8  `yaml:"argon2_parallelism" env:"ARGON2_PARALLELISM"`
	BcryptCost        int    `yaml:"bcrypt_cost" env:"BCRYPT_COST"`
}

// Default returns the configuration used when nothing is set: it works on a
// developer machine with local Postgres, Redis and Mailpit.
func Default() Config {
	return Config{
		Mode:             ModeDev,
		DatabaseURL:      DefaultDatabaseURL,
		DBMaxConns:       20,
		RedisURL:         "redis://127.0.0.1:6379/0",
		APIAddr:          ":4433",
		DashboardAddr:    ":4000",
		WorkerAddr:       ":4435",
		ProjectsDomain:   "localhost",
		DataDir:          ".lanyard",
		SpareSchemas:     10,
		LogLevel:         "info",
		LogFormat:        "json",
		BodyLimit:        1 << 20,
		ShutdownTimeout:  8 * time.Second,
		HookLogRetention: 30 * 24 * time.Hour,
		SMTPURL:          "smtp://127.0.0.1:1025",
		MailFrom:         "Lanyard <no-reply@lanyard.localhost>",

		StripeMeterEvent:       "lanyard_mau",
		BillingDefaultPlan:     "free",
		BillingGracePeriod:     7 * 24 * time.Hour,
		BillingMAUGracePercent: 10,
	}
}

// PlanConfig is one billing plan. A zero limit means unlimited.
type PlanConfig struct {
	Name  string `yaml:"name"`
	Title string `yaml:"title"`
	// StripePriceID is the recurring base price bought through Checkout;
	// StripeMeteredPriceID the usage price fed by the MAU meter. Empty on
	// plans that are not sold through Checkout (free, enterprise).
	StripePriceID        string `yaml:"stripe_price_id"`
	StripeMeteredPriceID string `yaml:"stripe_metered_price_id"`
	// IncludedMAU is the monthly active users the base price covers; with
	// HardMAUCap, registrations stop past it (plus the grace margin).
	IncludedMAU int64 `yaml:"included_mau"`
	HardMAUCap  bool  `yaml:"hard_mau_cap"`
	// ProjectLimit is how many active projects the workspace may have.
	ProjectLimit int `yaml:"project_limit"`
	// Prices in cents, shown to the user (Stripe holds the real prices).
	MonthlyPriceCents   int64        `yaml:"monthly_price_cents"`
	OverageCentsPer1000 int64        `yaml:"overage_cents_per_1000"`
	Features            PlanFeatures `yaml:"features"`
}

// PlanFeatures are the plan-gated features.
type PlanFeatures struct {
	CustomDomains      bool `yaml:"custom_domains" json:"custom_domains"`
	Hooks              int  `yaml:"hooks" json:"hooks"`
	JSActions          bool `yaml:"js_actions" json:"js_actions"`
	SMTP               bool `yaml:"smtp" json:"smtp"`
	AuditRetentionDays int  `yaml:"audit_retention_days" json:"audit_retention_days"`
}

// Load builds the configuration: defaults, then the YAML file (if path is not
// empty), then LANYARD_* variables read through getenv. It validates the
// result and, in dev mode, creates and keeps a secret under DataDir.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: read %s: %w", path, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config: parse %s: %w", path, err)
		}
	}
	opts := env.Options{Prefix: "LANYARD_"}
	params, err := env.GetFieldParamsWithOptions(&cfg, opts)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	opts.Environment = map[string]string{}
	for _, p := range params {
		if v := getenv(p.Key); v != "" {
			opts.Environment[p.Key] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, opts); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	if len(cfg.Secrets) == 0 && cfg.Mode == ModeDev {
		s, err := devSecret(cfg.DataDir)
		if err != nil {
			return cfg, err
		}
		cfg.Secrets = []string{s}
	}
	return cfg, nil
}

// defaultPasswords are refused in production mode.
var defaultPasswords = map[string]bool{"": true, "postgres": true, "password": true, "lanyard": true, "secret": true, "changeme": true, "admin": true}

func (c *Config) validate() error {
	var errs []error
	switch c.Mode {
	case ModeDev, ModeProduction:
	default:
		errs = append(errs, fmt.Errorf("LANYARD_MODE: must be %q or %q, got %q", ModeDev, ModeProduction, c.Mode))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		errs = append(errs, fmt.Errorf("LANYARD_DATABASE_URL: not a postgres:// URL"))
	} else if c.Mode == ModeProduction {
		pw, _ := u.User.Password()
		if defaultPasswords[pw] {
			errs = append(errs, fmt.Errorf("LANYARD_DATABASE_URL: production mode refuses an empty or default database password"))
		}
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		errs = append(errs, fmt.Errorf("LANYARD_REDIS_URL: not a redis:// URL"))
	}
	for name, addr := range map[string]string{"LANYARD_API_ADDR": c.APIAddr, "LANYARD_DASHBOARD_ADDR": c.DashboardAddr, "LANYARD_WORKER_ADDR": c.WorkerAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", name, addr))
		}
	}
	if c.ProjectsDomain == "" || strings.ContainsAny(c.ProjectsDomain, "/:{} ") {
		errs = append(errs, fmt.Errorf("LANYARD_PROJECTS_DOMAIN: %q is not a domain name", c.ProjectsDomain))
	}
	if c.ProjectsURL != "" && !strings.Contains(c.ProjectsURL, "{slug}") {
		errs = append(errs, fmt.Errorf("LANYARD_PROJECTS_URL: must contain {slug}"))
	}
	if c.DashboardURL != "" {
		if u, err := url.Parse(c.DashboardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("LANYARD_DASHBOARD_URL: not an absolute http(s) URL"))
		}
	}
	switch c.PublicScheme {
	case "", "http", "https":
	default:
		errs = append(errs, fmt.Errorf("LANYARD_PUBLIC_SCHEME: must be http or https"))
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, fmt.Errorf("LANYARD_BODY_LIMIT: must be positive"))
	}
	if c.HookLogRetention < time.Hour {
		errs = append(errs, fmt.Errorf("LANYARD_HOOK_LOG_RETENTION: must be at least 1h, got %s", c.HookLogRetention))
	}
	if c.DBMaxConns < 2 {
		errs = append(errs, fmt.Errorf("LANYARD_DB_MAX_CONNS: must be at least 2"))
	}
	if c.Mode == ModeProduction && len(c.Secrets) == 0 {
		errs = append(errs, fmt.Errorf("LANYARD_SECRET: required in production mode (base64 of at least 32 random bytes)"))
	}
	for i, s := range c.Secrets {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); err != nil || len(b) < 32 {
			errs = append(errs, fmt.Errorf("LANYARD_SECRET: key %d is not base64 of at least 32 bytes", i+1))
		}
	}
	return errors.Join(errs...)
}

// Scheme is the public scheme of project URLs.
func (c *Config) Scheme() string {
	if c.PublicScheme != "" {
		return c.PublicScheme
	}
	if c.Mode == ModeProduction {
		return "https"
	}
	return "http"
}

// ProjectURL is the public base URL of the project with this slug.
func (c *Config) ProjectURL(slug string) string {
	tpl := c.ProjectsURL
	if tpl == "" {
		tpl = c.Scheme() + "://{slug}." + c.ProjectsDomain
		if c.Mode == ModeDev {
			if _, port, err := net.SplitHostPort(c.APIAddr); err == nil && port != "80" && port != "443" {
				tpl += ":" + port
			}
		}
	}
	return strings.ReplaceAll(tpl, "{slug}", slug)
}

// DashboardBaseURL is the dashboard's public URL, without a trailing slash.
func (c *Config) DashboardBaseURL() string {
	if c.DashboardURL != "" {
		return strings.TrimSuffix(c.DashboardURL, "/")
	}
	u := c.Scheme() + "://" + c.ProjectsDomain
	if c.Mode == ModeDev {
		if _, port, err := net.SplitHostPort(c.DashboardAddr); err == nil && port != "80" && port != "443" {
			u += ":" + port
		}
	}
	return u
}

// SecretKeys decodes the configured secrets, current first.
func (c *Config) SecretKeys() [][]byte {
	keys := make([][]byte, 0, len(c.Secrets))
	for _, s := range c.Secrets {
		b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		keys = append(keys, b)
	}
	return keys
}

// devSecret reads DataDir/secret, creating it with 32 random bytes on first use.
func devSecret(dir string) (string, error) {
	path := filepath.Join(dir, "secret")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("config: create %s: %w", dir, err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := base64.StdEncoding.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process won the race
		b, rerr := os.ReadFile(path)
		return strings.TrimSpace(string(b)), rerr
	}
	if err != nil {
		return "", fmt.Errorf("config: write %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(s + "\n"); err != nil {
		return "", err
	}
	return s, nil
}
