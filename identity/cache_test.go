package identity_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// proc stands for one Lanyard process: its own Manager and its own
// in-memory cache, on the test run's database and Redis namespace.
type proc struct {
	m     *identity.Manager
	cache *identity.Cache
}

func newProc(t testing.TB) proc {
	t.Helper()
	env := tenanttest.Get(t)
	return newProcOn(t, env.Redis)
}

func newProcOn(t testing.TB, rdb redis.UniversalClient) proc {
	t.Helper()
	env := tenanttest.Get(t)
	m := identity.NewManager(env.DB, hash.MustNew(servertest.TestHashConfig), env.Config.SecretKeys()[0])
	c := identity.NewCache(rdb, env.Namespace, identity.CacheOptions{Logger: quiet()})
	m.UseCache(c)
	return proc{m: m, cache: c}
}

const base = "http://127.0.0.1:4433/p/x"

// get reads the identity the way GET /admin/identities/{id} does.
func (p proc) get(t testing.TB, proj *tenant.Project, id uuid.UUID, include ...string) identityJSON {
	t.Helper()
	body, err := p.m.AdminJSON(context.Background(), proj, base, id, include)
	if err != nil {
		t.Fatalf("AdminJSON(%s): %v", id, err)
	}
	var v identityJSON
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// cached reads twice and checks the second read came from memory, so that
// a later "sees the change" cannot pass because nothing was cached.
func (p proc) cached(t testing.TB, proj *tenant.Project, id uuid.UUID, include ...string) identityJSON {
	t.Helper()
	p.get(t, proj, id, include...)
	h0, _ := p.cache.Stats()
	v := p.get(t, proj, id, include...)
	if h1, _ := p.cache.Stats(); h1 != h0+1 {
		t.Fatalf("second read was not served from the cache (hits %d -> %d)", h0, h1)
	}
	return v
}

// settled waits until the project is cached again after a flow's write
// (its pending mark ends once the flow's transaction is seen to end),
// then reads the identity into the cache.
func (p proc) settled(t testing.TB, proj *tenant.Project, id uuid.UUID, include ...string) identityJSON {
	t.Helper()
	for range 300 {
		p.get(t, proj, id, include...)
		h0, _ := p.cache.Stats()
		v := p.get(t, proj, id, include...)
		if h1, _ := p.cache.Stats(); h1 > h0 {
			return v
		}
		waitABit()
	}
	t.Fatal("the project was never cached again after a write ended")
	return identityJSON{}
}

func createBody(t testing.TB, js string) identity.CreateBody {
	t.Helper()
	var b identity.CreateBody
	if err := json.Unmarshal([]byte(js), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func firstName(v identityJSON) any { return v.Traits["name"].(map[string]any)["first"] }

var admin = identity.Actor{Name: "test"}

func TestCacheWriteInOneProcessIsSeenAtOnceByAnother(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proj := tenanttest.NewProject(t).Project
	a, b := newProc(t), newProc(t)
	email := uniqueEmail(t, "a")
	created, err := b.m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+email+`","name":{"first":"Ada"}},
		"credentials":{"oidc":{"config":{"providers":[{"provider":"google","subject":"s1"},{"provider":"github","subject":"s2"}]}}}}`), admin)
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID
	if got := firstName(a.cached(t, proj, id)); got != "Ada" {
		t.Fatalf("first name = %v", got)
	}

	// PUT through b.
	if _, err := b.m.Update(ctx, proj, id, identity.UpdateBody{SchemaID: "default", State: "active",
		Traits: json.RawMessage(`{"email":"` + email + `","name":{"first":"Grace"}}`)}, admin); err != nil {
		t.Fatal(err)
	}
	if got := firstName(a.get(t, proj, id)); got != "Grace" {
		t.Fatalf("after update through another process: first name = %v, want Grace", got)
	}

	// JSON Patch through b.
	a.cached(t, proj, id)
	if _, err := b.m.Patch(ctx, proj, id, []byte(`[{"op":"replace","path":"/traits/name/first","value":"Hedy"}]`), admin); err != nil {
		t.Fatal(err)
	}
	if got := firstName(a.get(t, proj, id)); got != "Hedy" {
		t.Fatalf("after patch: first name = %v, want Hedy", got)
	}

	// Deleting one oidc link through b.
	if got := a.cached(t, proj, id).Credentials["oidc"].Identifiers; len(got) != 2 {
		t.Fatalf("oidc identifiers = %v", got)
	}
	if err := b.m.DeleteCredential(ctx, proj, id, "oidc", "google:s1", admin); err != nil {
		t.Fatal(err)
	}
	if got := a.get(t, proj, id).Credentials["oidc"].Identifiers; len(got) != 1 || got[0] != "github:s2" {
		t.Fatalf("after credential deletion: oidc identifiers = %v", got)
	}

	// State change through b.
	a.cached(t, proj, id)
	if _, err := b.m.Update(ctx, proj, id, identity.UpdateBody{SchemaID: "default", State: "inactive",
		Traits: json.RawMessage(`{"email":"` + email + `","name":{"first":"Hedy"}}`)}, admin); err != nil {
		t.Fatal(err)
	}
	if got := a.get(t, proj, id).State; got != "inactive" {
		t.Fatalf("after state change: state = %q", got)
	}

	// Batch delete through b, then a plain delete of a second identity.
	a.cached(t, proj, id)
	out, err := b.m.Batch(ctx, proj, []identity.BatchItem{{Delete: &id}}, admin)
	if err != nil || out[0].Err != nil {
		t.Fatalf("batch delete: %v %v", err, out)
	}
	if _, err := a.m.AdminJSON(ctx, proj, base, id, nil); !errx.Has(err, errx.NotFound) {
		t.Fatalf("after batch delete: err = %v, want not found", err)
	}
	second, err := b.m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+uniqueEmail(t, "b")+`"}}`), admin)
	if err != nil {
		t.Fatal(err)
	}
	a.cached(t, proj, second.ID)
	if err := b.m.Delete(ctx, proj, second.ID, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.AdminJSON(ctx, proj, base, second.ID, nil); !errx.Has(err, errx.NotFound) {
		t.Fatalf("after delete: err = %v, want not found", err)
	}
}

