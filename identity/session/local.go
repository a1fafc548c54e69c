package session

import (
	"context"
	"errors"
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
// its transaction commits, and does not return before EpochLease has
// passed since that MULTI was answered (Cache.invalidate).
//
// A request serves an entry only with an epoch read by a Redis GET that
// started less than EpochLease before the request. A revocation that
// returned before the request arrived set its epoch more than EpochLease
// before it; a GET that still read the old epoch was answered before the
// new one was set, so it started more than EpochLease before the request,
// and the request reads the epoch again. So a revocation is always seen by
// every request that arrives after it returned, in every process, while a
// busy project costs one epoch read per EpochLease per process instead of
// one per request.
//
// Requests that need a new read share it: a batch closes when its GET is
// sent, later arrivals wait for the next one, and the GETs of all projects
// waiting at that moment go out in one pipeline.
type local struct {
	c   *Cache
	ttl time.Duration
	max int

	mu       sync.Mutex
	entries  map[string]localEntry
	epochs   map[uuid.UUID]epochRead   // the last epoch read, by project
	pending  map[uuid.UUID]*epochBatch // the next pipeline, by project
	inflight bool                      // a pipeline is out
}

// EpochLease is how long an epoch read serves requests (see local), and
// how long a revocation waits after setting a new epoch before it returns.
const EpochLease = 20 * time.Millisecond

// epochRead is an epoch and when the GET that read it was sent.
type epochRead struct {
	value string
	sent  time.Time
}

type localEntry struct {
	entry
	epoch string
	until time.Time
}

type epochBatch struct {
	done  chan struct{}
	epoch string
	sent  time.Time
	err   error
}

func newLocal(c *Cache, ttl time.Duration, max int) *local {
	return &local{c: c, ttl: ttl, max: max, entries: map[string]localEntry{}, epochs: map[uuid.UUID]epochRead{},
		pending: map[uuid.UUID]*epochBatch{}}
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

// epoch returns the project's epoch as read by a GET sent less than
// EpochLease before the call (now), reading it again when the last read is
// older. One pipeline of GETs is in flight at a time; callers that arrive
// during it join the next one, sent when it returns.
func (l *local) epoch(ctx context.Context, project uuid.UUID, now time.Time) (string, error) {
	l.mu.Lock()
	if r, ok := l.epochs[project]; ok && now.Sub(r.sent) < EpochLease {
		l.mu.Unlock()
		return r.value, nil
	}
	b := l.pending[project]
	if b == nil {
		b = &epochBatch{done: make(chan struct{})}
		l.pending[project] = b
	}
	if !l.inflight {
		l.inflight = true
		go l.run()
	}
	l.mu.Unlock()
	select {
	case <-b.done:
		return b.epoch, b.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run sends the pending GETs as one pipeline, answers their waiters, and
// repeats while more arrived meanwhile.
func (l *local) run() {
	for {
		l.mu.Lock()
		batch := l.pending
		if len(batch) == 0 {
			l.inflight = false
			l.mu.Unlock()
			return
		}
		l.pending = map[uuid.UUID]*epochBatch{}
		l.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		l.fetch(ctx, batch)
		cancel()
		l.mu.Lock()
		if len(l.epochs) >= l.max {
			clear(l.epochs)
		}
		for project, b := range batch {
			if b.err == nil {
				if r, ok := l.epochs[project]; !ok || b.sent.After(r.sent) {
					l.epochs[project] = epochRead{value: b.epoch, sent: b.sent}
				}
			}
		}
		l.mu.Unlock()
		for _, b := range batch {
			close(b.done)
		}
	}
}

// fetch reads the epochs of batch with plain GETs in one pipeline (a GET
// costs Redis far less than a script, and a batch spread over many
// projects has one per project); the rare project without an epoch yet
// gets one from epochScript in a second round trip.
func (l *local) fetch(ctx context.Context, batch map[uuid.UUID]*epochBatch) {
	sent := time.Now()
	for _, b := range batch {
		b.sent = sent
	}
	gets := make(map[uuid.UUID]*redis.StringCmd, len(batch))
	_, err := l.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for project := range batch {
			gets[project] = p.Get(ctx, l.c.epochKey(project))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		for _, b := range batch {
			b.err = err
		}
		return
	}
	var missing []uuid.UUID
	for project, b := range batch {
		switch v, err := gets[project].Result(); {
		case err == nil:
			b.epoch = v
		case errors.Is(err, redis.Nil):
			missing = append(missing, project)
		default:
			b.err = err
		}
	}
	if len(missing) == 0 {
		return
	}
	evals := make(map[uuid.UUID]*redis.Cmd, len(missing))
	_, err = l.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, project := range missing {
			evals[project] = epochScript.Eval(ctx, p, []string{l.c.epochKey(project)}, randomGen())
		}
		return nil
	})
	for _, project := range missing {
		b := batch[project]
		if c := evals[project]; c != nil && c.Err() == nil {
			b.epoch, b.err = c.Text()
		} else if c != nil {
			b.err = c.Err()
		} else {
			b.err = err
		}
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
