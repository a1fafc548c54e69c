// Package courier is Lanyard's outgoing mail: messages are rows in the
// project schema, written together with an outbox row in the transaction of
// the flow step that causes them, handed to asynq after commit (and by a
// periodic relay sweep when that hand-off was lost), and delivered over SMTP
// by an idempotent task handler that records every attempt.
//
// Errors: Enqueue returns errx.Invalid for a message without a recipient or
// of an unknown template type; template saves return errx.Invalid with the
// parse error and its line; reads return errx.NotFound for unknown ids.
package courier

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/pagetoken"
	"github.com/lanyard-id/lanyard/tenant"
)

// Message statuses (Kratos courier values).
const (
	StatusQueued     = "queued"
	StatusProcessing = "processing"
	StatusSent       = "sent"
	StatusAbandoned  = "abandoned"
)

// Message types.
const (
	TypeEmail = "email"
	TypeSMS   = "sms"
)

// Message is what a caller asks the courier to send. Either TemplateType is
// set (the subject and bodies are rendered from the project's template, or
// the built-in one, with Data), or Subject and Body are given as they are
// (TemplateType is then "generic" and they are the template's variables).
type Message struct {
	Type         string // "email" (default); "sms" is stored but not delivered yet
	Recipient    string
	TemplateType TemplateType
	Data         Data
	// Locale picks the template language; empty means the identity's
	// traits.locale (Data.Identity or Data.Traits), then the default.
	Locale  string
	Subject string
	Body    string
}

