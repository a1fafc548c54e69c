package session

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// Service issues and checks sessions of every project.
type Service struct {
	db         *tenant.DB
	cache      *Cache // nil: no cache
	identities Identities
	log        *slog.Logger
	now        func() time.Time

	configs   sync.Map // project id -> *cachedConfig
	configTTL time.Duration
	configGen atomic.Uint64 // incremented by ForgetConfig
}

type cachedConfig struct {
	cfg        Config
	at         time.Time
	refreshing atomic.Bool
}

// Options configures a Service.
type Options struct {
	Cache      *Cache     // nil disables the whoami cache
	Identities Identities // TableIdentities when nil
	Logger     *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// ConfigTTL bounds how long a project's session config is reused in
	// memory for cookie names on the hot path (5 s when zero).
	ConfigTTL time.Duration
}

// NewService returns a Service over db.
func NewService(db *tenant.DB, o Options) *Service {
	s := &Service{db: db, cache: o.Cache, identities: o.Identities, log: o.Logger, now: o.Now, configTTL: o.ConfigTTL}
	if s.identities == nil {
		s.identities = TableIdentities{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.configTTL == 0 {
		s.configTTL = 5 * time.Second
	}
	return s
}

// UseIdentities sets how sessions render their identity (the identity
// Manager, which itself needs the Service as its session revoker). Call it
// while wiring, before serving.
func (s *Service) UseIdentities(i Identities) { s.identities = i }

// errInactive is the 401 of every session endpoint but whoami.
var errInactive = errx.New(errx.Unauthorized, "No active session was found in this request.").WithID("session_inactive")

// Config returns the project's session configuration, reused from memory
// for a few seconds (ConfigTTL).
//
// From half of ConfigTTL on, the first request starts one reload in the
// background, and until it lands the copy keeps answering, if it is less
// than configStale old. No request waits for a reload: under steady
// traffic a change made by another process shows within ConfigTTL, and a
// project that was idle for a while answers its first requests with the
// copy it had while its reload runs. Many projects waking up together
// (one's reloads queue for database connections) therefore do not stall
// their requests. Changes made by this process (ForgetConfig) show at once.
func (s *Service) Config(ctx context.Context, p *tenant.Project) (Config, error) {
	gen := s.configGen.Load()
	if v, ok := s.configs.Load(p.ID); ok {
		cc := v.(*cachedConfig)
		if age := time.Since(cc.at); age < configStale {
			reloading := cc.refreshing.Load()
			if age > s.configTTL/2 && !reloading && cc.refreshing.CompareAndSwap(false, true) {
				reloading = true
				go func() {
					ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					defer cancel()
					// A reload that was not kept (an error, or ForgetConfig
					// of any project meanwhile) lets the next request retry.
					if _, err := s.loadConfig(ctx, p, gen); err != nil || s.configGen.Load() != gen {
						cc.refreshing.Store(false)
					}
				}()
			}
			if age < s.configTTL || reloading {
				return cc.cfg, nil
			}
		}
	}
	return s.loadConfig(ctx, p, gen)
}

// configStale bounds the age of a copy of a project's session config that
// answers while its reload runs (see Config).
const configStale = time.Minute

// loadConfig reads p's config and keeps it, unless ForgetConfig ran since
// gen was read.
func (s *Service) loadConfig(ctx context.Context, p *tenant.Project, gen uint64) (Config, error) {
	var cfg Config
	err := s.db.InTxOpts(ctx, p, tenant.TxOptions{ReadOnly: true}, func(tx tenant.Tx) (err error) {
		cfg, err = LoadConfig(ctx, tx)
		return err
	})
	if err != nil {
		return cfg, err
	}
	if s.configGen.Load() == gen {
		s.configs.Store(p.ID, &cachedConfig{cfg: cfg, at: time.Now()})
	}
	return cfg, nil
}

// ForgetConfig drops the in-memory copy of a project's config (after a
// change made by this process).
func (s *Service) ForgetConfig(p *tenant.Project) {
	s.configGen.Add(1)
	s.configs.Delete(p.ID)
}

// Issue creates a session in the caller's transaction (so that a flow and
// its session commit together) and returns it with its tokens.
func (s *Service) Issue(ctx context.Context, tx tenant.Tx, ip IssueParams) (*Issued, error) {
	cfg, err := LoadConfig(ctx, tx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	methods := ip.Methods
	if methods == nil {
		methods = []AuthenticationMethod{}
	}
	authAt := time.Time{}
	for i := range methods {
		if methods[i].CompletedAt.IsZero() {
			methods[i].CompletedAt = now
		}
		if methods[i].CompletedAt.After(authAt) {
			authAt = methods[i].CompletedAt
		}
	}
	if authAt.IsZero() {
		authAt = now
	}
	aal := ip.AAL
	if aal == "" {
		aal = AALOf(methods)
	}
	token := NewToken(TokenPrefix)
	logout := LogoutTokenFor(token)
	sess := &Session{
		ID: uuid.Must(uuid.NewV7()), IdentityID: ip.IdentityID, Active: true, AAL: aal,
		AuthenticationMethods: methods, AuthenticatedAt: authAt, IssuedAt: now,
		ExpiresAt: now.Add(time.Duration(cfg.Lifespan)), MaxExpiresAt: now.Add(time.Duration(cfg.MaxLifespan)),
		TokenHash: HashToken(token),
	}
	d := Device{ID: uuid.Must(uuid.NewV7()), IPAddress: ip.IPAddress, UserAgent: truncate(ip.UserAgent, 512), Location: ip.Location}
	if err := insertSession(ctx, tx, sess, HashToken(logout), d); err != nil {
		return nil, fmt.Errorf("session.Issue: %w", err)
	}
	sess.Devices = []Device{d}
	return &Issued{Session: sess, Token: token, LogoutToken: logout}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Resolved is the answer to a whoami: the rendered session (with identity
// and devices) and what the handler needs besides the body.
type Resolved struct {
	Body       []byte
	IdentityID string
	ExpiresAt  time.Time
	// Extended is set when this call moved the expiry (the cookie is then
	// re-issued).
	Extended bool
}

// extendMode says how a load may move the expiry.
type extendMode int

const (
	extendSliding extendMode = iota // sliding rule of the config
	extendRefresh                   // client refresh: now + lifespan within the max
)

// Whoami resolves a session token for GET /sessions/whoami. It answers from
// the cache when it can, and from Postgres (extending a sliding session and
// refilling the cache) otherwise. A token that is unknown, inactive,
// expired or whose identity is inactive gives errx.Unauthorized.
func (s *Service) Whoami(ctx context.Context, p *tenant.Project, baseURL, token string) (*Resolved, error) {
	if !wellFormed(token, TokenPrefix) {
		return nil, errInactive
	}
	hash := HashToken(token)
	now := s.now()
	if s.cache == nil {
		return s.load(ctx, p, baseURL, hash, extendSliding, "")
	}
	fresh := func(e entry) bool {
		return now.Before(e.ExpiresAt) && (e.RefreshAfter.IsZero() || now.Before(e.RefreshAfter))
	}
	key := s.cache.entryKey(p.ID, hash, baseURL)
	epoch := ""
	if l := s.cache.local; l != nil {
		var err error
		if epoch, err = l.epoch(ctx, p.ID, time.Now()); err != nil { // the real clock, not s.now
			s.log.WarnContext(ctx, "whoami cache epoch failed", "error", err.Error())
			epoch = ""
		} else if e, ok := l.get(key, epoch, now); ok && fresh(e) {
			return &Resolved{Body: e.Body, IdentityID: e.IdentityID, ExpiresAt: e.ExpiresAt}, nil
		}
	}
	e, ok, err := s.cache.get(ctx, p.ID, hash, baseURL)
	if err != nil {
		s.log.WarnContext(ctx, "whoami cache read failed", "error", err.Error())
	}
	if ok && fresh(e) {
		if epoch != "" {
			s.cache.local.put(key, epoch, e, now)
		}
		return &Resolved{Body: e.Body, IdentityID: e.IdentityID, ExpiresAt: e.ExpiresAt}, nil
	}
	return s.load(ctx, p, baseURL, hash, extendSliding, epoch)
}

// Refresh extends the session of token to now + lifespan, within its
// absolute limit (POST /sessions/refresh). errx.Forbidden when the project
// turned client refresh off.
func (s *Service) Refresh(ctx context.Context, p *tenant.Project, baseURL, token string) (*Resolved, error) {
	if !wellFormed(token, TokenPrefix) {
		return nil, errInactive
	}
	return s.load(ctx, p, baseURL, HashToken(token), extendRefresh, "")
}

// load is the Postgres path of Whoami and Refresh; see cache.go for why the
// generation is read first and the entry written before the commit. epoch,
// when set, was read before the load and lets the in-process layer keep
// the answer.
func (s *Service) load(ctx context.Context, p *tenant.Project, baseURL string, hash []byte, mode extendMode, epoch string) (*Resolved, error) {
	var res *Resolved
	err := s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		identityID, err := identityOfToken(ctx, tx, hash)
		if err != nil {
			return errInactive.Wrap(err)
		}
		gen := ""
		if s.cache != nil {
			if gen, err = s.cache.generation(ctx, p.ID, identityID); err != nil {
				s.log.WarnContext(ctx, "whoami cache generation failed", "error", err.Error())
				gen = ""
			}
		}
		sess, identityActive, err := byTokenHash(ctx, tx, hash)
		if err != nil {
			return errInactive.Wrap(err)
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		if !sess.Usable(now) || !identityActive {
			return errInactive
		}
		cfg, err := LoadConfig(ctx, tx)
		if err != nil {
			return err
		}
		lifespan := time.Duration(cfg.Lifespan)
		extended := false
		switch mode {
		case extendRefresh:
			if !cfg.ClientRefresh {
				return errx.New(errx.Forbidden, "This project does not allow clients to refresh their sessions.").WithID("session_refresh_disabled")
			}
			extended = true
		case extendSliding:
			extended = cfg.Sliding && sess.ExpiresAt.Sub(now) < lifespan/2 && sess.ExpiresAt.Before(sess.MaxExpiresAt)
		}
		if extended {
			exp := now.Add(lifespan)
			if exp.After(sess.MaxExpiresAt) {
				exp = sess.MaxExpiresAt
			}
			extended = exp.After(sess.ExpiresAt)
			if extended {
				if err := setExpiry(ctx, tx, sess.ID, exp, sess.MaxExpiresAt); err != nil {
					return err
				}
				sess.ExpiresAt = exp
			}
		}
		body, err := s.render(ctx, tx, sess, baseURL, true, true)
		if err != nil {
			return err
		}
		res = &Resolved{Body: body, IdentityID: identityID.String(), ExpiresAt: sess.ExpiresAt, Extended: extended}
		if gen != "" {
			e := entry{Body: body, IdentityID: res.IdentityID, ExpiresAt: sess.ExpiresAt}
			if cfg.Sliding {
				e.RefreshAfter = sess.ExpiresAt.Add(-lifespan / 2)
			}
			if err := s.cache.put(ctx, p.ID, hash, baseURL, gen, e, now); err != nil {
				s.log.WarnContext(ctx, "whoami cache fill failed", "error", err.Error())
			} else if epoch != "" {
				s.cache.local.put(s.cache.entryKey(p.ID, hash, baseURL), epoch, e, now)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// render expands sess and marshals it.
func (s *Service) render(ctx context.Context, tx tenant.Tx, sess *Session, baseURL string, identity, devices bool) ([]byte, error) {
	if err := s.expand(ctx, tx, baseURL, identity, devices, sess); err != nil {
		return nil, err
	}
	return json.Marshal(sess)
}

// expand loads the identity (shared between sessions of one identity) and
// the devices of ss.
func (s *Service) expand(ctx context.Context, tx tenant.Tx, baseURL string, identity, devices bool, ss ...*Session) error {
	if identity {
		seen := map[uuid.UUID]json.RawMessage{}
		for _, sess := range ss {
			raw, ok := seen[sess.IdentityID]
			if !ok {
				var err error
				if raw, err = s.identities.PublicIdentity(ctx, tx, sess.IdentityID, baseURL); err != nil {
					return err
				}
				seen[sess.IdentityID] = raw
			}
			sess.Identity = raw
		}
	}
	if devices {
		return loadDevices(ctx, tx, ss...)
	}
	return nil
}

// current loads the usable session of a token for the session endpoints
// other than whoami (no cache: they are rare and write anyway).
func (s *Service) current(ctx context.Context, tx tenant.Tx, token string) (*Session, error) {
	if !wellFormed(token, TokenPrefix) {
		return nil, errInactive
	}
	sess, identityActive, err := byTokenHash(ctx, tx, HashToken(token))
	if err != nil {
		return nil, errInactive.Wrap(err)
	}
	if !sess.Usable(s.now()) || !identityActive {
		return nil, errInactive
	}
	return sess, nil
}

// Current returns the usable session of token with its identity and
// devices; errx.Unauthorized (session_inactive) otherwise.
func (s *Service) Current(ctx context.Context, p *tenant.Project, baseURL, token string) (*Session, error) {
	var sess *Session
	err := s.db.InTx(ctx, p, func(tx tenant.Tx) (err error) {
		if sess, err = s.current(ctx, tx, token); err != nil {
			return err
		}
		return s.expand(ctx, tx, baseURL, true, true, sess)
	})
	return sess, err
}

// revoke deactivates sessions in tx and invalidates the cache before the
// commit; a cache failure rolls the revocation back, so that a committed
// revocation is always seen at once.
func (s *Service) revoke(ctx context.Context, tx tenant.Tx, identityID, sessionID, exceptID *uuid.UUID) (int, error) {
	r, err := deactivate(ctx, tx, identityID, sessionID, exceptID)
	if err != nil {
		return 0, err
	}
	if identityID != nil {
		r.identities[*identityID] = true
	}
	if s.cache != nil {
		if err := s.cache.invalidate(ctx, tx, r); err != nil {
			return 0, fmt.Errorf("session: invalidate cache: %w", err)
		}
	}
	return len(r.hashes), nil
}

// RevokeIdentitySessions ends every session of an identity in the
// caller's transaction (identity deactivation, deletion, credential
// changes) and invalidates its cached sessions before the caller commits.
// Call it before deleting the identity row.
func (s *Service) RevokeIdentitySessions(ctx context.Context, tx tenant.Tx, identityID uuid.UUID) error {
	_, err := s.revoke(ctx, tx, &identityID, nil, nil)
	if err != nil {
		return fmt.Errorf("session.RevokeIdentitySessions: %w", err)
	}
	return nil
}

// CurrentTx returns the usable session of token in the caller's
// transaction, without identity or devices; errx.Unauthorized
// (session_inactive) otherwise.
func (s *Service) CurrentTx(ctx context.Context, tx tenant.Tx, token string) (*Session, error) {
	return s.current(ctx, tx, token)
}

// EndTx ends one session in the caller's transaction (a refreshed login
// replaces the session it refreshed).
func (s *Service) EndTx(ctx context.Context, tx tenant.Tx, sess *Session) error {
	_, err := s.revoke(ctx, tx, &sess.IdentityID, &sess.ID, nil)
	return err
}

// RevokeLogoutToken ends the session a logout token belongs to (the
// browser logout link). errx.Unauthorized when it names no active session.
func (s *Service) RevokeLogoutToken(ctx context.Context, p *tenant.Project, logoutToken string) error {
	if !wellFormed(logoutToken, LogoutTokenPrefix) {
		return errInactive
	}
	return s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		id, err := byLogoutTokenHash(ctx, tx, HashToken(logoutToken))
		if err != nil {
			return errInactive.Wrap(err)
		}
		sess, err := byID(ctx, tx, id, true)
		if err != nil {
			return errInactive.Wrap(err)
		}
		_, err = s.revoke(ctx, tx, &sess.IdentityID, &sess.ID, nil)
		return err
	})
}

// RevokeToken ends the session of a token (native logout). It is
// idempotent, as Kratos's performNativeLogout is: a token whose session was
// already revoked or has expired succeeds again (a retried logout is not an
// error). errx.NotFound when the token names no session at all.
func (s *Service) RevokeToken(ctx context.Context, p *tenant.Project, token string) error {
	if !wellFormed(token, TokenPrefix) {
		return errNoSession
	}
	return s.db.InTx(ctx, p, func(tx tenant.Tx) error {
		sess, _, err := byTokenHash(ctx, tx, HashToken(token))
		if err != nil {
			return err
		}
		_, err = s.revoke(ctx, tx, &sess.IdentityID, &sess.ID, nil)
		return err
	})
}

// IdentityChanged makes every cached whoami answer of the identity's
// sessions (in Redis and in every process's memory) reload, so that a
// change of traits, addresses, metadata or state shows at once. Call it
// inside the writing transaction, after the write and before the commit
// (as revocations do); an error must roll the write back.
func (s *Service) IdentityChanged(ctx context.Context, tx tenant.Tx, identityID uuid.UUID) error {
	if s.cache == nil {
		return nil
	}
	if err := s.cache.invalidate(ctx, tx, revoked{identities: map[uuid.UUID]bool{identityID: true}}); err != nil {
		return fmt.Errorf("session.IdentityChanged: %w", err)
	}
	return nil
}
