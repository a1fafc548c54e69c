package hook

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

const topicHook = "hook"

// Delivery statuses.
const (
	StatusPending    = "pending"
	StatusDelivering = "delivering"
	StatusSucceeded  = "succeeded"
	StatusFailed     = "failed"
)

// Modes.
const (
	ModeSync  = "sync"
	ModeAsync = "async"
)

// ErrDeliveryNotFound answers an unknown delivery id (or one of another project).
var ErrDeliveryNotFound = errx.New(errx.NotFound, "The hook delivery could not be found.")

// Delivery is one entry of the delivery log.
type Delivery struct {
	ID            uuid.UUID       `json:"id"`
	HookID        string          `json:"hook_id"`
	HookType      string          `json:"hook_type"`
	Flow          string          `json:"flow"`
	Point         string          `json:"point"`
	Mode          string          `json:"mode"`
	Status        string          `json:"status"`
	URL           string          `json:"url,omitempty"`
	Payload       json.RawMessage `json:"payload"`
	Attempts      int             `json:"attempts"`
	MaxAttempts   int             `json:"max_attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	ReplayOf      *uuid.UUID      `json:"replay_of,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	AttemptLog    []Attempt       `json:"attempt_log,omitempty"`

	backoffBaseMS, backoffMaxMS int
}

// Attempt is one try of a delivery.
type Attempt struct {
	ID              uuid.UUID `json:"id"`
	Attempt         int       `json:"attempt"`
	StatusCode      *int      `json:"status_code"`
	LatencyMS       int       `json:"latency_ms"`
	ResponseExcerpt string    `json:"response_excerpt"`
	Error           string    `json:"error,omitempty"`
	Logs            []string  `json:"logs"`
	CreatedAt       time.Time `json:"created_at"`
}

const deliveryCols = `id, hook_id, hook_type, flow, point, mode, status, url, payload, attempts, max_attempts,
	next_attempt_at, last_error, replay_of, created_at, updated_at, backoff_base_ms, backoff_max_ms`

func scanDelivery(r pgx.Row) (*Delivery, error) {
	var d Delivery
	err := r.Scan(&d.ID, &d.HookID, &d.HookType, &d.Flow, &d.Point, &d.Mode, &d.Status, &d.URL, &d.Payload, &d.Attempts,
		&d.MaxAttempts, &d.NextAttemptAt, &d.LastError, &d.ReplayOf, &d.CreatedAt, &d.UpdatedAt, &d.backoffBaseMS, &d.backoffMaxMS)
	return &d, err
}

// insertDelivery writes d (its id is set when zero). The delivery log
// survives a crash: the transaction's commit waits for the WAL flush.
func insertDelivery(ctx context.Context, tx tenant.Tx, d *Delivery) error {
	tx.Durable()
	if d.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		d.ID = id
	}
	if d.MaxAttempts < 1 {
		d.MaxAttempts = 1
	}
	if d.backoffBaseMS <= 0 {
		d.backoffBaseMS = DefaultBackoffBaseMS
	}
	if d.backoffMaxMS <= 0 {
		d.backoffMaxMS = DefaultBackoffMaxMS
	}
	return tx.QueryRow(ctx, `INSERT INTO hook_deliveries (id, hook_id, hook_type, flow, point, mode, status, url, payload,
		attempts, max_attempts, next_attempt_at, last_error, replay_of, backoff_base_ms, backoff_max_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING created_at, updated_at`,
		d.ID, d.HookID, d.HookType, d.Flow, d.Point, d.Mode, d.Status, d.URL, d.Payload, d.Attempts, d.MaxAttempts,
		d.NextAttemptAt, d.LastError, d.ReplayOf, d.backoffBaseMS, d.backoffMaxMS).Scan(&d.CreatedAt, &d.UpdatedAt)
}

func insertAttempt(ctx context.Context, tx tenant.Tx, deliveryID uuid.UUID, a *Attempt) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	a.ID = id
	if a.Logs == nil {
		a.Logs = []string{}
	}
	logs, _ := json.Marshal(a.Logs)
	return tx.QueryRow(ctx, `INSERT INTO hook_attempts (id, delivery_id, attempt, status_code, latency_ms, response_excerpt, error, logs)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`,
		a.ID, deliveryID, a.Attempt, a.StatusCode, a.LatencyMS, a.ResponseExcerpt, a.Error, logs).Scan(&a.CreatedAt)
}

// addOutbox writes the outbox row of delivery id, due at due, and marks the
// project in platform.outbox_due in the same transaction.
func addOutbox(ctx context.Context, tx tenant.Tx, id uuid.UUID, due time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, topic, ref_id, due_at) VALUES ($1, $2, $1, $3)
		ON CONFLICT (topic, ref_id) DO UPDATE SET due_at = excluded.due_at`, id, topicHook, due); err != nil {
		return err
	}
	return tenant.MarkOutboxDue(ctx, tx, due)
}

func getDelivery(ctx context.Context, tx tenant.Tx, id uuid.UUID, forUpdate bool) (*Delivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM hook_deliveries WHERE id = $1`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	d, err := scanDelivery(tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrDeliveryNotFound
	}
	return d, err
}

func listAttempts(ctx context.Context, tx tenant.Tx, id uuid.UUID) ([]Attempt, error) {
	rows, err := tx.Query(ctx, `SELECT id, attempt, status_code, latency_ms, response_excerpt, error, logs, created_at
		FROM hook_attempts WHERE delivery_id = $1 ORDER BY attempt, created_at`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		var logs []byte
		err := r.Scan(&a.ID, &a.Attempt, &a.StatusCode, &a.LatencyMS, &a.ResponseExcerpt, &a.Error, &logs, &a.CreatedAt)
		if err == nil {
			err = json.Unmarshal(logs, &a.Logs)
		}
		return a, err
	})
}

// listFilter selects deliveries, newest first.
type listFilter struct {
	Status, HookID, Flow, Mode string
	After                      *cursor
	Limit                      int
}

type cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

func listDeliveries(ctx context.Context, tx tenant.Tx, f listFilter) ([]*Delivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM hook_deliveries
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR hook_id = $2) AND ($3 = '' OR flow = $3) AND ($4 = '' OR mode = $4)
		AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
		ORDER BY created_at DESC, id DESC LIMIT $7`
	var at *time.Time
	var aid uuid.UUID
	if f.After != nil {
		at, aid = &f.After.CreatedAt, f.After.ID
	}
	rows, err := tx.Query(ctx, q, f.Status, f.HookID, f.Flow, f.Mode, at, aid, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Delivery, error) { return scanDelivery(r) })
}
