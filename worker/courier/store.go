package courier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

const topicCourier = "courier"

// ErrMessageNotFound answers an unknown message id (or one of another project).
var ErrMessageNotFound = errx.New(errx.NotFound, "The courier message could not be found.")

// insertMessage writes a rendered message and its outbox row, or — when
// rendering failed — an abandoned message whose one dispatch holds the
// template error, and no outbox row.
func insertMessage(ctx context.Context, tx tenant.Tx, m Message, locale string, r rendered, renderErr error) (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, err
	}
	data, err := json.Marshal(m.Data.stored())
	if err != nil {
		return uuid.Nil, err
	}
	status := StatusQueued
	if renderErr != nil {
		status = StatusAbandoned
	}
	// Queued, as the outbox row below: a fresh id cannot conflict.
	tx.Queue(`INSERT INTO courier_messages
		(id, type, status, recipient, subject, body, html_body, template_type, template_data, locale)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, m.Type, status, m.Recipient, r.Subject, r.Text, r.HTML, string(m.TemplateType), data, locale)
	if renderErr != nil {
		return id, insertDispatch(ctx, tx, id, renderErr)
	}
	return id, addOutbox(ctx, tx, id, time.Now())
}

// addOutbox writes the outbox row of message id, due at due, and marks the
// project in platform.outbox_due in the same transaction.
func addOutbox(ctx context.Context, tx tenant.Tx, id uuid.UUID, due time.Time) error {
	tx.Queue(`INSERT INTO outbox (id, topic, ref_id, due_at) VALUES ($1, $2, $1, $3)
		ON CONFLICT (topic, ref_id) DO UPDATE SET due_at = excluded.due_at`, id, topicCourier, due)
	return tenant.MarkOutboxDue(ctx, tx, due)
}

// dispatchError is the error object of a failed dispatch.
type dispatchError struct {
	Message string `json:"message"`
}

func insertDispatch(ctx context.Context, tx tenant.Tx, msgID uuid.UUID, sendErr error) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	status := "success"
	var ej []byte
	if sendErr != nil {
		status = "failed"
		ej, _ = json.Marshal(dispatchError{Message: sendErr.Error()})
	}
	_, err = tx.Exec(ctx, `INSERT INTO courier_message_dispatches (id, message_id, status, error) VALUES ($1, $2, $3, $4)`,
		id, msgID, status, ej)
	return err
}

// claimed is what the delivery handler needs of a message.
type claimed struct {
	ID        uuid.UUID
	Type      string
	Recipient string
	Subject   string
	Body      string
	HTML      string
	SendCount int
}

// claim moves a queued message (or one whose claim outlived the lease) to
// processing and counts the attempt. ok is false when there is nothing to
// do: already sent or abandoned, held by another worker, or gone.
func claim(ctx context.Context, tx tenant.Tx, id uuid.UUID, lease time.Duration) (c claimed, ok bool, err error) {
	err = tx.QueryRow(ctx, `UPDATE courier_messages SET status = 'processing', send_count = send_count + 1, updated_at = now()
		WHERE id = $1 AND (status = 'queued' OR (status = 'processing' AND updated_at < now() - $2 * interval '1 second'))
		RETURNING id, type, recipient, subject, body, html_body, send_count`, id, lease.Seconds()).
		Scan(&c.ID, &c.Type, &c.Recipient, &c.Subject, &c.Body, &c.HTML, &c.SendCount)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	// Until the attempt ends, the sweep leaves the message to its worker.
	_, err = tx.Exec(ctx, `UPDATE outbox SET due_at = now() + $2 * interval '1 second' WHERE topic = $3 AND ref_id = $1`, id, lease.Seconds(), topicCourier)
	return c, true, err
}

// finish records the attempt and settles the message: sent, abandoned, or
// queued again with its outbox row due at retryAt.
func finish(ctx context.Context, tx tenant.Tx, id uuid.UUID, sendErr error, abandon bool, retryAt time.Time) error {
	if err := insertDispatch(ctx, tx, id, sendErr); err != nil {
		return err
	}
	status := StatusSent
	switch {
	case sendErr != nil && abandon:
		status = StatusAbandoned
	case sendErr != nil:
		status = StatusQueued
	}
	if _, err := tx.Exec(ctx, `UPDATE courier_messages SET status = $2, updated_at = now() WHERE id = $1`, id, status); err != nil {
		return err
	}
	if status == StatusQueued {
		return addOutbox(ctx, tx, id, retryAt)
	}
	_, err := tx.Exec(ctx, `DELETE FROM outbox WHERE topic = $1 AND ref_id = $2`, topicCourier, id)
	return err
}

// delay puts a claimed message back in the queue without counting the
// attempt (a send limit held it back), records why as a dispatch, and
// makes its outbox row due at due.
func delay(ctx context.Context, tx tenant.Tx, id uuid.UUID, why error, due time.Time) error {
	if err := insertDispatch(ctx, tx, id, why); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE courier_messages SET status = 'queued', send_count = greatest(send_count - 1, 0), updated_at = now()
		WHERE id = $1`, id); err != nil {
		return err
	}
	return addOutbox(ctx, tx, id, due)
}

const messageColumns = `id, status, type, recipient, subject, body, html_body, template_type, channel, send_count, template_data, created_at, updated_at`

func scanMessage(r pgx.Row) (*Stored, error) {
	var m Stored
	err := r.Scan(&m.ID, &m.Status, &m.Type, &m.Recipient, &m.Subject, &m.Body, &m.HTMLBody, &m.TemplateType,
		&m.Channel, &m.SendCount, &m.Data, &m.CreatedAt, &m.UpdatedAt)
	return &m, err
}

// listFilter selects a page of messages, newest first.
type listFilter struct {
	Status    string
	Recipient string
	After     *cursor
	Limit     int
}

type cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

func listMessages(ctx context.Context, tx tenant.Tx, f listFilter) ([]*Stored, error) {
	var at *time.Time
	var after *uuid.UUID
	if f.After != nil {
		at, after = &f.After.CreatedAt, &f.After.ID
	}
	rows, err := tx.Query(ctx, `SELECT `+messageColumns+` FROM courier_messages
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR recipient = $2)
		  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
		ORDER BY created_at DESC, id DESC LIMIT $5`, f.Status, f.Recipient, at, after, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Stored, error) { return scanMessage(r) })
}

func getMessage(ctx context.Context, tx tenant.Tx, id uuid.UUID) (*Stored, error) {
	m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM courier_messages WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrMessageNotFound
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT id, message_id, status, error, created_at, updated_at
		FROM courier_message_dispatches WHERE message_id = $1 ORDER BY created_at, id`, id)
	if err != nil {
		return nil, err
	}
	m.Dispatches, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Dispatch, error) {
		var d Dispatch
		var e []byte
		err := r.Scan(&d.ID, &d.MessageID, &d.Status, &e, &d.CreatedAt, &d.UpdatedAt)
		d.Error = e
		return d, err
	})
	if m.Dispatches == nil {
		m.Dispatches = []Dispatch{}
	}
	return m, err
}

// Message returns one message of the project with its dispatches.
func (s *Service) Message(ctx context.Context, p *tenant.Project, id uuid.UUID) (*Stored, error) {
	var m *Stored
	// One snapshot: the message and its dispatches as of one moment.
	err := s.o.DB.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true, Snapshot: true}, func(tx tenant.Tx) (err error) {
		m, err = getMessage(ctx, tx, id)
		return err
	})
	if err != nil {
		if errx.Has(err, errx.NotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("courier.Service.Message: %w", err)
	}
	return m, nil
}
