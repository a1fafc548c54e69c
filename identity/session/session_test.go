package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestTokensAreLongRandomAndHashed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		tok := session.NewToken(session.TokenPrefix)
		if !strings.HasPrefix(tok, "lyst_") || len(tok) != 5+44 {
			t.Fatalf("token %q: want lyst_ + 44 chars", tok)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
	e := newEnv(t)
	is := e.issue(e.newIdentity("hash@example.com"))
	var n int
	err := e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM sessions
			WHERE token_hash = sha256($1::bytea) AND logout_token_hash = sha256($2::bytea)
			  AND position($1::bytea in token_hash) = 0`, []byte(is.Token), []byte(is.LogoutToken)).Scan(&n)
	})
	if err != nil || n != 1 {
		t.Fatalf("sessions stored by hash = %d, %v", n, err)
	}
}

func TestWhoamiByHeaderBearerAndCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ident := e.newIdentity("who@example.com")
	is := e.issue(ident)
	for name, hdr := range map[string]map[string]string{
		"x-session-token": tokenHdr(is.Token),
		"bearer":          {"Authorization": "Bearer " + is.Token},
		"cookie":          {"Cookie": "lanyard_session=" + is.Token},
	} {
		for range 2 { // the second answer comes from the cache
			w := e.do("GET", "/sessions/whoami", nil, hdr)
			wantStatus(t, w, http.StatusOK)
			s := decode[sessionJSON](t, w)
			if s.ID != is.Session.ID.String() || !s.Active || s.AAL != "aal1" || s.Identity == nil || s.Identity.ID != ident.String() {
				t.Fatalf("%s: whoami = %+v", name, s)
			}
			if s.Identity.Traits["email"] != "who@example.com" || s.Identity.State != "active" {
				t.Fatalf("%s: identity = %+v", name, s.Identity)
			}
			if len(s.Devices) != 1 || s.Devices[0].IPAddress != "203.0.113.7" || s.Devices[0].UserAgent != "test-agent/1.0" {
				t.Fatalf("%s: devices = %+v", name, s.Devices)
			}
			if len(s.AuthenticationMethods) != 1 || s.AuthenticationMethods[0].Method != "password" {
				t.Fatalf("%s: methods = %+v", name, s.AuthenticationMethods)
			}
			if got := w.Header().Get(session.HeaderIdentityID); got != ident.String() {
				t.Fatalf("%s: identity header = %q", name, got)
			}
			if got := w.Header().Get("Cache-Control"); !strings.Contains(got, "no-store") {
				t.Fatalf("%s: Cache-Control = %q", name, got)
			}
		}
	}
	// Path routing reaches the same session.
	req, _ := http.NewRequest("GET", "/p/"+e.project.Slug+"/sessions/whoami", nil)
	req.Header.Set(session.HeaderSessionToken, is.Token)
	w := e.doReq(req)
	wantStatus(t, w, http.StatusOK)
}

func TestWhoamiUnauthorizedHasNoID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, hdr := range map[string]map[string]string{
		"none":      nil,
		"malformed": tokenHdr("nope"),
		"unknown":   tokenHdr(session.NewToken(session.TokenPrefix)),
	} {
		w := e.do("GET", "/sessions/whoami", nil, hdr)
		wantStatus(t, w, http.StatusUnauthorized)
		env := decode[envelope](t, w)
		if env.Error.ID != "" || env.Error.Code != 401 || env.Error.Reason != "No valid session credentials found in the request." {
			t.Fatalf("%s: envelope = %+v", name, env)
		}
	}
	// Other session endpoints say session_inactive.
	w := e.do("GET", "/sessions", nil, nil)
	wantStatus(t, w, http.StatusUnauthorized)
	if env := decode[envelope](t, w); env.Error.ID != "session_inactive" {
		t.Fatalf("GET /sessions envelope = %+v", env)
	}
	w = e.do("GET", "/sessions/whoami?tokenize_as=jwt", nil, nil)
	wantStatus(t, w, http.StatusBadRequest)
}

func TestSlidingExpiryWithinAbsoluteMax(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.issue(e.newIdentity("slide@example.com"))
	issued := is.Session.ExpiresAt
	cookie := map[string]string{"Cookie": "lanyard_session=" + is.Token}

	// With more than half the lifespan left nothing moves.
	e.clock.Add(6 * time.Hour)
	w := e.do("GET", "/sessions/whoami", nil, cookie)
	wantStatus(t, w, http.StatusOK)
	if s := decode[sessionJSON](t, w); !s.ExpiresAt.Equal(issued) {
		t.Fatalf("expires_at moved early: %v, want %v", s.ExpiresAt, issued)
	}
	if w.Header().Get("Set-Cookie") != "" {
		t.Fatal("cookie re-issued without an extension")
	}
	// Past half of it, a use extends to now + 24h and re-issues the cookie
	// (the cached answer is bypassed).
	e.clock.Add(7 * time.Hour)
	w = e.do("GET", "/sessions/whoami", nil, cookie)
	wantStatus(t, w, http.StatusOK)
	s := decode[sessionJSON](t, w)
	if want := e.clock.Now().Add(24 * time.Hour); s.ExpiresAt.Sub(want).Abs() > time.Second {
		t.Fatalf("expires_at = %v, want about %v", s.ExpiresAt, want)
	}
	if ck := w.Header().Get("Set-Cookie"); !strings.Contains(ck, "lanyard_session="+is.Token) || !strings.Contains(ck, "Max-Age=") {
		t.Fatalf("Set-Cookie = %q", ck)
	}
	// Keep using it for a month: it never passes issue + 30 days.
	max := is.Session.IssuedAt.Add(30 * 24 * time.Hour)
	for range 60 {
		e.clock.Add(13 * time.Hour)
		w = e.do("GET", "/sessions/whoami", nil, cookie)
		if w.Code != http.StatusOK {
			break
		}
		if s := decode[sessionJSON](t, w); s.ExpiresAt.After(max) {
			t.Fatalf("expires_at %v passed the absolute max %v", s.ExpiresAt, max)
		}
	}
	if e.clock.Now().Before(max) {
		t.Fatalf("session ended at %v, before the absolute max %v", e.clock.Now(), max)
	}
	wantStatus(t, w, http.StatusUnauthorized)
}

func TestClientRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	is := e.issue(e.newIdentity("refresh@example.com"))
	e.clock.Add(2 * time.Hour)
	w := e.do("POST", "/sessions/refresh", nil, tokenHdr(is.Token))
	wantStatus(t, w, http.StatusOK)
	s := decode[sessionJSON](t, w)
	if want := e.clock.Now().Add(24 * time.Hour); s.ExpiresAt.Sub(want).Abs() > time.Second {
		t.Fatalf("refreshed expires_at = %v, want about %v", s.ExpiresAt, want)
	}
	// whoami sees the new expiry at once (the cache was bypassed and refilled).
	w = e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token))
	if got := decode[sessionJSON](t, w); !got.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("whoami expires_at = %v, want %v", got.ExpiresAt, s.ExpiresAt)
	}
	// Turned off per project → 403.
	err := e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) error {
		cfg := session.DefaultConfig()
		cfg.ClientRefresh = false
		return session.SaveConfig(context.Background(), tx, cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	w = e.do("POST", "/sessions/refresh", nil, tokenHdr(is.Token))
	wantStatus(t, w, http.StatusForbidden)
	if env := decode[envelope](t, w); env.Error.ID != "session_refresh_disabled" {
		t.Fatalf("envelope = %+v", env)
	}
	w = e.do("POST", "/sessions/refresh", nil, nil)
	wantStatus(t, w, http.StatusUnauthorized)
}

func TestRevocationTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ident := e.newIdentity("revoke@example.com")
	a, b := e.issue(ident), e.issue(ident)
	for _, is := range []*session.Issued{a, b} {
		wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusOK) // cached now
	}
	// Admin disables a; b is untouched.
	wantStatus(t, e.admin("DELETE", "/admin/sessions/"+a.Session.ID.String()), http.StatusNoContent)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(a.Token)), http.StatusUnauthorized)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(b.Token)), http.StatusOK)

	// Identity deactivation through RevokeIdentitySessions, in the
	// caller's transaction.
	err := e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) error {
		if _, err := tx.Exec(context.Background(), `UPDATE identities SET state = 'inactive' WHERE id = $1`, ident); err != nil {
			return err
		}
		return e.svc.RevokeIdentitySessions(context.Background(), tx, ident)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(b.Token)), http.StatusUnauthorized)

	// Deletion: a fresh identity's cached session dies with the identity.
	other := e.newIdentity("gone@example.com")
	c := e.issue(other)
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(c.Token)), http.StatusOK)
	err = e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) error {
		if err := e.svc.RevokeIdentitySessions(context.Background(), tx, other); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), `DELETE FROM identities WHERE id = $1`, other)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(c.Token)), http.StatusUnauthorized)
}

// TestRevocationRacesWhoami hammers whoami while sessions are revoked: once
// the revoking call has returned, no whoami may answer 200.
func TestRevocationRacesWhoami(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 15 {
		ident := e.newIdentity("race" + string(rune('a'+i)) + "@example.com")
		is := e.issue(ident)
		done := make(chan struct{})
		var stale sync.Once
		var staleErr string
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for post := 0; post < 3; {
					after := isClosed(done) // the revocation had returned before this request began
					w := e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token))
					if after {
						post++
						if w.Code == http.StatusOK {
							stale.Do(func() { staleErr = "whoami answered 200 after the revocation committed" })
						}
					}
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		err := e.db.InTx(context.Background(), e.project, func(tx tenant.Tx) error {
			return e.svc.RevokeIdentitySessions(context.Background(), tx, ident)
		})
		if err != nil {
			t.Fatal(err)
		}
		close(done)
		wg.Wait()
		for range 5 {
			wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusUnauthorized)
		}
		if staleErr != "" {
			t.Fatal(staleErr)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestCookieAttributes(t *testing.T) {
	t.Parallel()
	cfg := session.DefaultConfig()
	now := time.Now()
	exp := now.Add(time.Hour)
	for _, tc := range []struct {
		base, path string
		secure     bool
	}{
		{"http://acme.localhost:4433", "/", false},
		{"https://acme.example.com", "/", true},
		{"https://id.example.com/p/acme", "/p/acme", true},
	} {
		ck := session.Cookie(cfg, tc.base, "tok", exp, now)
		if ck.Path != tc.path || ck.Secure != tc.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Domain != "" {
			t.Fatalf("%s: cookie = %+v", tc.base, ck)
		}
		if ck.MaxAge < 3599 || ck.MaxAge > 3600 {
			t.Fatalf("%s: Max-Age = %d", tc.base, ck.MaxAge)
		}
	}
	if err := (session.Config{Lifespan: session.Duration(time.Hour), MaxLifespan: session.Duration(time.Minute), CookieName: "x"}).Validate(); err == nil {
		t.Fatal("max_lifespan < lifespan accepted")
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t), newEnv(t)
	is := a.issue(a.newIdentity("iso@example.com"))
	wantStatus(t, a.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusOK)
	// A's token and cookie are worthless on B.
	wantStatus(t, b.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusUnauthorized)
	wantStatus(t, b.do("GET", "/sessions/whoami", nil, map[string]string{"Cookie": "lanyard_session=" + is.Token}), http.StatusUnauthorized)
	wantStatus(t, b.do("GET", "/sessions", nil, tokenHdr(is.Token)), http.StatusUnauthorized)
	// B's admin cannot see or end A's session; A's key does not open B.
	wantStatus(t, b.admin("GET", "/admin/sessions/"+is.Session.ID.String()), http.StatusNotFound)
	wantStatus(t, b.admin("DELETE", "/admin/sessions/"+is.Session.ID.String()), http.StatusNotFound)
	wantStatus(t, b.admin("PATCH", "/admin/sessions/"+is.Session.ID.String()+"/extend"), http.StatusNotFound)
	if l := decode[[]sessionJSON](t, b.admin("GET", "/admin/sessions")); len(l) != 0 {
		t.Fatalf("B lists %d sessions", len(l))
	}
	w := b.do("GET", "/admin/sessions", nil, map[string]string{"Authorization": "Bearer " + a.apiKey})
	wantStatus(t, w, http.StatusUnauthorized)
	wantStatus(t, a.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusOK)
	_ = tenanttest.Get(t)
}

func TestIdentityAdminAPIEndsSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct{ method, body string }{
		{"DELETE", ""},
		{"PUT", `{"schema_id":"default","traits":{"email":"%s"},"state":"inactive"}`},
	} {
		email := strings.ToLower(tc.method) + "@example.com"
		w := e.do("POST", "/admin/identities", strings.NewReader(`{"schema_id":"default","traits":{"email":"`+email+`"}}`),
			map[string]string{"Authorization": "Bearer " + e.apiKey, "Content-Type": "application/json"})
		wantStatus(t, w, http.StatusCreated)
		created := decode[struct{ ID uuid.UUID }](t, w)
		is := e.issue(created.ID)
		w = e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token))
		wantStatus(t, w, http.StatusOK)
		if s := decode[sessionJSON](t, w); s.Identity == nil || s.Identity.Traits["email"] != email {
			t.Fatalf("whoami identity = %+v", s.Identity)
		}
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(fmt.Sprintf(tc.body, email))
		}
		w = e.do(tc.method, "/admin/identities/"+created.ID.String(), body,
			map[string]string{"Authorization": "Bearer " + e.apiKey, "Content-Type": "application/json"})
		if w.Code >= 300 {
			t.Fatalf("%s identity = %d %s", tc.method, w.Code, w.Body.String())
		}
		wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusUnauthorized)
	}
}

func TestLogoutTokenDerivation(t *testing.T) {
	t.Parallel()
	a, b := session.NewToken(session.TokenPrefix), session.NewToken(session.TokenPrefix)
	la := session.LogoutTokenFor(a)
	if la != session.LogoutTokenFor(a) || la == session.LogoutTokenFor(b) || !strings.HasPrefix(la, "lylo_") || len(la) != 49 || strings.Contains(la, a[5:15]) {
		t.Fatalf("logout token %q for %q", la, a)
	}
	e := newEnv(t)
	is := e.issue(e.newIdentity("logout@example.com"))
	if is.LogoutToken != session.LogoutTokenFor(is.Token) {
		t.Fatal("issued logout token is not the derived one")
	}
	if err := e.svc.RevokeLogoutToken(context.Background(), e.project, session.LogoutTokenFor(b)); err == nil {
		t.Fatal("unknown logout token accepted")
	}
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusOK)
	if err := e.svc.RevokeLogoutToken(context.Background(), e.project, is.LogoutToken); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token)), http.StatusUnauthorized)
}

// Whoami carries the identity: a change of its traits or metadata, by
// PUT or JSON Patch, shows in the next whoami at once (in this process's
// memory and in Redis), though the session itself did not change.
func TestIdentityChangesShowInWhoamiAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := map[string]string{"Authorization": "Bearer " + e.apiKey, "Content-Type": "application/json"}
	w := e.do("POST", "/admin/identities", strings.NewReader(`{"schema_id":"default","traits":{"email":"ada@example.com"}}`), admin)
	wantStatus(t, w, http.StatusCreated)
	id := decode[struct{ ID uuid.UUID }](t, w).ID
	is := e.issue(id)
	whoami := func() map[string]any {
		t.Helper()
		w := e.do("GET", "/sessions/whoami", nil, tokenHdr(is.Token))
		wantStatus(t, w, http.StatusOK)
		s := decode[sessionJSON](t, w)
		if s.Identity == nil {
			t.Fatal("whoami without identity")
		}
		return s.Identity.Traits
	}
	for range 2 { // the second answer comes from the caches
		if got := whoami()["email"]; got != "ada@example.com" {
			t.Fatalf("whoami email = %v", got)
		}
	}
	w = e.do("PUT", "/admin/identities/"+id.String(), strings.NewReader(`{"schema_id":"default","state":"active","traits":{"email":"ada.lovelace@example.com"}}`), admin)
	wantStatus(t, w, http.StatusOK)
	if got := whoami()["email"]; got != "ada.lovelace@example.com" {
		t.Errorf("after PUT whoami email = %v", got)
	}
	w = e.do("PATCH", "/admin/identities/"+id.String(), strings.NewReader(`[{"op":"replace","path":"/traits/email","value":"countess@example.com"}]`), admin)
	wantStatus(t, w, http.StatusOK)
	if got := whoami()["email"]; got != "countess@example.com" {
		t.Errorf("after PATCH whoami email = %v", got)
	}
}

// A revocation in one process is seen at once by another process that
// answered whoami for the session a moment before from its own memory.
// That process reuses an epoch read for session.EpochLease, and confirms
// the epochs of all its projects with one read of the revocation sequence
// while its requests for another project keep that read fresh; a
// revocation returns only after EpochLease.
func TestRevocationSeenByAnotherProcess(t *testing.T) {
	t.Parallel()
	e, busy := newEnv(t), newEnv(t)
	deps := servertest.Deps(t)
	other := session.NewService(deps.DB, session.Options{Cache: session.NewDefaultCache(deps.Redis, deps.Config.RedisNamespace)})
	other.UseIdentities(deps.Identities)
	ctx := context.Background()
	base, busyBase := "http://127.0.0.1/p/"+e.project.Slug, "http://127.0.0.1/p/"+busy.project.Slug
	busyToken := busy.issue(busy.newIdentity("busy@example.com")).Token
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // another project's traffic in the other process
		defer wg.Done()
		for !isClosed(stop) {
			if _, err := other.Whoami(ctx, busy.project, busyBase, busyToken); err != nil {
				t.Errorf("the busy project's whoami: %v", err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := range 20 {
		is := e.issue(e.newIdentity(fmt.Sprintf("other-process-%d@example.com", i)))
		for range 3 { // cached in the other process's memory
			if _, err := other.Whoami(ctx, e.project, base, is.Token); err != nil {
				t.Fatalf("whoami before the revocation: %v", err)
			}
		}
		time.Sleep(time.Duration(i) * session.EpochLease / 10) // the project's own read ages; the sequence stays fresh
		if _, err := other.Whoami(ctx, e.project, base, is.Token); err != nil {
			t.Fatalf("whoami before the revocation: %v", err)
		}
		if err := e.db.InTx(ctx, e.project, func(tx tenant.Tx) error {
			return e.svc.RevokeIdentitySessions(ctx, tx, is.Session.IdentityID)
		}); err != nil {
			t.Fatal(err)
		}
		if r, err := other.Whoami(ctx, e.project, base, is.Token); err == nil {
			t.Fatalf("round %d: the other process answered %s after the revocation returned", i, r.Body)
		}
	}
}

// A project's session config copy older than ConfigTTL answers while one
// reload runs in the background (no request waits for the database), and
// the reload's value shows right after; ForgetConfig shows a change at once.
func TestConfigCopyAnswersWhileReloading(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	deps := servertest.Deps(t)
	svc := session.NewService(deps.DB, session.Options{ConfigTTL: 100 * time.Millisecond})
	ctx := context.Background()
	save := func(name string) {
		t.Helper()
		c := session.DefaultConfig()
		c.CookieName = name
		if err := e.db.InTx(ctx, e.project, func(tx tenant.Tx) error { return session.SaveConfig(ctx, tx, c) }); err != nil {
			t.Fatal(err)
		}
	}
	name := func() string {
		t.Helper()
		c, err := svc.Config(ctx, e.project)
		if err != nil {
			t.Fatal(err)
		}
		return c.CookieName
	}
	save("first")
	if got := name(); got != "first" {
		t.Fatalf("cookie name = %q, want first", got)
	}
	save("second") // behind the copy's back, as another process does
	time.Sleep(150 * time.Millisecond)
	if got := name(); got != "first" {
		t.Fatalf("an expired copy with no reload yet: %q, want the copy (first) while the reload runs", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for name() != "second" {
		if time.Now().After(deadline) {
			t.Fatal("the reload never landed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	save("third")
	svc.ForgetConfig(e.project)
	if got := name(); got != "third" {
		t.Fatalf("after ForgetConfig: %q, want third", got)
	}
}