// A login that upgrades a legacy hash writes in the flow's transaction:
// while it is open no process serves the cached identity, and once it has
// committed every process reads the new hash.
func TestCachePasswordRehashInFlowTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proj := tenanttest.NewProject(t).Project
	a, b := newProc(t), newProc(t)
	email := uniqueEmail(t, "a")
	legacy, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), 4)
	if err != nil {
		t.Fatal(err)
	}
	created, err := b.m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+email+`"},
		"credentials":{"password":{"config":{"hashed_password":"`+string(legacy)+`"}}}}`), admin)
	if err != nil {
		t.Fatal(err)
	}
	hashOf := func(v identityJSON) string {
		s, _ := v.Credentials["password"].Config["hashed_password"].(string)
		return s
	}
	if got := hashOf(a.cached(t, proj, created.ID, "password")); got != string(legacy) {
		t.Fatalf("hash = %q, want the imported bcrypt hash", got)
	}
	err = tenanttest.Get(t).DB.InTx(ctx, proj, func(tx tenant.Tx) error {
		i, err := b.m.FindByIdentifierTx(ctx, tx, identity.CredentialsPassword, email)
		if err != nil {
			return err
		}
		ok, err := b.m.CheckPasswordTx(ctx, tx, i, "correct horse battery")
		if err != nil || !ok {
			t.Fatalf("CheckPasswordTx = %v, %v", ok, err)
		}
		// Not committed yet: a reads Postgres (the old hash), not memory.
		h0, _ := a.cache.Stats()
		if got := hashOf(a.get(t, proj, created.ID, "password")); got != string(legacy) {
			t.Fatalf("before commit: hash = %q", got)
		}
		if h1, _ := a.cache.Stats(); h1 != h0 {
			t.Fatalf("a served a cached identity while a write was pending")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := hashOf(a.get(t, proj, created.ID, "password")); !strings.HasPrefix(got, "$argon2id$") {
		t.Fatalf("after the login committed: hash = %q, want the upgraded argon2id hash", got)
	}
	// Once the writer's end is published the project is cached again.
	a.settled(t, proj, created.ID)
}

// A verification flow marks the address verified with its own SQL in the
// flow's transaction; another process's cached identity shows it at once.
func TestCacheVerificationFlowWriteIsSeenByAnotherProcess(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	other := newProc(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, "a long and unusual passphrase 42")
	id := uuid.MustParse(reg["identity"].(map[string]any)["id"].(string))
	proj := s.Project.Project
	if va := other.settled(t, proj, id).Verifiable; len(va) != 1 || va[0].Verified || va[0].Status != "sent" {
		t.Fatalf("address before verification = %+v", va)
	}
	var flowID string
	for _, x := range reg["continue_with"].([]any) {
		if cw := x.(map[string]any); cw["action"] == "show_verification_ui" {
			flowID = cw["flow"].(map[string]any)["id"].(string)
		}
	}
	cd := codetest.CodeOf(t, codetest.WaitMail(t, addr, 1))
	r := s.Call(c, "POST", "/self-service/verification?flow="+flowID, map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	if f := r.JSON(t); f["state"] != "passed_challenge" {
		t.Fatalf("verification = %s", r.Body)
	}
	if va := other.get(t, proj, id).Verifiable; len(va) != 1 || !va[0].Verified || va[0].Status != "completed" {
		t.Fatalf("address right after verification, read by another process = %+v", va)
	}
	// And through the site's own admin API.
	r = s.Call(c, "GET", "/admin/identities/"+id.String(), nil, map[string]string{"Authorization": "Bearer " + s.Project.APIKey})
	codetest.Want(t, r, 200)
	if !strings.Contains(string(r.Body), `"verified":true`) {
		t.Fatalf("admin GET after verification = %s", r.Body)
	}
}

// Recovery marks the address verified in its flow transaction, and the
// settings flow that follows changes the password and then the traits:
// another process that cached the identity sees each change at once.
func TestCacheRecoveryAndSettingsFlowWritesAreSeenByAnotherProcess(t *testing.T) {
	t.Parallel()
	s := codetest.NewSite(t)
	other := newProc(t)
	c := &http.Client{}
	addr := codetest.Address(t)
	reg := s.Register(c, addr, "a long and unusual passphrase 42")
	id := uuid.MustParse(reg["identity"].(map[string]any)["id"].(string))
	proj := s.Project.Project
	codetest.WaitMail(t, addr, 1) // the verification mail
	before := other.settled(t, proj, id, "password")
	oldHash := before.Credentials["password"].Config["hashed_password"]
	if len(before.Verifiable) != 1 || before.Verifiable[0].Verified || oldHash == nil {
		t.Fatalf("before recovery = %+v", before)
	}

	r := s.Call(c, "GET", "/self-service/recovery/api", nil, nil)
	codetest.Want(t, r, 200)
	r = s.Call(c, "POST", codetest.Action(r.JSON(t)), map[string]any{"method": "code", "email": addr}, nil)
	codetest.Want(t, r, 200)
	f := r.JSON(t)
	cd := codetest.CodeOf(t, codetest.WaitMail(t, addr, 2))
	r = s.Call(c, "POST", codetest.Action(f), map[string]any{"method": "code", "code": cd}, nil)
	codetest.Want(t, r, 200)
	done := r.JSON(t)
	var token, settingsID string
	for _, x := range done["continue_with"].([]any) {
		cw := x.(map[string]any)
		switch cw["action"] {
		case "set_ory_session_token":
			token, _ = cw["ory_session_token"].(string)
		case "show_settings_ui":
			settingsID, _ = cw["flow"].(map[string]any)["id"].(string)
		}
	}
	if token == "" || settingsID == "" {
		t.Fatalf("recovered = %s", r.Body)
	}
	if va := other.get(t, proj, id).Verifiable; len(va) != 1 || !va[0].Verified {
		t.Fatalf("address right after recovery, read by another process = %+v", va)
	}

	other.settled(t, proj, id, "password")
	hdr := map[string]string{"X-Session-Token": token}
	r = s.Call(c, "GET", "/self-service/settings/flows?id="+settingsID, nil, hdr)
	codetest.Want(t, r, 200)
	sf := r.JSON(t)
	r = s.Call(c, "POST", codetest.Action(sf), map[string]any{"method": "password", "password": "another long unusual passphrase 43"}, hdr)
	codetest.Want(t, r, 200)
	if h := other.get(t, proj, id, "password").Credentials["password"].Config["hashed_password"]; h == nil || h == oldHash {
		t.Fatalf("password hash right after the settings flow = %v (before: %v)", h, oldHash)
	}

	other.settled(t, proj, id)
	r = s.Call(c, "GET", "/self-service/settings/api", nil, hdr)
	codetest.Want(t, r, 200)
	sf = r.JSON(t)
	r = s.Call(c, "POST", codetest.Action(sf), map[string]any{"method": "profile", "traits": map[string]any{"email": addr, "name": map[string]any{"first": "Katherine"}}}, hdr)
	codetest.Want(t, r, 200)
	if got := other.get(t, proj, id).Traits["name"]; got == nil || got.(map[string]any)["first"] != "Katherine" {
		t.Fatalf("traits right after the settings flow = %v", other.get(t, proj, id).Traits)
	}
}

// The same identity id in two projects never shares an entry.
func TestCacheKeepsProjectsApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pa, pb := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	a := newProc(t)
	id := uuid.New()
	for _, x := range []struct {
		p     *tenant.Project
		email string
	}{{pa, uniqueEmail(t, "in-a")}, {pb, uniqueEmail(t, "in-b")}} {
		line := `{"id":"` + id.String() + `","schema_id":"default","traits":{"email":"` + x.email + `"}}` + "\n"
		res, err := a.m.Import(ctx, x.p, strings.NewReader(line), identity.ImportOptions{})
		if err != nil || res.Imported != 1 {
			t.Fatalf("import: %+v %v", res, err)
		}
	}
	wantA, wantB := uniqueEmail(t, "in-a"), uniqueEmail(t, "in-b")
	if got := a.cached(t, pa, id).Traits["email"]; got != wantA {
		t.Fatalf("project A: email = %v, want %s", got, wantA)
	}
	if got := a.get(t, pb, id).Traits["email"]; got != wantB {
		t.Fatalf("project B read after A was cached: email = %v, want %s", got, wantB)
	}
	if got := a.cached(t, pb, id).Traits["email"]; got != wantB {
		t.Fatalf("project B cached: email = %v, want %s", got, wantB)
	}
	if got := a.cached(t, pa, id).Traits["email"]; got != wantA {
		t.Fatalf("project A again: email = %v, want %s", got, wantA)
	}
	// A write in B leaves A's identity as it is, and vice versa.
	b := newProc(t)
	if err := b.m.Delete(ctx, pb, id, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.AdminJSON(ctx, pb, base, id, nil); !errx.Has(err, errx.NotFound) {
		t.Fatalf("project B after delete: err = %v", err)
	}
	if got := a.get(t, pa, id).Traits["email"]; got != wantA {
		t.Fatalf("project A after B's delete: email = %v", got)
	}
}

// Credential configs reach only the requests that ask for them, whichever
// request filled the cache.
func TestCacheServesCredentialsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proj := tenanttest.NewProject(t).Project
	created, err := newProc(t).m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+uniqueEmail(t, "a")+`"},
		"credentials":{"password":{"config":{"password":"a long and unusual passphrase 42"}}}}`), admin)
	if err != nil {
		t.Fatal(err)
	}
	hasConfig := func(v identityJSON) bool { return len(v.Credentials["password"].Config) > 0 }

	// Filled by a plain read, then asked with and without.
	a := newProc(t)
	if v := a.cached(t, proj, created.ID); hasConfig(v) {
		t.Fatal("plain read shows the password config")
	}
	if v := a.get(t, proj, created.ID, "password"); !hasConfig(v) {
		t.Fatal("include_credential=password does not show the config")
	}
	if v := a.get(t, proj, created.ID, "oidc"); hasConfig(v) {
		t.Fatal("include_credential=oidc shows the password config")
	}
	if v := a.cached(t, proj, created.ID); hasConfig(v) {
		t.Fatal("plain read after an include read shows the password config")
	}

	// Filled by an include read first.
	b := newProc(t)
	if v := b.cached(t, proj, created.ID, "password"); !hasConfig(v) {
		t.Fatal("include_credential=password does not show the config")
	}
	if v := b.cached(t, proj, created.ID); hasConfig(v) {
		t.Fatal("plain read after an include fill shows the password config")
	}

	// schema_url follows the request's base URL, not the filler's.
	body, err := b.m.AdminJSON(ctx, proj, "https://other.example.com", created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var v identityJSON
	_ = json.Unmarshal(body, &v)
	if v.SchemaURL != "https://other.example.com/schemas/ZGVmYXVsdA" {
		t.Fatalf("schema_url = %q", v.SchemaURL)
	}
}

// Without Redis the cache steps aside: reads and writes stay correct and
// nothing is served from memory. Without a cache the same holds.
func TestCacheFallsBackWithoutRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proj := tenanttest.NewProject(t).Project
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	down := newProcOn(t, dead)
	env := tenanttest.Get(t)
	plain := identity.NewManager(env.DB, hash.MustNew(servertest.TestHashConfig), env.Config.SecretKeys()[0])
	email := uniqueEmail(t, "a")
	created, err := down.m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+email+`","name":{"first":"Ada"}}}`), admin)
	if err != nil {
		t.Fatal(err)
	}
	for k, first := range []string{"Grace", "Hedy", "Joan"} {
		writer := down.m
		if k%2 == 1 {
			writer = plain
		}
		if _, err := writer.Update(ctx, proj, created.ID, identity.UpdateBody{SchemaID: "default", State: "active",
			Traits: json.RawMessage(`{"email":"` + email + `","name":{"first":"` + first + `"}}`)}, admin); err != nil {
			t.Fatal(err)
		}
		if got := firstName(down.get(t, proj, created.ID)); got != first {
			t.Fatalf("Redis down: first name = %v, want %s", got, first)
		}
		body, err := plain.AdminJSON(ctx, proj, base, created.ID, nil)
		if err != nil || !strings.Contains(string(body), `"first":"`+first+`"`) {
			t.Fatalf("no cache: %s %v", body, err)
		}
	}
	if hits, _ := down.cache.Stats(); hits != 0 {
		t.Fatalf("%d reads served from memory without Redis", hits)
	}
}

