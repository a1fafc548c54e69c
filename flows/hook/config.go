package hook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// SettingsKey is the project_settings row holding Config.
const SettingsKey = "hooks"

// Hook names (Kratos selfservice hook names, plus Lanyard's "action").
const (
	NameSession                = "session"
	NameShowVerificationUI     = "show_verification_ui"
	NameRequireVerifiedAddress = "require_verified_address"
	NameRevokeActiveSessions   = "revoke_active_sessions"
	NameVerification           = "verification"
	NameWebHook                = "web_hook"
	NameAction                 = "action"
)

// Flows and points.
const (
	FlowRegistration = "registration"
	FlowLogin        = "login"
	FlowSettings     = "settings"
	FlowRecovery     = "recovery"
	FlowVerification = "verification"

	Before = "before"
	After  = "after"
)

// Failure policies of a synchronous hook (timeout, 5xx, script error).
const (
	FailClosed = "fail_closed"
	FailOpen   = "fail_open"
)

// Limits of hook settings.
const (
	DefaultTimeoutMS       = 3000
	MaxTimeoutMS           = 10000
	DefaultActionTimeoutMS = 100
	MaxActionTimeoutMS     = 1000
	MaxScriptBytes         = 64 << 10
	MaxHooksPerBlock       = 20
	DefaultMaxAttempts     = 15
	MaxMaxAttempts         = 50
	DefaultBackoffBaseMS   = 10_000
	DefaultBackoffMaxMS    = 3_600_000
	MaxBackoffMS           = 86_400_000
)

// methodsOf are the methods an after block may be split by, per flow.
var methodsOf = map[string][]string{
	FlowRegistration: {"password", "oidc", "code", "webauthn", "passkey", "profile"},
	FlowLogin:        {"password", "oidc", "code", "webauthn", "passkey", "totp", "lookup_secret"},
	FlowSettings:     {"password", "profile", "oidc", "totp", "lookup_secret", "webauthn", "passkey"},
	FlowRecovery:     {"code", "link"},
	FlowVerification: {"code", "link"},
}

// builtinWhere says at which flow/point each built-in may be configured.
var builtinWhere = map[string][]string{
	NameSession:                {FlowRegistration + "." + After},
	NameShowVerificationUI:     {FlowRegistration + "." + After},
	NameVerification:           {FlowRegistration + "." + After, FlowSettings + "." + After},
	NameRequireVerifiedAddress: {FlowLogin + "." + After},
	NameRevokeActiveSessions:   {FlowLogin + "." + After, FlowRecovery + "." + After, FlowSettings + "." + After},
}

// Config is a project's hooks, in the Kratos shape of
// selfservice.flows.<flow>.{before,after}: each block has "hooks" and an
// after block may also have one block per method ("password": {"hooks":
// [...]}) that runs after the block's own hooks for that method.
type Config struct {
	Registration *FlowHooks `json:"registration,omitempty"`
	Login        *FlowHooks `json:"login,omitempty"`
	Settings     *FlowHooks `json:"settings,omitempty"`
	Recovery     *FlowHooks `json:"recovery,omitempty"`
	Verification *FlowHooks `json:"verification,omitempty"`
	// Version counts saves; compiled scripts are cached by project and
	// version (read-only).
	Version int64 `json:"version"`
}

// FlowHooks are the before and after blocks of one flow.
type FlowHooks struct {
	Before *Block      `json:"before,omitempty"`
	After  *AfterBlock `json:"after,omitempty"`
}

// Block is an ordered list of hooks.
type Block struct {
	Hooks []Hook `json:"hooks"`
}

// AfterBlock is Block plus per-method blocks.
type AfterBlock struct {
	Hooks   []Hook
	Methods map[string]*Block
	// DefaultBrowserReturnURL is kept for Kratos configuration imports.
	DefaultBrowserReturnURL string
}

