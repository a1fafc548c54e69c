package session

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Page selects one page of a session list: keyset (After, the last id of
// the previous page) or, for the legacy page/per_page parameters, Offset.
type Page struct {
	Size   int
	After  *uuid.UUID
	Offset int
}

// Expand says which parts of a session a list or get renders.
type Expand struct {
	Identity bool
	Devices  bool
}

// List is one page of sessions and the total count of the filter.
type List struct {
	Sessions []*Session
	Total    int
	// More is set when a next page exists.
	More bool
}

func (s *Service) list(ctx context.Context, tx tenant.Tx, baseURL string, q listQuery, pg Page, ex Expand) (List, error) {
	q.After, q.Offset, q.Limit = pg.After, pg.Offset, pg.Size+1
	now := s.now()
	ss, err := listSessions(ctx, tx, q, now)
	if err != nil {
		return List{}, err
	}
	for _, sess := range ss {
		s.fixActive(sess)
	}
	l := List{Sessions: ss}
	if len(ss) > pg.Size {
		l.Sessions, l.More = ss[:pg.Size], true
	}
	if l.Sessions == nil {
		l.Sessions = []*Session{}
	}
	if l.Total, err = countSessions(ctx, tx, q, now); err != nil {
		return List{}, err
	}
	return l, s.expand(ctx, tx, baseURL, ex.Identity, ex.Devices, l.Sessions...)
}

// ListMine lists the active sessions of token's identity except the
// current one (GET /sessions).
func (s *Service) ListMine(ctx context.Context, p *tenant.Project, baseURL, token string, pg Page) (List, error) {
	var l List
	err := s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		cur, err := s.current(ctx, tx, token)
		if err != nil {
			return err
		}
		active := true
		l, err = s.list(ctx, tx, baseURL, listQuery{IdentityID: &cur.IdentityID, Active: &active, ExcludeID: &cur.ID}, pg, Expand{Identity: true, Devices: true})
		return err
	})
	return l, err
}

// RevokeOthers ends every session of token's identity but the current one
// and returns how many it ended (DELETE /sessions).
func (s *Service) RevokeOthers(ctx context.Context, p *tenant.Project, token string) (int, error) {
	var n int
	err := s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		cur, err := s.current(ctx, tx, token)
		if err != nil {
			return err
		}
		n, err = s.revoke(ctx, tx, &cur.IdentityID, nil, &cur.ID)
		return err
	})
	return n, err
}

var errRevokeCurrent = errx.New(errx.Invalid, "You can not revoke the session you are currently using; use the logout flow instead.")

// RevokeMine ends one other session of token's identity (DELETE
// /sessions/{id}): errx.Invalid for the current session, errx.NotFound
// for a session of another identity or none.
func (s *Service) RevokeMine(ctx context.Context, p *tenant.Project, token string, id uuid.UUID) error {
	return s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		cur, err := s.current(ctx, tx, token)
		if err != nil {
			return err
		}
		if cur.ID == id {
			return errRevokeCurrent
		}
		target, err := byID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if target.IdentityID != cur.IdentityID {
			return errNoSession
		}
		_, err = s.revoke(ctx, tx, &cur.IdentityID, &id, nil)
		return err
	})
}

// AdminList lists the project's sessions (GET /admin/sessions); active nil
// means both.
func (s *Service) AdminList(ctx context.Context, p *tenant.Project, baseURL string, active *bool, pg Page, ex Expand) (List, error) {
	var l List
	err := s.db.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		l, err = s.list(ctx, tx, baseURL, listQuery{Active: active}, pg, ex)
		return err
	})
	return l, err
}

// identityExists returns errx.NotFound for an unknown identity.
func identityExists(ctx context.Context, tx tenant.Tx, id uuid.UUID) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM identities WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return errx.New(errx.NotFound, "The identity could not be found.")
	}
	return err
}

// IdentitySessions lists the sessions of one identity (GET
// /admin/identities/{id}/sessions); errx.NotFound for an unknown identity.
func (s *Service) IdentitySessions(ctx context.Context, p *tenant.Project, baseURL string, identityID uuid.UUID, active *bool, pg Page, ex Expand) (List, error) {
	var l List
	err := s.db.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) error {
		if err := identityExists(ctx, tx, identityID); err != nil {
			return err
		}
		var err error
		l, err = s.list(ctx, tx, baseURL, listQuery{IdentityID: &identityID, Active: active}, pg, ex)
		return err
	})
	return l, err
}

// RevokeAllOf ends every session of an identity (DELETE
// /admin/identities/{id}/sessions); errx.NotFound for an unknown identity.
func (s *Service) RevokeAllOf(ctx context.Context, p *tenant.Project, identityID uuid.UUID) error {
	return s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		if err := identityExists(ctx, tx, identityID); err != nil {
			return err
		}
		return s.RevokeIdentitySessions(ctx, tx, identityID)
	})
}

// Get returns one session by id (GET /admin/sessions/{id}).
func (s *Service) Get(ctx context.Context, p *tenant.Project, baseURL string, id uuid.UUID, ex Expand) (*Session, error) {
	var sess *Session
	err := s.db.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		if sess, err = byID(ctx, tx, id, false); err != nil {
			return err
		}
		s.fixActive(sess)
		return s.expand(ctx, tx, baseURL, ex.Identity, ex.Devices, sess)
	})
	return sess, err
}

// fixActive reports an expired session as inactive, as Kratos does.
func (s *Service) fixActive(sess *Session) { sess.Active = sess.Usable(s.now()) }

// Disable ends one session (DELETE /admin/sessions/{id}); errx.NotFound
// for an unknown id.
func (s *Service) Disable(ctx context.Context, p *tenant.Project, id uuid.UUID) error {
	return s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		sess, err := byID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		_, err = s.revoke(ctx, tx, &sess.IdentityID, &id, nil)
		return err
	})
}

// Extend sets an active session's expiry to now + lifespan (PATCH
// /admin/sessions/{id}/extend). An admin may pass the absolute limit,
// which then moves with it. errx.NotFound for an unknown or ended session.
func (s *Service) Extend(ctx context.Context, p *tenant.Project, baseURL string, id uuid.UUID) (*Session, error) {
	var sess *Session
	err := s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		var err error
		if sess, err = byID(ctx, tx, id, true); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if !sess.Usable(now) {
			return errx.New(errx.NotFound, "The session could not be found or is no longer active.")
		}
		cfg, err := LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		exp := now.Add(time.Duration(cfg.Lifespan))
		sess.MaxExpiresAt = maxTime(sess.MaxExpiresAt, exp)
		sess.ExpiresAt = exp
		if err := setExpiry(ctx, tx, id, exp, sess.MaxExpiresAt); err != nil {
			return err
		}
		if s.cache != nil {
			if err := s.cache.invalidate(ctx, tx, revoked{identities: map[uuid.UUID]bool{sess.IdentityID: true}}); err != nil {
				return err
			}
		}
		return s.expand(ctx, tx, baseURL, true, true, sess)
	})
	return sess, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