// If the project's keys vanish from Redis (a restart without persistence,
// an eviction), no old entry is served: a missing epoch is never equal to
// an old one.
func TestCacheRefusesEntriesWhenRedisStateIsLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := tenanttest.Get(t)
	proj := tenanttest.NewProject(t).Project
	a := newProc(t)
	email := uniqueEmail(t, "a")
	created, err := a.m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+email+`","name":{"first":"Ada"}}}`), admin)
	if err != nil {
		t.Fatal(err)
	}
	a.cached(t, proj, created.ID)
	// A change made behind the Manager's back (whose notice was lost
	// with the keys).
	err = env.DB.InTx(ctx, proj, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE identities SET traits = jsonb_set(traits, '{name,first}', '"Lost"') WHERE id = $1`, created.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := env.Redis.Keys(ctx, env.Namespace+"lanyard:ident:{"+proj.ID.String()+"}:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("project keys = %v, %v", keys, err)
	}
	if err := env.Redis.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	if got := firstName(a.get(t, proj, created.ID)); got != "Lost" {
		t.Fatalf("after the Redis state was lost: first name = %v, want the database's", got)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitABit paces a loop that waits for asynchronous work.
func waitABit() { time.Sleep(10 * time.Millisecond) }

// A full cache drops entries and stays correct.
func TestCacheBoundedSizeStaysCorrect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := tenanttest.Get(t)
	proj := tenanttest.NewProject(t).Project
	m := identity.NewManager(env.DB, hash.MustNew(servertest.TestHashConfig), env.Config.SecretKeys()[0])
	c := identity.NewCache(env.Redis, env.Namespace, identity.CacheOptions{MaxEntries: 2, Logger: quiet()})
	m.UseCache(c)
	p := proc{m: m, cache: c}
	var ids []uuid.UUID
	var emails []string
	for k := range 3 {
		email := uniqueEmail(t, string(rune('a'+k)))
		i, err := m.Create(ctx, proj, createBody(t, `{"schema_id":"default","traits":{"email":"`+email+`"}}`), admin)
		if err != nil {
			t.Fatal(err)
		}
		ids, emails = append(ids, i.ID), append(emails, email)
	}
	for round := range 3 {
		for k, id := range ids {
			if got := p.get(t, proj, id).Traits["email"]; got != emails[k] {
				t.Fatalf("round %d, identity %d: email = %v, want %s", round, k, got, emails[k])
			}
		}
	}
	if hits, misses := c.Stats(); misses == 0 || hits+misses != 9 {
		t.Fatalf("hits %d, misses %d over 9 reads", hits, misses)
	}
}