// MarshalJSON writes {"hooks": [...], "<method>": {"hooks": [...]}}.
func (a AfterBlock) MarshalJSON() ([]byte, error) {
	m := map[string]any{"hooks": nonNil(a.Hooks)}
	for k, b := range a.Methods {
		m[k] = b
	}
	if a.DefaultBrowserReturnURL != "" {
		m["default_browser_return_url"] = a.DefaultBrowserReturnURL
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the shape MarshalJSON writes; other keys are
// method names (checked by Validate).
func (a *AfterBlock) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = AfterBlock{}
	for k, v := range m {
		switch k {
		case "hooks":
			if err := strictUnmarshal(v, &a.Hooks); err != nil {
				return fmt.Errorf("hooks: %w", err)
			}
		case "default_browser_return_url":
			if err := json.Unmarshal(v, &a.DefaultBrowserReturnURL); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		default:
			var blk Block
			if err := strictUnmarshal(v, &blk); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if a.Methods == nil {
				a.Methods = map[string]*Block{}
			}
			a.Methods[k] = &blk
		}
	}
	return nil
}

func nonNil(h []Hook) []Hook {
	if h == nil {
		return []Hook{}
	}
	return h
}

// Hook is one entry: {"hook": name, "config": {...}}.
type Hook struct {
	Name    string
	Webhook *WebhookConfig
	Action  *ActionConfig
}

// MarshalJSON writes {"hook", "config"}.
func (h Hook) MarshalJSON() ([]byte, error) {
	out := map[string]any{"hook": h.Name}
	switch {
	case h.Webhook != nil:
		out["config"] = h.Webhook
	case h.Action != nil:
		out["config"] = h.Action
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads {"hook", "config"}; the config is decoded by the
// hook's kind and must not have unknown fields.
func (h *Hook) UnmarshalJSON(b []byte) error {
	var raw struct {
		Hook   string          `json:"hook"`
		Config json.RawMessage `json:"config"`
	}
	if err := strictUnmarshal(b, &raw); err != nil {
		return err
	}
	*h = Hook{Name: raw.Hook}
	hasConfig := len(raw.Config) > 0 && string(raw.Config) != "null"
	switch raw.Hook {
	case NameWebHook:
		h.Webhook = &WebhookConfig{}
		if hasConfig {
			if err := strictUnmarshal(raw.Config, h.Webhook); err != nil {
				return fmt.Errorf("web_hook config: %w", err)
			}
		}
	case NameAction:
		h.Action = &ActionConfig{}
		if hasConfig {
			if err := strictUnmarshal(raw.Config, h.Action); err != nil {
				return fmt.Errorf("action config: %w", err)
			}
		}
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ID is the hook's id ("" for built-ins).
func (h Hook) ID() string {
	switch {
	case h.Webhook != nil:
		return h.Webhook.ID
	case h.Action != nil:
		return h.Action.ID
	}
	return ""
}

// WebhookConfig is Kratos' web_hook config plus Lanyard's timeout, failure
// policy, retry policy and signing secret.
type WebhookConfig struct {
	ID      string            `json:"id"`
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers,omitempty"`
	Auth    *WebhookAuth      `json:"auth,omitempty"`
	// Body: Lanyard sends plain JSON; Jsonnet templates are refused.
	Body string `json:"body,omitempty"`
	// PayloadScript shapes the body instead: a JavaScript function,
	// `export default function (event) { return {...}; }`, whose return
	// value is sent as JSON (run in the action sandbox with an action's
	// default limits; the delivery log keeps the shaped body).
	PayloadScript string          `json:"payload_script,omitempty"`
	CanInterrupt  bool            `json:"can_interrupt"`
	Response      WebhookResponse `json:"response"`
	EmitAnalytics *bool           `json:"emit_analytics_event,omitempty"`
	// TimeoutMS of a synchronous call (3000, at most 10000).
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// OnError is what a synchronous call's timeout, network error or
	// unexpected answer does to the flow: fail_closed (default: the flow
	// fails with 502/504) or fail_open (the flow goes on).
	OnError string `json:"on_error,omitempty"`
	// Retry is the policy of asynchronous deliveries.
	Retry *RetryPolicy `json:"retry,omitempty"`
	// Secret signs every request (write-only; generated when absent and
	// shown once in the answer of the save).
	Secret    string `json:"secret,omitempty"`
	HasSecret bool   `json:"has_secret"`
	// Sealed holds the secret and auth credentials encrypted at rest.
	Sealed *Sealed `json:"sealed,omitempty"`
}

// WebhookResponse is Kratos' response block.
type WebhookResponse struct {
	Ignore bool `json:"ignore"`
	Parse  bool `json:"parse"`
}

// WebhookAuth is Kratos' auth block: api_key {name, value, in} or
// basic_auth {user, password}. Value and password are write-only.
type WebhookAuth struct {
	Type   string `json:"type"`
	Config struct {
		Name     string `json:"name,omitempty"`
		Value    string `json:"value,omitempty"`
		In       string `json:"in,omitempty"`
		User     string `json:"user,omitempty"`
		Password string `json:"password,omitempty"`
	} `json:"config"`
}

// RetryPolicy of asynchronous deliveries: attempts, then the first wait
// (doubling) and the longest wait.
type RetryPolicy struct {
	MaxAttempts   int `json:"max_attempts,omitempty"`
	BackoffBaseMS int `json:"initial_interval_ms,omitempty"`
	BackoffMaxMS  int `json:"max_interval_ms,omitempty"`
}

// Sealed is the stored form of a hook's secrets.
type Sealed struct {
	KeyID string `json:"key_id"`
	Data  []byte `json:"data"`
}

// secrets is what Sealed holds.
type secrets struct {
	Signing  string `json:"signing"`
	AuthCred string `json:"auth,omitempty"`
}

// Sync reports whether the webhook is called inline (it can interrupt the
// flow or change the identity); otherwise it is delivered asynchronously.
func (w *WebhookConfig) Sync() bool {
	return !w.Response.Ignore && (w.CanInterrupt || w.Response.Parse)
}

// Timeout in milliseconds, defaulted.
func (w *WebhookConfig) timeoutMS() int {
	if w.TimeoutMS <= 0 {
		return DefaultTimeoutMS
	}
	return w.TimeoutMS
}

// retry returns the retry policy, defaulted.
func (w *WebhookConfig) retry() RetryPolicy {
	r := RetryPolicy{MaxAttempts: DefaultMaxAttempts, BackoffBaseMS: DefaultBackoffBaseMS, BackoffMaxMS: DefaultBackoffMaxMS}
	if w.Retry != nil {
		if w.Retry.MaxAttempts > 0 {
			r.MaxAttempts = w.Retry.MaxAttempts
		}
		if w.Retry.BackoffBaseMS > 0 {
			r.BackoffBaseMS = w.Retry.BackoffBaseMS
		}
		if w.Retry.BackoffMaxMS > 0 {
			r.BackoffMaxMS = w.Retry.BackoffMaxMS
		}
	}
	return r
}

// ActionConfig is a JavaScript action.
type ActionConfig struct {
	ID string `json:"id"`
	// Script defines the action: `export default function (event, api)
	// {...}` (or `function action(event, api) {...}`).
	Script string `json:"script"`
	// TimeoutMS is the CPU time limit of one run (100, at most 1000).
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// OnError is what a script error or time/memory limit does to the
	// flow: fail_closed (default) or fail_open.
	OnError string `json:"on_error,omitempty"`
}

func (a *ActionConfig) timeoutMS() int {
	if a.TimeoutMS <= 0 {
		return DefaultActionTimeoutMS
	}
	return a.TimeoutMS
}

// Default is a new project's hooks: a session after registration.
func Default() Config {
	return Config{Registration: &FlowHooks{After: &AfterBlock{Hooks: []Hook{{Name: NameSession}}}}}
}

// flow returns the block of a flow (nil when none).
func (c *Config) flow(name string) *FlowHooks {
	switch name {
	case FlowRegistration:
		return c.Registration
	case FlowLogin:
		return c.Login
	case FlowSettings:
		return c.Settings
	case FlowRecovery:
		return c.Recovery
	case FlowVerification:
		return c.Verification
	}
	return nil
}

// Hooks returns the hooks that run at flow.point for method, in order:
// the block's own hooks, then the method's block (after only).
func (c *Config) Hooks(flow, point, method string) []Hook {
	f := c.flow(flow)
	if f == nil {
		return nil
	}
	if point == Before {
		if f.Before == nil {
			return nil
		}
		return f.Before.Hooks
	}
	if f.After == nil {
		return nil
	}
	out := slices.Clone(f.After.Hooks)
	if b := f.After.Methods[method]; b != nil && method != "" {
		out = append(out, b.Hooks...)
	}
	return out
}

// Has reports whether a built-in hook is configured at flow.after (for
// any method when method is "").
func (c *Config) Has(flow, name, method string) bool {
	f := c.flow(flow)
	if f == nil || f.After == nil {
		return false
	}
	lists := [][]Hook{f.After.Hooks}
	for m, b := range f.After.Methods {
		if method == "" || m == method {
			lists = append(lists, b.Hooks)
		}
	}
	for _, l := range lists {
		for _, h := range l {
			if h.Name == name {
				return true
			}
		}
	}
	return false
}

// each calls fn for every hook of c with its place ("registration.after.password").
func (c *Config) each(fn func(place string, h *Hook) error) error {
	for _, fl := range []string{FlowRegistration, FlowLogin, FlowSettings, FlowRecovery, FlowVerification} {
		f := c.flow(fl)
		if f == nil {
			continue
		}
		if f.Before != nil {
			for i := range f.Before.Hooks {
				if err := fn(fl+"."+Before, &f.Before.Hooks[i]); err != nil {
					return err
				}
			}
		}
		if f.After != nil {
			for i := range f.After.Hooks {
				if err := fn(fl+"."+After, &f.After.Hooks[i]); err != nil {
					return err
				}
			}
			for m, b := range f.After.Methods {
				if !slices.Contains(methodsOf[fl], m) {
					return errx.Newf(errx.Invalid, "%s.after.%s: %q is not a method of the %s flow (one of %s).", fl, m, m, fl, strings.Join(methodsOf[fl], ", "))
				}
				for i := range b.Hooks {
					if err := fn(fl+"."+After+"."+m, &b.Hooks[i]); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Use is what a configuration uses of the plan-gated features.
type Use struct {
	// Hooks counts webhooks and JavaScript actions (not built-ins).
	Hooks int
	// JSActions counts JavaScript actions.
	JSActions int
}

// use counts what c uses of the plan-gated features.
func (c *Config) use() Use {
	var u Use
	_ = c.each(func(_ string, h *Hook) error {
		switch {
		case h.Action != nil:
			u.Hooks++
			u.JSActions++
		case h.Webhook != nil:
			u.Hooks++
		}
		return nil
	})
	return u
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// headerNameRE is an HTTP token.
var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// validate checks c and fills defaults (ids); scripts are compiled by
// compile (nil skips the check). It returns errx.Invalid with the place
// of the first problem.
func (c *Config) validate(compile func(src string) error) error {
	ids := map[string]string{}
	count := map[string]int{}
	err := c.each(func(place string, h *Hook) error {
		count[place]++
		if count[place] > MaxHooksPerBlock {
			return errx.Newf(errx.Invalid, "%s: at most %d hooks per block.", place, MaxHooksPerBlock)
		}
		switch h.Name {
		case NameWebHook, NameAction:
		case NameSession, NameShowVerificationUI, NameRequireVerifiedAddress, NameRevokeActiveSessions, NameVerification:
			if !placeAllowed(place, builtinWhere[h.Name]) {
				return errx.Newf(errx.Invalid, "%s: the %s hook cannot run here (only in %s).", place, h.Name, strings.Join(builtinWhere[h.Name], ", "))
			}
			return nil
		case "":
			return errx.Newf(errx.Invalid, "%s: a hook needs a \"hook\" name.", place)
		default:
			return errx.Newf(errx.Invalid, "%s: unknown hook %q (known: session, show_verification_ui, require_verified_address, revoke_active_sessions, verification, web_hook, action).", place, h.Name)
		}
		id := h.ID()
		if id == "" {
			id = newID()
			if h.Webhook != nil {
				h.Webhook.ID = id
			} else {
				h.Action.ID = id
			}
		}
		if !idRE.MatchString(id) {
			return errx.Newf(errx.Invalid, "%s: hook id %q must be 1 to 64 letters, digits, '-' or '_'.", place, id)
		}
		if other, dup := ids[id]; dup {
			return errx.Newf(errx.Invalid, "%s: hook id %q is already used in %s.", place, id, other)
		}
		ids[id] = place
		if h.Webhook != nil {
			if err := validateWebhook(place, h.Webhook); err != nil {
				return err
			}
			if h.Webhook.PayloadScript != "" && compile != nil {
				if err := compile(h.Webhook.PayloadScript); err != nil {
					return errx.Newf(errx.Invalid, "%s: web_hook %s: payload_script: %s", place, h.Webhook.ID, err.Error()).WithDetails(scriptErrorDetails(err))
				}
			}
			return nil
		}
		return validateAction(place, h.Action, compile)
	})
	if err != nil {
		return err
	}
	// Kratos moves the session hook last.
	if f := c.Registration; f != nil && f.After != nil {
		moveSessionLast(f.After.Hooks)
		for _, b := range f.After.Methods {
			moveSessionLast(b.Hooks)
		}
	}
	return nil
}

func placeAllowed(place string, allowed []string) bool {
	for _, a := range allowed {
		if place == a || strings.HasPrefix(place, a+".") {
			return true
		}
	}
	return false
}

func moveSessionLast(hs []Hook) {
	i := slices.IndexFunc(hs, func(h Hook) bool { return h.Name == NameSession })
	if i >= 0 && i < len(hs)-1 {
		s := hs[i]
		copy(hs[i:], hs[i+1:])
		hs[len(hs)-1] = s
	}
}

func validateWebhook(place string, w *WebhookConfig) error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errx.Newf(errx.Invalid, "%s: web_hook %s: url %q must be an absolute http(s) URL without credentials.", place, w.ID, w.URL)
	}
	if w.Method == "" {
		w.Method = http.MethodPost
	}
	w.Method = strings.ToUpper(w.Method)
	switch w.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return errx.Newf(errx.Invalid, "%s: web_hook %s: method must be POST, PUT or PATCH (the event is the request body).", place, w.ID)
	}
	if w.Body != "" {
		return errx.Newf(errx.Invalid, "%s: web_hook %s: body templates (Jsonnet) are not supported: Lanyard sends the event as plain JSON; use payload_script (a JavaScript function) to shape it.", place, w.ID)
	}
	for k := range w.Headers {
		if !headerNameRE.MatchString(k) {
			return errx.Newf(errx.Invalid, "%s: web_hook %s: %q is not a valid header name.", place, w.ID, k)
		}
		if reservedHeader(k) {
			return errx.Newf(errx.Invalid, "%s: web_hook %s: header %q is set by Lanyard.", place, w.ID, k)
		}
	}
	if w.Response.Ignore && (w.Response.Parse || w.CanInterrupt) {
		return errx.Newf(errx.Invalid, "%s: web_hook %s: response.ignore excludes response.parse and can_interrupt.", place, w.ID)
	}
	if w.TimeoutMS < 0 || w.TimeoutMS > MaxTimeoutMS {
		return errx.Newf(errx.Invalid, "%s: web_hook %s: timeout_ms must be between 1 and %d.", place, w.ID, MaxTimeoutMS)
	}
	if err := checkPolicy(place, w.ID, &w.OnError); err != nil {
		return err
	}
	if r := w.Retry; r != nil {
		if r.MaxAttempts < 0 || r.MaxAttempts > MaxMaxAttempts || r.BackoffBaseMS < 0 || r.BackoffBaseMS > MaxBackoffMS || r.BackoffMaxMS < 0 || r.BackoffMaxMS > MaxBackoffMS {
			return errx.Newf(errx.Invalid, "%s: web_hook %s: retry.max_attempts must be at most %d and intervals at most %d ms.", place, w.ID, MaxMaxAttempts, MaxBackoffMS)
		}
	}
	if a := w.Auth; a != nil {
		switch a.Type {
		case "api_key":
			if a.Config.Name == "" || !headerNameRE.MatchString(a.Config.Name) {
				return errx.Newf(errx.Invalid, "%s: web_hook %s: auth.config.name must be a header or cookie name.", place, w.ID)
			}
			if a.Config.In == "" {
				a.Config.In = "header"
			}
			if a.Config.In != "header" && a.Config.In != "cookie" {
				return errx.Newf(errx.Invalid, "%s: web_hook %s: auth.config.in must be header or cookie.", place, w.ID)
			}
		case "basic_auth":
			if a.Config.User == "" || strings.Contains(a.Config.User, ":") {
				return errx.Newf(errx.Invalid, "%s: web_hook %s: auth.config.user is required and cannot contain ':'.", place, w.ID)
			}
		default:
			return errx.Newf(errx.Invalid, "%s: web_hook %s: auth.type must be api_key or basic_auth.", place, w.ID)
		}
	}
	if w.Secret != "" && (len(w.Secret) < 16 || len(w.Secret) > 256) {
		return errx.Newf(errx.Invalid, "%s: web_hook %s: secret must be 16 to 256 characters.", place, w.ID)
	}
	return nil
}

func reservedHeader(k string) bool {
	switch strings.ToLower(k) {
	case "content-type", "content-length", "host", "lanyard-signature", "lanyard-webhook-id", "lanyard-delivery-id",
		"ory-webhook-request-id", "ory-webhook-trigger-id", "user-agent":
		return true
	}
	return false
}

func validateAction(place string, a *ActionConfig, compile func(string) error) error {
	if strings.TrimSpace(a.Script) == "" {
		return errx.Newf(errx.Invalid, "%s: action %s: script is required.", place, a.ID)
	}
	if len(a.Script) > MaxScriptBytes {
		return errx.Newf(errx.Invalid, "%s: action %s: script is larger than %d bytes.", place, a.ID, MaxScriptBytes)
	}
	if a.TimeoutMS < 0 || a.TimeoutMS > MaxActionTimeoutMS {
		return errx.Newf(errx.Invalid, "%s: action %s: timeout_ms must be between 1 and %d.", place, a.ID, MaxActionTimeoutMS)
	}
	if err := checkPolicy(place, a.ID, &a.OnError); err != nil {
		return err
	}
	if compile != nil {
		if err := compile(a.Script); err != nil {
			return errx.Newf(errx.Invalid, "%s: action %s: the script does not compile: %s", place, a.ID, err.Error()).
				WithDetails(scriptErrorDetails(err))
		}
	}
	return nil
}

func checkPolicy(place, id string, p *string) error {
	switch *p {
	case "":
		*p = FailClosed
	case FailClosed, FailOpen:
	default:
		return errx.Newf(errx.Invalid, "%s: hook %s: on_error must be fail_closed or fail_open.", place, id)
	}
	return nil
}

func newID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "hk_" + base64.RawURLEncoding.EncodeToString(b)
}

// newSecret is a fresh signing secret.
func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// load reads the stored config (Default when unset).
func load(ctx context.Context, tx tenant.Tx) (Config, error) {
	c := Default()
	set, err := tenant.LoadSetting(ctx, tx, SettingsKey, &c)
	if err != nil {
		return Default(), fmt.Errorf("hook.load: %w", err)
	}
	if !set {
		return Default(), nil
	}
	return c, nil
}
