package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// ErrFlowNotFound is the 404 of an unknown flow id (another project's flow
// is unknown too: it lives in another schema).
var ErrFlowNotFound = errx.New(errx.NotFound, "The flow could not be found.")

// CreateFlow stores a new flow in tx. The row is queued (tenant.Tx.Queue):
// it goes out with the transaction's next statement or its commit, which
// return its error (a new flow's id is fresh, so none but the
// transaction's is expected).
func CreateFlow(ctx context.Context, tx tenant.Tx, f *Flow) error {
	_, err := CreateFlowToSave(tx, f)
	return err
}

const insertFlowSQL = `INSERT INTO selfservice_flows (id, kind, type, state, identity_id, csrf_hash, body, internal, expires_at, issued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// CreateFlowToSave is CreateFlow for a flow that changes again in tx:
// save stores its state then, in the queued insert while that has not
// gone out (one row written, not two), else as a queued update.
func CreateFlowToSave(tx tenant.Tx, f *Flow) (save func() error, err error) {
	body, internal, err := encode(f)
	if err != nil {
		return nil, err
	}
	amend := tx.QueueAmendable(insertFlowSQL, f.ID, f.Kind, f.Type, f.State, f.IdentityID, f.CSRFHash, body, internal, f.ExpiresAt, f.IssuedAt)
	return func() error {
		body, internal, err := encode(f)
		if err != nil {
			return err
		}
		if amend(f.ID, f.Kind, f.Type, f.State, f.IdentityID, f.CSRFHash, body, internal, f.ExpiresAt, f.IssuedAt) {
			return nil
		}
		return QueueUpdateFlow(tx, f)
	}, nil
}

const updateFlowSQL = `UPDATE selfservice_flows SET state = $2, identity_id = $3, csrf_hash = $4, body = $5, internal = $6,
	expires_at = $7, updated_at = now() WHERE id = $1`

// QueueUpdateFlow is UpdateFlow for a flow whose row tx has locked or
// created: queued with the transaction's next statement or its commit.
func QueueUpdateFlow(tx tenant.Tx, f *Flow) error {
	body, internal, err := encode(f)
	if err != nil {
		return err
	}
	tx.Queue(updateFlowSQL, f.ID, f.State, f.IdentityID, f.CSRFHash, body, internal, f.ExpiresAt)
	return nil
}

// UpdateFlow stores f's state, UI and internal state in tx.
func UpdateFlow(ctx context.Context, tx tenant.Tx, f *Flow) error {
	body, internal, err := encode(f)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, updateFlowSQL, f.ID, f.State, f.IdentityID, f.CSRFHash, body, internal, f.ExpiresAt)
	if err != nil {
		return fmt.Errorf("flows.UpdateFlow: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrFlowNotFound
	}
	return nil
}

// GetFlow loads a flow of the given kind. forUpdate locks its row, so that
// two submits of one flow are serialised (the second sees the first's
// final state). errx.NotFound for an unknown id or another kind's flow.
func GetFlow(ctx context.Context, tx tenant.Tx, k Kind, id uuid.UUID, forUpdate bool) (*Flow, error) {
	q := `SELECT kind, type, state, identity_id, csrf_hash, body, internal FROM selfservice_flows WHERE id = $1 AND kind = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	var f Flow
	var body, internal []byte
	err := tx.QueryRow(ctx, q, id, k).Scan(&f.Kind, &f.Type, &f.State, &f.IdentityID, &f.CSRFHash, &body, &internal)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrFlowNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("flows.GetFlow: %w", err)
	}
	kind, typ, state, ident, csrf := f.Kind, f.Type, f.State, f.IdentityID, f.CSRFHash
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("flows.GetFlow: body: %w", err)
	}
	if err := json.Unmarshal(internal, &f.Internal); err != nil {
		return nil, fmt.Errorf("flows.GetFlow: internal: %w", err)
	}
	f.Kind, f.Type, f.State, f.IdentityID, f.CSRFHash = kind, typ, state, ident, csrf
	return &f, nil
}

func encode(f *Flow) (body, internal []byte, err error) {
	if body, err = json.Marshal(f); err != nil {
		return nil, nil, fmt.Errorf("flows: encode flow: %w", err)
	}
	in := f.Internal
	if in == nil {
		in = map[string]json.RawMessage{}
	}
	if internal, err = json.Marshal(in); err != nil {
		return nil, nil, fmt.Errorf("flows: encode internal state: %w", err)
	}
	return body, internal, nil
}

// ParseFlowID reads the flow id of ?flow= or ?id=; errx.Invalid when it is
// missing or not a UUID (Kratos answers 400).
func ParseFlowID(v string) (uuid.UUID, error) {
	if v == "" {
		return uuid.Nil, errx.New(errx.Invalid, "The flow query parameter is missing or malformed.")
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, errx.New(errx.Invalid, "The flow query parameter is missing or malformed.")
	}
	return id, nil
}
