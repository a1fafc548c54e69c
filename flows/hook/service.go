package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/pagetoken"
	"github.com/lanyard-id/lanyard/internal/sealbox"
	"github.com/lanyard-id/lanyard/tenant"
)

// Options configures a Service.
type Options struct {
	DB         *tenant.DB
	Registry   *tenant.Registry
	Identities *identity.Manager
	// Secrets are the configured keys, current first: they seal hook
	// secrets and page tokens.
	Secrets [][]byte
	// AllowPrivate lets webhooks reach loopback and private addresses
	// (self-hosting and tests); hosted deployments leave it off.
	AllowPrivate bool
	// Client enqueues deliveries on Queue right after the flow commits;
	// nil leaves them to the outbox relay sweep.
	Client *asynq.Client
	Queue  string
	// RelayGrace is how late an outbox row must be before the sweep relays
	// it (20 s); Lease how long a claimed delivery is held (2 min).
	RelayGrace time.Duration
	Lease      time.Duration
	Logger     *slog.Logger
	// Gate, when set, is asked before a configuration is saved, with what
	// it uses of the plan-gated features; its error (a 403 that names the
	// plan needed) refuses the save and nothing is stored. Nil allows
	// everything (the billing package sets it through internal/server).
	Gate Gate
}

// Gate decides whether project p may save a configuration that uses u.
type Gate func(ctx context.Context, p *tenant.Project, u Use) error

// WithGate returns a Service that shares s's state and checks g before
// every save.
func (s *Service) WithGate(g Gate) *Service {
	c := *s
	c.o.Gate = g
	return &c
}

// Service stores hook configuration, runs synchronous hooks in flows,
// queues asynchronous webhooks and delivers them.
type Service struct {
	o      Options
	keys   *sealbox.Keyring
	pages  pagetoken.Sealer
	client *Client
	engine *Engine
}

// New builds a Service.
func New(o Options) *Service {
	if o.RelayGrace <= 0 {
		o.RelayGrace = 20 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{o: o, keys: sealbox.New(o.Secrets, "lanyard hook secrets v1"),
		pages:  pagetoken.New(sealbox.DeriveKey(o.Secrets[0], "lanyard hook page token v1")),
		client: NewClient(o.AllowPrivate), engine: NewEngine()}
}

// Engine is the service's JavaScript engine.
func (s *Service) Engine() *Engine { return s.engine }

func secretsAAD(p *tenant.Project, hookID string) []byte {
	return append(append([]byte("hook-secrets\x00"), p.ID[:]...), []byte(hookID)...)
}

// Load returns the project's hook configuration with secrets removed and
// the built-ins that live in the flow configuration reflected.
func (s *Service) Load(ctx context.Context, p *tenant.Project) (Config, error) {
	var c Config
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
		var err error
		if c, err = load(ctx, tx); err != nil {
			return err
		}
		fc, err := flows.LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		reflectBuiltins(&c, fc)
		return nil
	})
	if err != nil {
		return Config{}, fmt.Errorf("hook.Service.Load: %w", err)
	}
	redact(&c, nil)
	return c, nil
}

