package identity

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/tenant"
)

// UseCache puts c in front of AdminJSON and makes every write of m keep
// it (and the caches of other processes on the same Redis namespace)
// correct. Call it before serving; nil turns caching off.
func (m *Manager) UseCache(c *Cache) { m.cache = c }

// AdminJSON returns identity id as GET /admin/identities/{id} answers it:
// schema_url under baseURL, credential configs only for the include
// types. errx.NotFound if there is none. With a cache, the answer comes
// from memory when no identity of the project changed since it was read.
func (m *Manager) AdminJSON(ctx context.Context, p *tenant.Project, baseURL string, id uuid.UUID, include []string) ([]byte, error) {
	c := m.cache
	if c == nil || p == nil || !c.available() {
		return m.adminJSONUncached(ctx, p, baseURL, id, include)
	}
	st, err := c.state(ctx, p.ID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("identity.Manager.AdminJSON: %w", ctx.Err())
		}
		c.failed("state", err)
		return m.adminJSONUncached(ctx, p, baseURL, id, include)
	}
	k := cacheKey{p.ID, id}
	now := time.Now()
	if !st.pending {
		if e := c.lookup(k, st.epoch, now); e != nil {
			c.hits.Add(1)
			return e.render(baseURL, include)
		}
	}
	c.misses.Add(1)
	i, err := m.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	e, err := newEntry(i, baseURL, st.epoch, now.Add(c.ttl))
	if err != nil {
		return nil, fmt.Errorf("identity.Manager.AdminJSON: %w", err)
	}
	if !st.pending {
		c.store(k, e)
	}
	return e.render(baseURL, include)
}

func (m *Manager) adminJSONUncached(ctx context.Context, p *tenant.Project, baseURL string, id uuid.UUID, include []string) ([]byte, error) {
	i, err := m.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return renderAdmin(i, baseURL, include)
}

// writing marks a write of project p's identities ids (all of them when
// ids is empty) as pending; the returned func, called once the write's
// transaction has ended, publishes the change. Without a cache both are
// no-ops.
func (m *Manager) writing(ctx context.Context, p *tenant.Project, ids ...uuid.UUID) func() {
	if m.cache == nil || p == nil {
		return func() {}
	}
	w := m.cache.begin(ctx, p.ID, ids)
	return func() { w.end(ctx) }
}

// ChangedTx records that identities ids of tx's project are being changed
// in tx by code outside the Manager (self-service flows updating
// addresses or credentials with their own SQL). Call it in tx, after the
// change and before the commit. Until tx ends no process serves a cached
// identity of the project; when it has ended (seen from another
// connection) the change is published. It never fails the transaction:
// problems are logged, and a transaction that can no longer commit needs
// no invalidation. An identity the transaction created needs none either:
// no process can hold it, or a session of it, yet.
func (m *Manager) ChangedTx(ctx context.Context, tx tenant.Tx, ids ...uuid.UUID) {
	ids = slices.DeleteFunc(slices.Clone(ids), tx.Inserted)
	if len(ids) == 0 {
		return
	}
	if m.Revoker != nil {
		for _, id := range ids {
			if err := m.Revoker.IdentityChanged(ctx, tx, id); err != nil {
				// Cached whoami answers of this identity stay until their
				// TTL; the change itself must not fail for it.
				slog.WarnContext(ctx, "identity: could not refresh cached sessions", "identity_id", id.String(), "error", err.Error())
			}
		}
	}
	c := m.cache
	p := tx.Project()
	if c == nil || p == nil {
		return
	}
	w := c.begin(ctx, p.ID, ids)
	// The transaction tells when it ended; one that cannot (not made by
	// InTx) is watched in Postgres instead.
	if tx.OnEnd(func() { go w.end(context.Background()) }) {
		return
	}
	var xid string
	if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		return // the transaction is failing: nothing will commit; the mark lapses
	}
	go m.endAfter(p, xid, w)
}

// endAfter waits until transaction xid has committed or aborted, then
// ends w. It gives up waiting after pendingHold, when the mark has lapsed.
func (m *Manager) endAfter(p *tenant.Project, xid string, w *writer) {
	ctx, cancel := context.WithTimeout(context.Background(), pendingHold)
	defer cancel()
	wait := 2 * time.Millisecond
	for {
		var status *string
		err := m.DB.Read(ctx, p, `SELECT pg_xact_status($1::xid8)`, []any{xid}, func(rows pgx.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&status); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		if err == nil && (status == nil || *status != "in progress") {
			break
		}
		select {
		case <-ctx.Done():
			w.c.log.Warn("identity cache: could not see a changing transaction end; its mark lapses on its own",
				"project_id", p.ID.String(), "error", fmt.Sprint(err))
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
	w.end(ctx)
}