// Stored is a message as the admin API shows it (Kratos courier message).
type Stored struct {
	ID           uuid.UUID       `json:"id"`
	Status       string          `json:"status"`
	Type         string          `json:"type"`
	Recipient    string          `json:"recipient"`
	Subject      string          `json:"subject"`
	Body         string          `json:"body"`
	TemplateType string          `json:"template_type"`
	Channel      *string         `json:"channel"`
	SendCount    int             `json:"send_count"`
	Dispatches   []Dispatch      `json:"dispatches,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	HTMLBody     string          `json:"-"`
	Data         json.RawMessage `json:"-"`
}

// Dispatch is one send attempt (Kratos message dispatch).
type Dispatch struct {
	ID        uuid.UUID       `json:"id"`
	MessageID uuid.UUID       `json:"message_id"`
	Status    string          `json:"status"` // failed | success
	Error     json.RawMessage `json:"error,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Options configures a Service. Zero durations take the defaults.
type Options struct {
	DB       *tenant.DB
	Registry *tenant.Registry
	// Client enqueues tasks; nil disables the immediate hand-off (the
	// sweep still relays everything).
	Client *asynq.Client
	// MailQueue and MaintenanceQueue are full queue names (with the
	// namespace prefix), e.g. worker.Queues.Name("mail").
	MailQueue        string
	MaintenanceQueue string
	// SMTPURL is the platform default server (smtp://, smtps://, with
	// optional user:password@ and ?starttls=mandatory|opportunistic|none).
	SMTPURL  string
	MailFrom string
	// Secrets are the configured keys, current first (Config.SecretKeys()):
	// they seal SMTP passwords and sign page tokens.
	Secrets [][]byte
	// Production redacts subjects and bodies in the admin API.
	Production bool
	// AllowPrivateSMTP lets project SMTP settings reach loopback and
	// private addresses (self-hosting); the platform default always may.
	AllowPrivateSMTP bool
	// Limiter enforces the projects' send limits (SendLimits); nil sends
	// without limits.
	Limiter *ratelimit.Limiter

	MaxAttempts int           // sends before a message is abandoned (10)
	RetryBase   time.Duration // first retry delay, doubling (10 s)
	RetryMax    time.Duration // longest retry delay (30 min)
	Lease       time.Duration // how long a claim holds before another worker may retry it (10 min)
	RelayGrace  time.Duration // how late an outbox row must be before the sweep relays it (20 s)
	SendTimeout time.Duration // one SMTP conversation (30 s)
	Logger      *slog.Logger
}

// NewFromConfig builds the Service of a Lanyard process: queues named in
// the configured Redis namespace, the platform SMTP server and sender,
// redaction in production mode, and project SMTP servers on private
// addresses allowed only in dev mode.
func NewFromConfig(cfg config.Config, db *tenant.DB, reg *tenant.Registry, client *asynq.Client, log *slog.Logger) (*Service, error) {
	lim, err := limiterFor(cfg.RedisURL, cfg.RedisNamespace)
	if err != nil {
		return nil, err
	}
	return New(Options{
		DB: db, Registry: reg, Client: client, Limiter: lim,
		MailQueue: cfg.RedisNamespace + "mail", MaintenanceQueue: cfg.RedisNamespace + "maintenance",
		SMTPURL: cfg.SMTPURL, MailFrom: cfg.MailFrom, Secrets: cfg.SecretKeys(),
		Production: cfg.Mode == config.ModeProduction, AllowPrivateSMTP: cfg.Mode != config.ModeProduction,
		Logger: log,
	})
}

// Service delivers and lists courier messages.
type Service struct {
	o Options
	// relayPausedUntil (unix ns) pauses Relay after a Redis failure.
	relayPausedUntil atomic.Int64
	// sweepOnly, when set (tests), limits the sweep to these projects.
	sweepOnly []uuid.UUID
	keys      *keyring
	pages     pagetoken.Sealer
	def       smtpTarget
}

// New checks the options and returns a Service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Registry == nil {
		return nil, fmt.Errorf("courier.New: DB and Registry are required")
	}
	if len(o.Secrets) == 0 || len(o.Secrets[0]) < 32 {
		return nil, fmt.Errorf("courier.New: a secret of at least 32 bytes is required")
	}
	def, err := parseSMTPURL(o.SMTPURL)
	if err != nil {
		return nil, fmt.Errorf("LANYARD_SMTP_URL: %w", err)
	}
	if o.MailFrom == "" {
		return nil, fmt.Errorf("LANYARD_MAIL_FROM: required")
	}
	if _, err := mail.ParseAddress(o.MailFrom); err != nil {
		return nil, fmt.Errorf("LANYARD_MAIL_FROM: %w", err)
	}
	def.From = o.MailFrom
	def.platform = true
	setDefault(&o.MaxAttempts, 10)
	setDefault(&o.RetryBase, 10*time.Second)
	setDefault(&o.RetryMax, 30*time.Minute)
	setDefault(&o.Lease, 10*time.Minute)
	setDefault(&o.RelayGrace, 20*time.Second)
	setDefault(&o.SendTimeout, 30*time.Second)
	if o.MailQueue == "" {
		o.MailQueue = "mail"
	}
	if o.MaintenanceQueue == "" {
		o.MaintenanceQueue = "maintenance"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("component", "courier")
	return &Service{o: o, keys: newKeyring(o.Secrets), pages: pagetoken.New(deriveKey(o.Secrets[0], "lanyard courier page token v1")), def: def}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Enqueue writes m and its outbox row in tx, the caller's transaction, and
// returns the message id. Nothing is sent unless tx commits; after commit
// the caller hands the id to Service.Relay (best effort: the relay sweep
// picks up anything Relay could not enqueue). A template that fails to
// render does not fail the caller: the message is stored abandoned, with
// the template error as its dispatch, and is not sent.
func Enqueue(ctx context.Context, tx tenant.Tx, m Message) (uuid.UUID, error) {
	p := tx.Project()
	if p == nil {
		return uuid.Nil, tenant.ErrNoProject
	}
	if m.Type == "" {
		m.Type = TypeEmail
	}
	if m.Type != TypeEmail && m.Type != TypeSMS {
		return uuid.Nil, errx.Newf(errx.Invalid, "Unknown message type %q.", m.Type)
	}
	m.Recipient = strings.TrimSpace(m.Recipient)
	if m.Recipient == "" || len(m.Recipient) > 320 {
		return uuid.Nil, errx.New(errx.Invalid, "A message needs a recipient.")
	}
	if m.Type == TypeEmail {
		if _, err := mail.ParseAddress(m.Recipient); err != nil {
			return uuid.Nil, errx.Newf(errx.Invalid, "The recipient %q is not an email address.", m.Recipient)
		}
	}
	if m.TemplateType == "" {
		m.TemplateType = TemplateGeneric
		m.Data.Subject, m.Data.Body = m.Subject, m.Body
	}
	if !m.TemplateType.Known() {
		return uuid.Nil, errx.Newf(errx.Invalid, "Unknown template type %q.", m.TemplateType)
	}
	m.Data.To = m.Recipient
	locale := m.Locale
	if locale == "" {
		locale = m.Data.traitLocale()
	}
	locale = normalizeLocale(locale)
	r, renderErr := render(ctx, tx, m.TemplateType, locale, &m.Data)
	id, err := insertMessage(ctx, tx, m, locale, r, renderErr)
	if err != nil {
		return uuid.Nil, fmt.Errorf("courier.Enqueue: %w", err)
	}
	return id, nil
}

// Send enqueues m in a transaction of its own and relays it at once. It
// is for callers that have no transaction to share (tests, admin tools).
func (s *Service) Send(ctx context.Context, p *tenant.Project, m Message) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.o.DB.InTx(ctx, p, func(tx tenant.Tx) (err error) {
		id, err = Enqueue(ctx, tx, m)
		return err
	})
	if err != nil {
		return uuid.Nil, err
	}
	s.Relay(ctx, p, id)
	return id, nil
}

// Relay hands committed messages to the mail queue at once. It is best
// effort and never fails the caller: what it cannot enqueue (Redis down)
// stays in the outbox and the relay sweep enqueues it later.
//
// After a failure Relay stops trying for relayPause, so that flows do not
// each wait for an unreachable Redis; the sweep carries the mail meanwhile.
func (s *Service) Relay(ctx context.Context, p *tenant.Project, ids ...uuid.UUID) {
	if s.o.Client == nil || p == nil || time.Now().UnixNano() < s.relayPausedUntil.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	for _, id := range ids {
		if err := s.enqueueDelivery(ctx, p.ID, id, 0, 0); err != nil {
			s.relayPausedUntil.Store(time.Now().Add(relayPause).UnixNano())
			s.o.Logger.Warn("mail not handed to the queue; the relay sweep will", "project_id", p.ID, "message_id", id, "error", err.Error())
			return
		}
	}
}

// relayPause is how long Relay leaves the hand-off to the sweep after
// failing to reach Redis.
const relayPause = 5 * time.Second