// Save validates and stores c. Webhook secrets and credentials are sealed;
// one left empty keeps the stored one of the same hook id, and a webhook
// without any gets a new signing secret, shown once in the returned config.
func (s *Service) Save(ctx context.Context, p *tenant.Project, c Config) (Config, error) {
	if err := c.validate(CompileCheck); err != nil {
		return Config{}, err
	}
	var checkErr error
	_ = c.each(func(place string, h *Hook) error {
		if h.Webhook != nil && checkErr == nil {
			if err := s.client.CheckURL(ctx, h.Webhook.URL); err != nil {
				checkErr = errx.Newf(errx.Invalid, "%s: web_hook %s: url %q is refused: %s.", place, h.Webhook.ID, h.Webhook.URL, err.Error())
			}
		}
		return nil
	})
	if checkErr != nil {
		return Config{}, checkErr
	}
	if s.o.Gate != nil {
		if err := s.o.Gate(ctx, p, c.use()); err != nil {
			return Config{}, err
		}
	}
	revealed := map[string]string{}
	err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		old, err := load(ctx, tx)
		if err != nil {
			return err
		}
		prev := map[string]*WebhookConfig{}
		_ = old.each(func(_ string, h *Hook) error {
			if h.Webhook != nil {
				prev[h.Webhook.ID] = h.Webhook
			}
			return nil
		})
		err = c.each(func(place string, h *Hook) error {
			w := h.Webhook
			if w == nil {
				return nil
			}
			var sec secrets
			if o := prev[w.ID]; o != nil && o.Sealed != nil {
				if sec, err = s.openSecrets(p, o); err != nil {
					return err
				}
				if o.Auth == nil || w.Auth == nil || o.Auth.Type != w.Auth.Type {
					sec.AuthCred = ""
				}
			}
			if w.Secret != "" {
				sec.Signing = w.Secret
			}
			if sec.Signing == "" {
				sec.Signing = newSecret()
				revealed[w.ID] = sec.Signing
			}
			if a := w.Auth; a != nil {
				if v := a.Config.Value + a.Config.Password; v != "" {
					sec.AuthCred = v
				}
				if sec.AuthCred == "" {
					return errx.Newf(errx.Invalid, "%s: web_hook %s: auth needs config.value (api_key) or config.password (basic_auth).", place, w.ID)
				}
				a.Config.Value, a.Config.Password = "", ""
			}
			plain, _ := json.Marshal(sec)
			sealed, keyID := s.keys.Seal(plain, secretsAAD(p, w.ID))
			w.Sealed, w.Secret, w.HasSecret = &Sealed{KeyID: keyID, Data: sealed}, "", true
			return nil
		})
		if err != nil {
			return err
		}
		c.Version = old.Version + 1
		if err := tenant.SaveSetting(ctx, tx, SettingsKey, c); err != nil {
			return err
		}
		fc, err := flows.LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		syncBuiltins(c, &fc)
		return flows.SaveConfig(ctx, tx, fc)
	})
	if err != nil {
		return Config{}, fmt.Errorf("hook.Service.Save: %w", err)
	}
	redact(&c, revealed)
	return c, nil
}

// openSecrets opens a stored webhook's secrets.
func (s *Service) openSecrets(p *tenant.Project, w *WebhookConfig) (secrets, error) {
	var sec secrets
	if w.Sealed == nil {
		return sec, nil
	}
	plain, err := s.keys.Open(w.Sealed.Data, w.Sealed.KeyID, secretsAAD(p, w.ID))
	if err != nil {
		return sec, fmt.Errorf("hook %s: %w", w.ID, err)
	}
	return sec, json.Unmarshal(plain, &sec)
}

// redact removes sealed secrets from c; revealed (hook id → secret) are
// shown once.
func redact(c *Config, revealed map[string]string) {
	_ = c.each(func(_ string, h *Hook) error {
		if w := h.Webhook; w != nil {
			w.HasSecret = w.Sealed != nil || w.HasSecret
			w.Sealed = nil
			w.Secret = revealed[w.ID]
			if w.Auth != nil {
				w.Auth.Config.Value, w.Auth.Config.Password = "", ""
			}
		}
		return nil
	})
}

// Built-ins whose behaviour lives in the flow configuration.
func reflectBuiltins(c *Config, fc flows.Config) {
	setBuiltin(c, FlowLogin, NameRequireVerifiedAddress, fc.Login.RequireVerifiedAddress)
	setBuiltin(c, FlowRecovery, NameRevokeActiveSessions, fc.Recovery.RevokesSessions())
}

func syncBuiltins(c Config, fc *flows.Config) {
	fc.Login.RequireVerifiedAddress = c.Has(FlowLogin, NameRequireVerifiedAddress, "")
	on := c.Has(FlowRecovery, NameRevokeActiveSessions, "")
	fc.Recovery.RevokeActiveSessions = &on
}

