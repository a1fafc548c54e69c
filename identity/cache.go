package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Cache keeps admin identity reads (GET /admin/identities/{id}) in
// process memory, keyed by (project id, identity id), in front of
// Postgres. Several processes (API replicas, workers, the CLI) write
// identities, so an entry is served only after checking, in Redis, that no
// identity of its project changed since the entry was read:
//
//   - every project has an epoch (a random value) and a set of pending
//     writers in Redis;
//   - a writer adds itself to the pending set before its transaction can
//     commit, and after the transaction ends (committed or not) it
//     removes itself and sets a new epoch, in one script;
//   - a read fetches the epoch and the pending count with a Redis call
//     that STARTED after the request arrived (concurrent requests of a
//     project share one call, see state), then serves an entry only if
//     nobody is pending and the entry was filled under the same epoch. A
//     miss records the epoch fetched BEFORE its Postgres read, so an entry
//     read before a commit carries the old epoch and is refused once the
//     writer has bumped it; while anyone is pending nothing is stored or
//     served.
//
// A write is therefore visible to every process's next read as soon as
// the write returns, unlike a pub/sub notice, which can arrive after the
// next request. A pending mark expires after pendingHold (a writer that
// died), which is longer than the entry TTL, so an entry can never outlive
// a write whose epoch bump was lost. When Redis cannot be reached the
// cache steps aside: reads go to Postgres and nothing is stored. The one
// case the design cannot cover is a writer that cannot reach Redis while
// readers can: its change shows up elsewhere within the TTL.
type Cache struct {
	rdb redis.UniversalClient
	ns  string
	ttl time.Duration
	max int
	log *slog.Logger

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	batches map[uuid.UUID]*stateFetch

	downUntil atomic.Int64 // unix nanos: Redis failed, skip the cache until then
	hits      atomic.Int64
	misses    atomic.Int64
}

// CacheOptions tune a Cache. Zero values take the defaults.
type CacheOptions struct {
	// TTL bounds how long an entry lives (default 10 s).
	TTL time.Duration
	// MaxEntries bounds the entries kept (default 20,000; an entry holds
	// the decoded identity and its JSON, a few KiB).
	MaxEntries int
	Logger     *slog.Logger
}

// pendingHold is how long a writer's pending mark lasts at most. It must
// be longer than any entry TTL.
const pendingHold = 2 * time.Minute

// stateTimeout bounds the Redis call of a read; unavailableFor is how long
// the cache steps aside after a failed one.
const (
	stateTimeout   = 500 * time.Millisecond
	unavailableFor = time.Second
)

// NewCache returns a cache whose Redis keys start with namespace.
func NewCache(rdb redis.UniversalClient, namespace string, o CacheOptions) *Cache {
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	o.TTL = min(o.TTL, pendingHold/2)
	if o.MaxEntries <= 0 {
		o.MaxEntries = 20_000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Cache{rdb: rdb, ns: namespace, ttl: o.TTL, max: o.MaxEntries, log: o.Logger,
		entries: map[cacheKey]*cacheEntry{}, batches: map[uuid.UUID]*stateFetch{}}
}

// Stats returns how many reads were served from memory and how many went
// to Postgres.
func (c *Cache) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

type cacheKey struct{ project, identity uuid.UUID }

// cacheEntry is one identity as read from Postgres, with its admin JSON
// (no credential configs) for one base URL. Nothing in it is changed after
// it is stored.
type cacheEntry struct {
	epoch string
	until time.Time
	ident *Identity // credential configs included
	base  string
	body  []byte
}

// Keys of a project share its hash tag, so scripts touch one slot.
func (c *Cache) epochKey(project uuid.UUID) string {
	return c.ns + "lanyard:ident:{" + project.String() + "}:epoch"
}

func (c *Cache) pendingKey(project uuid.UUID) string {
	return c.ns + "lanyard:ident:{" + project.String() + "}:pending"
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stateScript drops expired pending marks and returns {epoch, pending},
// creating the epoch when there is none (a missing key must never equal an
// old value).
var stateScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local p = redis.call('ZCARD', KEYS[2])
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
end
return {e, p}
`)

// beginScript adds writer ARGV[1] to the pending set until ARGV[2] ms from now.
var beginScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// endScript removes writer ARGV[1] and sets the new epoch ARGV[2].
var endScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
return 1
`)

// projectState is what a read needs to know: the epoch, and whether a
// write is in progress.
type projectState struct {
	epoch   string
	pending bool
}

type stateFetch struct {
	inflight bool
	next     *stateBatch // waits for the in-flight call to end
}

type stateBatch struct {
	done chan struct{}
	st   projectState
	err  error
}

func (c *Cache) available() bool { return time.Now().UnixNano() >= c.downUntil.Load() }

func (c *Cache) failed(what string, err error) {
	c.downUntil.Store(time.Now().Add(unavailableFor).UnixNano())
	c.log.Warn("identity cache: Redis call failed; reading from Postgres", "op", what, "error", err.Error())
}

// state returns the project's state as read by a Redis call sent after
// the call to state began. One call per project is in flight at a time;
// callers that arrive during it form the next batch, sent when it
// returns, so at high concurrency a request costs a fraction of a round
// trip.
func (c *Cache) state(ctx context.Context, project uuid.UUID) (projectState, error) {
	c.mu.Lock()
	f := c.batches[project]
	if f == nil {
		f = &stateFetch{}
		c.batches[project] = f
	}
	if f.next == nil {
		f.next = &stateBatch{done: make(chan struct{})}
	}
	b := f.next
	if !f.inflight {
		f.inflight, f.next = true, nil
		go c.run(project, f, b)
	}
	c.mu.Unlock()
	select {
	case <-b.done:
		return b.st, b.err
	case <-ctx.Done():
		return projectState{}, ctx.Err()
	}
}

func (c *Cache) run(project uuid.UUID, f *stateFetch, b *stateBatch) {
	keys := []string{c.epochKey(project), c.pendingKey(project)}
	for b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
		res, err := stateScript.Run(ctx, c.rdb, keys, randomToken()).Slice()
		cancel()
		if err == nil && len(res) == 2 {
			e, _ := res[0].(string)
			n, _ := res[1].(int64)
			b.st = projectState{epoch: e, pending: n > 0}
		} else if err == nil {
			err = errUnexpectedReply
		}
		b.err = err
		close(b.done)
		c.mu.Lock()
		b, f.next = f.next, nil
		if b == nil {
			f.inflight = false
			delete(c.batches, project)
		}
		c.mu.Unlock()
	}
}

