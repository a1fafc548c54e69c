package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// protectedPaths cannot be the target (or source) of a JSON Patch op.
var protectedPaths = []string{"/id", "/credentials", "/state_changed_at", "/stateChangedAt"}

func protected(path string) bool {
	for _, p := range protectedPaths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Patch applies an RFC 6902 JSON Patch to the identity's admin JSON and
// stores the result as Update would. A patch that touches /id,
// /credentials or /state_changed_at, does not apply, or yields an invalid
// identity is refused (errx.Invalid) and the identity is left unchanged.
func (m *Manager) Patch(ctx context.Context, p *tenant.Project, id uuid.UUID, patchDoc []byte, actor Actor) (*Identity, error) {
	patch, err := jsonpatch.DecodePatch(patchDoc)
	if err != nil {
		return nil, errx.Newf(errx.Invalid, "The request body is not a JSON Patch (RFC 6902) array: %v", err)
	}
	for k, op := range patch {
		for _, get := range []func() (string, error){op.Path, op.From} {
			path, err := get()
			if err == nil && protected(path) {
				return nil, errx.Newf(errx.Invalid, "Patch operation %d may not change %s: /id, /credentials and /state_changed_at are protected.", k, path).WithID("protected_path")
			}
		}
	}
	var out *Identity
	done := m.writing(ctx, p, id)
	defer done()
	err = m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		existing, err := getIdentity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		doc, err := json.Marshal(existing)
		if err != nil {
			return err
		}
		patched, err := patch.Apply(doc)
		if err != nil {
			return errx.Newf(errx.Invalid, "The JSON Patch could not be applied: %v", err)
		}
		var next Identity
		dec := json.NewDecoder(bytes.NewReader(patched))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&next); err != nil {
			return errx.Newf(errx.Invalid, "The patched identity is not valid: %v", err)
		}
		if next.ID != existing.ID || !sameJSON(next.Credentials, existing.Credentials) || !sameJSON(next.StateChangedAt, existing.StateChangedAt) {
			return errx.New(errx.Invalid, "The patch may not change id, credentials or state_changed_at.").WithID("protected_path")
		}
		w := &Write{SchemaID: next.SchemaID, Traits: next.Traits, State: next.State, MetadataPublic: next.MetadataPublic,
			MetadataAdmin: next.MetadataAdmin, VerifiableAddresses: next.VerifiableAddresses, RecoveryAddresses: next.RecoveryAddresses,
			OrganizationID: next.OrganizationID, ExternalID: next.ExternalID}
		if out, err = m.replace(ctx, tx, existing, w); err != nil {
			return err
		}
		return writeAudit(ctx, tx, actor, "identity.patch", id.String(), map[string]any{"patch": json.RawMessage(patchDoc)})
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Patch: %w", err)
	}
	return out, nil
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// MaxBatch is the most items one batch may hold.
const MaxBatch = 1000

// BatchItem is one entry of PATCH /admin/identities: create an identity,
// or (a Lanyard addition) delete one by id.
type BatchItem struct {
	Create  *CreateBody `json:"create,omitempty"`
	Delete  *uuid.UUID  `json:"delete,omitempty"`
	PatchID *uuid.UUID  `json:"patch_id,omitempty"`
}

// BatchOutcome is the result of one item: Action is "create", "delete" or
// "error" (then Err says why).
type BatchOutcome struct {
	Action   string
	Identity *uuid.UUID
	PatchID  *uuid.UUID
	Err      error
}

// Batch runs up to MaxBatch creates and deletes in one transaction, each
// in its own savepoint: good items are stored, each bad one is reported.
func (m *Manager) Batch(ctx context.Context, p *tenant.Project, items []BatchItem, actor Actor) ([]BatchOutcome, error) {
	if len(items) > MaxBatch {
		return nil, errx.Newf(errx.Invalid, "A batch may hold at most %d identities, got %d.", MaxBatch, len(items))
	}
	out := make([]BatchOutcome, len(items))
	writes := make([]*Write, len(items))
	// Hash clear-text passwords before the transaction, on every core.
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, it := range items {
		out[k].PatchID = it.PatchID
		switch {
		case it.Create != nil && it.Delete != nil:
			out[k].Err = errx.New(errx.Invalid, "An item holds either create or delete, not both.")
		case it.Create != nil:
			wg.Add(1)
			sem <- struct{}{}
			go func(k int, b CreateBody) {
				defer func() { <-sem; wg.Done() }()
				writes[k], out[k].Err = m.writeFromCreate(b)
			}(k, *it.Create)
		case it.Delete == nil:
			out[k].Err = errx.New(errx.Invalid, "An item needs create or delete.")
		}
	}
	wg.Wait()
	created, deleted := 0, 0
	var deletes []uuid.UUID
	for _, it := range items {
		if it.Delete != nil {
			deletes = append(deletes, *it.Delete)
		}
	}
	if len(deletes) > 0 {
		done := m.writing(ctx, p, deletes...)
		defer done()
	}
	err := m.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		for k, it := range items {
			if out[k].Err != nil {
				continue
			}
			if _, err := tx.Exec(ctx, `SAVEPOINT batch_item`); err != nil {
				return err
			}
			var err error
			if it.Delete != nil {
				err = m.deleteTx(ctx, tx, *it.Delete, actor)
				if err == nil {
					id := *it.Delete
					out[k].Action, out[k].Identity = "delete", &id
					deleted++
				}
			} else {
				var i *Identity
				if i, err = m.CreateTx(ctx, tx, writes[k]); err == nil {
					out[k].Action, out[k].Identity = "create", &i.ID
					created++
				}
			}
			if err != nil {
				out[k].Err = err
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT batch_item`); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT batch_item`); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, actor, "identity.batch", "", map[string]any{"created": created, "deleted": deleted, "items": len(items)})
	})
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.Batch: %w", err)
	}
	for k := range out {
		if out[k].Err != nil {
			out[k].Action, out[k].Identity = "error", nil
		}
	}
	return out, nil
}

func (m *Manager) deleteTx(ctx context.Context, tx tenant.Tx, id uuid.UUID, actor Actor) error {
	if m.Revoker != nil {
		if err := m.Revoker.RevokeIdentitySessions(ctx, tx, id); err != nil {
			return err
		}
	}
	if err := deleteIdentity(ctx, tx, id); err != nil {
		return err
	}
	return writeAudit(ctx, tx, actor, "identity.delete", id.String(), nil)
}