func setBuiltin(c *Config, flow, name string, on bool) {
	if c.Has(flow, name, "") == on {
		return
	}
	f := c.flow(flow)
	if on {
		if f == nil {
			f = &FlowHooks{}
			switch flow {
			case FlowLogin:
				c.Login = f
			case FlowRecovery:
				c.Recovery = f
			}
		}
		if f.After == nil {
			f.After = &AfterBlock{}
		}
		f.After.Hooks = append(f.After.Hooks, Hook{Name: name})
		return
	}
	drop := func(hs []Hook) []Hook {
		out := hs[:0]
		for _, h := range hs {
			if h.Name != name {
				out = append(out, h)
			}
		}
		return out
	}
	f.After.Hooks = drop(f.After.Hooks)
	for _, b := range f.After.Methods {
		b.Hooks = drop(b.Hooks)
	}
}

// Event is what the hooks of one flow step see.
type Event struct {
	Flow, Point, Method string
	FlowID              uuid.UUID
	FlowType            string
	// IdentityID, when set, puts the identity (read in the flow's
	// transaction, without credentials) into the event.
	IdentityID *uuid.UUID
	// Identity is used instead when the identity is not stored yet.
	Identity json.RawMessage
	Session  any
	HTTP     *http.Request
	BaseURL  string
}

