package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/tenant"
)

// Cache is the whoami cache in Redis: the rendered session body by token
// hash, namespaced by project, in front of Postgres.
//
// Correctness (no stale "active" after a revocation) rests on a
// per-identity generation key:
//
//   - an entry records the generation of its identity read BEFORE the
//     filler loaded the session from Postgres, and is written while the
//     filler still holds a share lock on the session and identity rows;
//   - every revocation (logout, admin disable, identity deactivation or
//     deletion through RevokeIdentitySessions) updates the session rows and
//     then sets a new random generation, before its transaction commits;
//   - a read serves an entry only if its generation equals the current one
//     (and the key exists).
//
// A filler that read the generation before the bump wrote a stale
// generation, so its entry is refused; a filler that read it after the
// bump ran its SELECT after the revoker's UPDATE, so the share lock made
// it wait for the commit and it saw the revocation. A missing generation
// key (expired or evicted) refuses every entry of that identity, so the
// failure direction is "go to Postgres", never "serve stale".
type Cache struct {
	rdb   redis.UniversalClient
	ns    string
	ttl   time.Duration
	local *local // nil: no in-process layer
}

// WithLocal adds the in-process layer (see local.go): entries live at most
// ttl and at most max of them are kept. It returns c.
func (c *Cache) WithLocal(ttl time.Duration, max int) *Cache {
	c.local = newLocal(c, ttl, max)
	return c
}

// NewCache returns a cache over rdb whose keys start with namespace; ttl
// bounds how long an entry lives (0 means 10 minutes).
func NewCache(rdb redis.UniversalClient, namespace string, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	return &Cache{rdb: rdb, ns: namespace, ttl: ttl}
}

// Keys share the project's hash tag so that scripts touch one slot.
func (c *Cache) prefix(project uuid.UUID) string {
	return c.ns + "lanyard:sess:{" + project.String() + "}:"
}

func (c *Cache) entryKey(project uuid.UUID, tokenHash []byte, baseURL string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(baseURL))
	return c.prefix(project) + "t:" + hex.EncodeToString(tokenHash) + ":" + strconv.FormatUint(uint64(h.Sum32()), 36)
}

func (c *Cache) genKey(project, identity uuid.UUID) string {
	return c.prefix(project) + "g:" + identity.String()
}

// entry is a cached whoami answer.
type entry struct {
	Body         []byte
	IdentityID   string
	ExpiresAt    time.Time
	RefreshAfter time.Time // zero: never (no sliding)
}

// readScript returns {expires_ms, refresh_ms, body, identity} or nil when
// the entry is absent or its generation is not the current one.
var readScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'i', 'g', 'e', 'r', 'b')
if not v[1] then return false end
local g = redis.call('GET', ARGV[1] .. v[1])
if (not g) or g ~= v[2] then
  redis.call('DEL', KEYS[1])
  return false
end
return {v[3], v[4], v[5], v[1]}
`)

// get returns the entry, or ok=false on a miss.
func (c *Cache) get(ctx context.Context, project uuid.UUID, tokenHash []byte, baseURL string) (entry, bool, error) {
	res, err := readScript.Run(ctx, c.rdb, []string{c.entryKey(project, tokenHash, baseURL)}, c.prefix(project)+"g:").Slice()
	if err == redis.Nil {
		return entry{}, false, nil
	}
	if err != nil || len(res) != 4 {
		return entry{}, false, err
	}
	e := entry{}
	exp, _ := strconv.ParseInt(asString(res[0]), 10, 64)
	ref, _ := strconv.ParseInt(asString(res[1]), 10, 64)
	e.ExpiresAt = time.UnixMilli(exp)
	if ref > 0 {
		e.RefreshAfter = time.UnixMilli(ref)
	}
	e.Body = []byte(asString(res[2]))
	e.IdentityID = asString(res[3])
	return e, true, nil
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// genScript returns the current generation of an identity, creating one if
// there is none, and keeps it alive at least as long as any entry.
var genScript = redis.NewScript(`
local g = redis.call('GET', KEYS[1])
if not g then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  g = redis.call('GET', KEYS[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return g
`)

func randomGen() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// generation reads (or starts) the identity's generation. Call it before
// loading the session from Postgres.
func (c *Cache) generation(ctx context.Context, project, identity uuid.UUID) (string, error) {
	return genScript.Run(ctx, c.rdb, []string{c.genKey(project, identity)}, randomGen(), (2 * c.ttl).Milliseconds()).Text()
}

// put stores an entry made under generation gen.
func (c *Cache) put(ctx context.Context, project uuid.UUID, tokenHash []byte, baseURL, gen string, e entry, now time.Time) error {
	ttl := min(e.ExpiresAt.Sub(now), c.ttl)
	if ttl <= 0 {
		return nil
	}
	var ref int64
	if !e.RefreshAfter.IsZero() {
		ref = e.RefreshAfter.UnixMilli()
	}
	key := c.entryKey(project, tokenHash, baseURL)
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "i", e.IdentityID, "g", gen, "e", e.ExpiresAt.UnixMilli(), "r", ref, "b", e.Body)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	return err
}

// invalidate gives each identity a new generation, which refuses all of
// its entries (the next read of each deletes it), and the project a new
// epoch, which refuses every in-process entry of the project, atomically.
// Call it inside the revoking transaction, after the UPDATE and before the
// commit; an error must roll the revocation back. The transaction ends no
// sooner than EpochLease after the new epoch was set, so that no process
// serves the old epoch to a request that arrives after the revocation
// returned (see local).
func (c *Cache) invalidate(ctx context.Context, tx tenant.Tx, r revoked) error {
	if len(r.identities) == 0 {
		return nil
	}
	project := tx.Project().ID
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for id := range r.identities {
			p.Set(ctx, c.genKey(project, id), randomGen(), 2*c.ttl)
		}
		p.Set(ctx, c.epochKey(project), randomGen(), 0)
		return nil
	})
	if err != nil {
		return err
	}
	// Then the revocation sequence (another key, perhaps on another node
	// of a cluster: after the epoch, never with it; see local).
	if err := c.rdb.Set(ctx, c.seqKey(), randomGen(), 0).Err(); err != nil {
		return err
	}
	set := time.Now()
	wait := func() {
		if d := EpochLease - time.Since(set); d > 0 {
			time.Sleep(d)
		}
	}
	if !tx.OnEnd(wait) {
		wait()
	}
	return nil
}

// NewDefaultCache is the cache the roles use: Redis entries for up to 10
// minutes and an in-process layer of 2 s and 100,000 entries.
func NewDefaultCache(rdb redis.UniversalClient, namespace string) *Cache {
	return NewCache(rdb, namespace, 0).WithLocal(2*time.Second, 100_000)
}