type cacheError string

func (e cacheError) Error() string { return string(e) }

const errUnexpectedReply = cacheError("identity cache: unexpected Redis reply")

func (c *Cache) lookup(k cacheKey, epoch string, now time.Time) *cacheEntry {
	c.mu.Lock()
	e := c.entries[k]
	c.mu.Unlock()
	if e == nil || e.epoch != epoch || !now.Before(e.until) {
		return nil
	}
	return e
}

// store keeps e under k. At the size bound it first drops the expired
// entries, and starts over when none had expired.
func (c *Cache) store(k cacheKey, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		now := time.Now()
		for key, old := range c.entries {
			if !now.Before(old.until) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[k] = e
}

// drop forgets this process's entries of the given identities.
func (c *Cache) drop(project uuid.UUID, ids []uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.entries, cacheKey{project, id})
	}
}

// writer is one write's pending mark.
type writer struct {
	c       *Cache
	project uuid.UUID
	token   string
	ids     []uuid.UUID
}

// begin marks a write of project as pending, before its transaction can
// commit. A failure is logged, not returned: the write goes on, and other
// processes see it within the TTL.
func (c *Cache) begin(ctx context.Context, project uuid.UUID, ids []uuid.UUID) *writer {
	w := &writer{c: c, project: project, token: randomToken(), ids: ids}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := beginScript.Run(ctx, c.rdb, []string{c.pendingKey(project)}, w.token, pendingHold.Milliseconds()).Err(); err != nil {
		c.log.Warn("identity cache: write not marked pending; other processes may serve the old identity for up to the TTL",
			"project_id", project.String(), "error", err.Error())
	}
	c.drop(project, ids)
	return w
}

// end closes the write after its transaction ended (committed or rolled
// back): it clears the pending mark and sets a new epoch, which refuses
// every entry of the project read before.
func (w *writer) end(ctx context.Context) {
	c := w.c
	c.drop(w.project, w.ids)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := endScript.Run(ctx, c.rdb, []string{c.epochKey(w.project), c.pendingKey(w.project)}, w.token, randomToken()).Err(); err != nil {
		// The mark lapses after pendingHold, longer than any entry lives:
		// until then the project is simply not cached.
		c.log.Warn("identity cache: write end not recorded; the project is read from Postgres until its mark lapses",
			"project_id", w.project.String(), "error", err.Error())
	}
}

// newEntry renders i (as read from Postgres, owned by the entry from now
// on) for baseURL without credential configs.
func newEntry(i *Identity, baseURL, epoch string, until time.Time) (*cacheEntry, error) {
	e := &cacheEntry{epoch: epoch, until: until, ident: i, base: baseURL}
	body, err := renderAdmin(i, baseURL, nil)
	if err != nil {
		return nil, err
	}
	e.body = body
	return e, nil
}

// render returns the admin JSON of the entry's identity for baseURL with
// the configs of the include credential types. Only a request with no
// include_credential gets the stored body, which has no configs.
func (e *cacheEntry) render(baseURL string, include []string) ([]byte, error) {
	if len(include) == 0 && baseURL == e.base {
		return e.body, nil
	}
	return renderAdmin(e.ident, baseURL, include)
}

// renderAdmin marshals a copy of i as the admin API shows it: schema_url
// under baseURL, configs only for the include types. i is not changed.
func renderAdmin(i *Identity, baseURL string, include []string) ([]byte, error) {
	cp := *i
	if i.Credentials != nil {
		cp.Credentials = make(map[string]*Credential, len(i.Credentials))
		for t, cr := range i.Credentials {
			cc := *cr
			cp.Credentials[t] = &cc
		}
	}
	cp.SchemaURL = SchemaURL(baseURL, cp.SchemaID)
	cp.StripCredentials(include)
	return json.Marshal(&cp)
}