// payload is the JSON event sent to webhooks and given to actions.
type payload struct {
	EventID   uuid.UUID       `json:"event_id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Project   payloadProject  `json:"project"`
	Flow      payloadFlow     `json:"flow"`
	Identity  json.RawMessage `json:"identity,omitempty"`
	Session   any             `json:"session,omitempty"`
	Request   payloadRequest  `json:"request"`
}

type payloadProject struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	URL  string    `json:"url"`
}

type payloadFlow struct {
	ID     uuid.UUID `json:"id"`
	Type   string    `json:"type"`
	Kind   string    `json:"kind"`
	Method string    `json:"method,omitempty"`
}

type payloadRequest struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Outcome is what the hooks of a step decided that the flow applies.
type Outcome struct {
	// Changes to the identity (nil: none), merged in hook order.
	Changes *IdentityChanges
	// NoSession: after registration, the session hook is not configured.
	NoSession bool
	after     []func()
}

// AfterCommit hands the step's asynchronous deliveries to the queue; call
// it after the flow's transaction committed (a lost hand-off is relayed
// by the outbox sweep).
func (o *Outcome) AfterCommit() {
	if o == nil {
		return
	}
	for _, f := range o.after {
		f()
	}
}

// Run runs the hooks configured for ev.Flow/ev.Point/ev.Method in tx, the
// flow's transaction: actions and synchronous webhooks inline (a denial is
// a *flows.ValidationError, a failure closed errx.BadGateway or
// errx.GatewayTimeout), asynchronous webhooks into the outbox. Built-ins
// are left to the flows. Runs are recorded in the delivery log outside tx,
// so that a denied step keeps its record.
func (s *Service) Run(ctx context.Context, tx tenant.Tx, ev Event) (*Outcome, error) {
	cfg, err := load(ctx, tx)
	if err != nil {
		return nil, err
	}
	hooks := cfg.Hooks(ev.Flow, ev.Point, ev.Method)
	out := &Outcome{NoSession: ev.Flow == FlowRegistration && ev.Point == After && !cfg.Has(FlowRegistration, NameSession, ev.Method)}
	if !hasRunnable(hooks) {
		return out, nil
	}
	p := tx.Project()
	pl, err := s.payload(ctx, tx, ev)
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		switch {
		case h.Action != nil:
			err = s.runAction(ctx, p, cfg.Version, ev, h.Action, pl, out)
		case h.Webhook != nil && h.Webhook.Sync():
			err = s.callSync(ctx, p, ev, h.Webhook, pl, out)
		case h.Webhook != nil:
			err = s.queue(ctx, tx, ev, h.Webhook, pl, out)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasRunnable(hs []Hook) bool {
	for _, h := range hs {
		if h.Action != nil || h.Webhook != nil {
			return true
		}
	}
	return false
}

func (s *Service) payload(ctx context.Context, tx tenant.Tx, ev Event) (*payload, error) {
	p := tx.Project()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	pl := &payload{EventID: id, Type: ev.Flow + "." + ev.Point, CreatedAt: time.Now().UTC(),
		Project: payloadProject{ID: p.ID, Slug: p.Slug, URL: ev.BaseURL},
		Flow:    payloadFlow{ID: ev.FlowID, Type: ev.FlowType, Kind: ev.Flow, Method: ev.Method},
		Session: ev.Session, Identity: ev.Identity}
	if ev.HTTP != nil {
		pl.Request = payloadRequest{IP: clientIP(ev.HTTP), UserAgent: ev.HTTP.UserAgent(), Method: ev.HTTP.Method, URL: requestURL(ev.BaseURL, ev.HTTP)}
	}
	if ev.IdentityID != nil && s.o.Identities != nil {
		i, err := s.o.Identities.GetTx(ctx, tx, *ev.IdentityID)
		if err != nil {
			return nil, err
		}
		i.Credentials = nil
		if pl.Identity, err = json.Marshal(i); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

func clientIP(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return strings.Trim(r.RemoteAddr[:i], "[]")
	}
	return r.RemoteAddr
}

// applyToPayload makes later hooks see earlier hooks' changes.
func applyToPayload(pl *payload, ch *IdentityChanges) {
	if ch.empty() || len(pl.Identity) == 0 {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(pl.Identity, &m) != nil {
		return
	}
	if ch.Traits != nil {
		m["traits"] = ch.Traits
	}
	if ch.MetadataPublic != nil {
		m["metadata_public"] = ch.MetadataPublic
	}
	if ch.MetadataAdmin != nil {
		m["metadata_admin"] = ch.MetadataAdmin
	}
	if b, err := json.Marshal(m); err == nil {
		pl.Identity = b
	}
}

func (o *Outcome) merge(ch *IdentityChanges) {
	if ch.empty() {
		return
	}
	if o.Changes == nil {
		o.Changes = &IdentityChanges{}
	}
	if ch.Traits != nil {
		o.Changes.Traits = ch.Traits
	}
	if ch.MetadataPublic != nil {
		o.Changes.MetadataPublic = ch.MetadataPublic
	}
	if ch.MetadataAdmin != nil {
		o.Changes.MetadataAdmin = ch.MetadataAdmin
	}
}

// record writes a synchronous run to the delivery log in its own
// transaction, in the background (the flow's transaction may roll back).
func (s *Service) record(ctx context.Context, p *tenant.Project, d *Delivery, a *Attempt) {
	ctx = context.WithoutCancel(ctx)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			if err := insertDelivery(ctx, tx, d); err != nil {
				return err
			}
			return insertAttempt(ctx, tx, d.ID, a)
		})
		if err != nil {
			s.o.Logger.Warn("hook run not recorded", "project_id", p.ID, "hook_id", d.HookID, "error", err.Error())
		}
	}()
}

func (s *Service) runAction(ctx context.Context, p *tenant.Project, version int64, ev Event, a *ActionConfig, pl *payload, out *Outcome) error {
	body, err := json.Marshal(pl)
	if err != nil {
		return err
	}
	res, runErr := s.engine.Run(ctx, RunParams{Key: fmt.Sprintf("%s/%d/%s", p.ID, version, a.ID), Script: a.Script,
		Event: body, Timeout: time.Duration(a.timeoutMS()) * time.Millisecond})
	status := StatusSucceeded
	att := &Attempt{Attempt: 1, LatencyMS: int(res.Duration.Milliseconds()), Logs: res.Logs}
	decision, _ := json.Marshal(struct {
		Decision string           `json:"decision"`
		Messages []FieldMessages  `json:"messages,omitempty"`
		Identity *IdentityChanges `json:"identity,omitempty"`
	}{res.Decision, res.Messages, res.Identity})
	att.ResponseExcerpt = excerpt(decision)
	if runErr != nil {
		status, att.Error = StatusFailed, runErr.Error()
		var se *ScriptError
		if errors.As(runErr, &se) && se.Stack != "" {
			att.Error = se.Error() + "\n" + se.Stack
		}
	}
	s.record(ctx, p, &Delivery{HookID: a.ID, HookType: NameAction, Flow: ev.Flow, Point: ev.Point, Mode: ModeSync,
		Status: status, Payload: body, Attempts: 1, MaxAttempts: 1, LastError: att.Error}, att)
	if runErr != nil {
		if a.OnError == FailOpen {
			return nil
		}
		// The end user learns that a hook failed; the project finds why in
		// the delivery log.
		return errx.Newf(errx.BadGateway, "A hook of this project (action %s) failed; the request was not completed.", a.ID).
			Wrap(fmt.Errorf("hook action %s: %w", a.ID, runErr))
	}
	if res.Decision == "deny" {
		return validationError(res.Messages)
	}
	out.merge(res.Identity)
	applyToPayload(pl, res.Identity)
	return nil
}

// validationError turns Kratos webhook messages into a flow validation
// error: "#/traits/email" → node traits.email, "#/" → the flow.
func validationError(ms []FieldMessages) *flows.ValidationError {
	ve := &flows.ValidationError{}
	for _, fm := range ms {
		node := strings.ReplaceAll(strings.Trim(strings.TrimPrefix(fm.InstancePtr, "#"), "/"), "/", ".")
		for _, m := range fm.Messages {
			typ := flows.TextType(m.Type)
			if typ != flows.TextInfo && typ != flows.TextSuccess {
				typ = flows.TextError
			}
			id := m.ID
			if id == 0 {
				id = 4000001
			}
			t := &flows.Text{ID: id, Text: m.Text, Type: typ, Context: m.Context}
			if node == "" {
				ve.Flow = append(ve.Flow, t)
			} else {
				ve.AddNode(node, t)
			}
		}
	}
	if len(ve.Flow) == 0 && len(ve.Nodes) == 0 {
		ve.Flow = append(ve.Flow, flows.Generic("The request was refused by a hook."))
	}
	return ve
}

// callSync calls a webhook inline and applies its answer.
func (s *Service) callSync(ctx context.Context, p *tenant.Project, ev Event, w *WebhookConfig, pl *payload, out *Outcome) error {
	body, err := s.webhookBody(ctx, p, ev, w, pl, ModeSync)
	if err != nil {
		if w.OnError == FailOpen {
			return nil
		}
		return errx.New(errx.BadGateway, "A webhook's payload function failed.").Wrap(err)
	}
	sec, err := s.openSecrets(p, w)
	if err != nil {
		return err
	}
	did, _ := uuid.NewV7()
	resp := s.client.do(ctx, request{URL: w.URL, Method: w.Method, Headers: w.Headers, Auth: w.Auth, AuthCred: sec.AuthCred,
		Secret: sec.Signing, HookID: w.ID, DeliveryID: did.String(), Body: body, Timeout: time.Duration(w.timeoutMS()) * time.Millisecond})
	att := &Attempt{Attempt: 1, LatencyMS: int(resp.Latency.Milliseconds()), ResponseExcerpt: excerpt(resp.Body)}
	if resp.Status != 0 {
		st := resp.Status
		att.StatusCode = &st
	}
	var failure error
	var interrupt *flows.ValidationError
	var changes *IdentityChanges
	switch {
	case resp.Err != nil && resp.Timeout:
		failure = errx.New(errx.GatewayTimeout, "A webhook did not answer in time.").Wrap(resp.Err)
	case resp.Err != nil:
		failure = errx.New(errx.BadGateway, "A webhook could not be reached.").Wrap(resp.Err)
	case resp.Status >= 400 && w.CanInterrupt:
		var b struct {
			Messages []FieldMessages `json:"messages"`
		}
		if json.Unmarshal(resp.Body, &b) == nil && len(b.Messages) > 0 {
			interrupt = validationError(b.Messages)
		} else {
			failure = errx.Newf(errx.BadGateway, "A webhook answered %d without messages.", resp.Status)
		}
	case resp.Status >= 300:
		failure = errx.Newf(errx.BadGateway, "A webhook answered %d.", resp.Status)
	case w.Response.Parse && resp.Status == http.StatusOK && len(strings.TrimSpace(string(resp.Body))) > 0:
		var b struct {
			Identity *IdentityChanges `json:"identity"`
		}
		if err := json.Unmarshal(resp.Body, &b); err != nil {
			failure = errx.New(errx.BadGateway, "A webhook answered with a body that is not JSON.").Wrap(err)
		} else {
			changes = b.Identity
		}
	}
	status := StatusSucceeded
	switch {
	case failure != nil:
		status, att.Error = StatusFailed, failure.Error()
		if resp.Err != nil {
			att.Error = resp.Err.Error()
		}
	case interrupt != nil:
		att.Error = "interrupted the flow"
	}
	s.record(ctx, p, &Delivery{ID: did, HookID: w.ID, HookType: NameWebHook, Flow: ev.Flow, Point: ev.Point, Mode: ModeSync,
		Status: status, URL: w.URL, Payload: body, Attempts: 1, MaxAttempts: 1, LastError: att.Error}, att)
	if failure != nil {
		if w.OnError == FailOpen {
			return nil
		}
		return failure
	}
	if interrupt != nil {
		return interrupt
	}
	out.merge(changes)
	applyToPayload(pl, changes)
	return nil
}

// queue writes an asynchronous delivery and its outbox row in tx.
func (s *Service) queue(ctx context.Context, tx tenant.Tx, ev Event, w *WebhookConfig, pl *payload, out *Outcome) error {
	body, err := s.webhookBody(ctx, tx.Project(), ev, w, pl, ModeAsync)
	if err != nil {
		return nil // recorded as a failed delivery; an asynchronous hook never stops a flow
	}
	r := w.retry()
	d := &Delivery{HookID: w.ID, HookType: NameWebHook, Flow: ev.Flow, Point: ev.Point, Mode: ModeAsync, Status: StatusPending,
		URL: w.URL, Payload: body, MaxAttempts: r.MaxAttempts, backoffBaseMS: r.BackoffBaseMS, backoffMaxMS: r.BackoffMaxMS}
	if err := insertDelivery(ctx, tx, d); err != nil {
		return err
	}
	if err := addOutbox(ctx, tx, d.ID, time.Now()); err != nil {
		return err
	}
	p := tx.Project()
	out.after = append(out.after, func() {
		if err := s.Enqueue(context.WithoutCancel(ctx), p.ID, d.ID, 0, 0); err != nil {
			s.o.Logger.Warn("hook delivery not queued; the outbox relay will", "project_id", p.ID, "delivery_id", d.ID, "error", err.Error())
		}
	})
	return nil
}

// ApplyChanges writes a step's identity changes in tx (errx.Invalid with
// the schema errors when the new traits do not validate).
func (s *Service) ApplyChanges(ctx context.Context, tx tenant.Tx, identityID uuid.UUID, ch *IdentityChanges) error {
	if ch.empty() {
		return nil
	}
	_, err := s.o.Identities.ChangeTx(ctx, tx, identityID, ch.Traits, ch.MetadataPublic, ch.MetadataAdmin)
	return err
}

// NewFromConfig builds the Service of a Lanyard process: the hooks queue
// in the configured Redis namespace, and webhooks to private addresses
// allowed in dev mode or when the deployment allows them (self-hosting).
func NewFromConfig(cfg config.Config, db *tenant.DB, reg *tenant.Registry, ids *identity.Manager, client *asynq.Client, log *slog.Logger) *Service {
	return New(Options{DB: db, Registry: reg, Identities: ids, Secrets: cfg.SecretKeys(), Client: client,
		Queue: cfg.RedisNamespace + "hooks", AllowPrivate: cfg.Mode != config.ModeProduction || cfg.HooksAllowPrivate, Logger: log})
}

// requestURL is the public URL of r: the origin of the project's base URL
// and r's path and query, which already carry a path prefix (/p/{slug}) if
// the project is reached by one.
func requestURL(baseURL string, r *http.Request) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return baseURL + r.URL.RequestURI()
	}
	return u.Scheme + "://" + u.Host + r.URL.RequestURI()
}
