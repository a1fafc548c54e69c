package session

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// local is the very short in-process whoami cache in front of Redis.
//
// An entry records the project's revocation epoch read before the entry's
// data was read (from the Redis entry or from Postgres). Every revocation
// sets a new epoch in the same MULTI as the identity generation, before
// its transaction commits. A request serves an entry only after reading the
// current epoch with a Redis GET that STARTED after the request arrived, so
// a revocation that returned before the request is always seen. Concurrent
// requests of one project share that GET (a batch closes when its GET is
// sent; later arrivals wait for the next one), so at high concurrency the
// cost is a fraction of a round trip per request.
type local struct {
	c   *Cache
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]localEntry
	batches map[uuid.UUID]*projectEpoch
}

type projectEpoch struct {
	inflight bool
	next     *epochBatch // the batch waiting for the in-flight GET to end
}

type localEntry struct {
	entry
	epoch string
	until time.Time
}

type epochBatch struct {
	done  chan struct{}
	epoch string
	err   error
}

func newLocal(c *Cache, ttl time.Duration, max int) *local {
	return &local{c: c, ttl: ttl, max: max, entries: map[string]localEntry{}, batches: map[uuid.UUID]*projectEpoch{}}
}

func (c *Cache) epochKey(project uuid.UUID) string { return c.prefix(project) + "epoch" }

// epochScript returns the project's epoch, creating one when there is none
// (a missing key must never equal an old value).
var epochScript = redis.NewScript(`
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  e = redis.call('GET', KEYS[1])
end
return e
`)

// epoch returns the project's epoch as read by a GET sent after the call.
// One GET per project is in flight at a time; callers that arrive during it
// form the next batch, sent when it returns.
func (l *local) epoch(ctx context.Context, project uuid.UUID) (string, error) {
	l.mu.Lock()
	st := l.batches[project]
	if st == nil {
		st = &projectEpoch{}
		l.batches[project] = st
	}
	if st.next == nil {
		st.next = &epochBatch{done: make(chan struct{})}
	}
	b := st.next
	if !st.inflight {
		st.inflight, st.next = true, nil
		go l.run(project, st, b)
	}
	l.mu.Unlock()
	select {
	case <-b.done:
		return b.epoch, b.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (l *local) run(project uuid.UUID, st *projectEpoch, b *epochBatch) {
	for b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		b.epoch, b.err = epochScript.Run(ctx, l.c.rdb, []string{l.c.epochKey(project)}, randomGen()).Text()
		cancel()
		close(b.done)
		l.mu.Lock()
		b, st.next = st.next, nil
		if b == nil {
			st.inflight = false
			delete(l.batches, project)
		}
		l.mu.Unlock()
	}
}

func (l *local) get(key string, epoch string, now time.Time) (entry, bool) {
	l.mu.Lock()
	e, ok := l.entries[key]
	l.mu.Unlock()
	if !ok || e.epoch != epoch || !now.Before(e.until) {
		return entry{}, false
	}
	return e.entry, true
}

func (l *local) put(key, epoch string, e entry, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= l.max {
		clear(l.entries)
	}
	l.entries[key] = localEntry{entry: e, epoch: epoch, until: now.Add(l.ttl)}
}
