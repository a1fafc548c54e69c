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
// its transaction commits. A request serves an entry only after reading the
// current epoch with a Redis GET that STARTED after the request arrived, so
// a revocation that returned before the request is always seen. Concurrent
// requests of one project share that GET (a batch closes when its GET is
// sent; later arrivals wait for the next one), and the GETs of all projects
// waiting at that moment go out in one pipeline, so at high concurrency the
// cost is a fraction of a round trip per request however many projects
// the requests are spread over.
type local struct {
	c   *Cache
	ttl time.Duration
	max int

	mu       sync.Mutex
	entries  map[string]localEntry
	pending  map[uuid.UUID]*epochBatch // the next pipeline, by project
	inflight bool                      // a pipeline is out
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
	return &local{c: c, ttl: ttl, max: max, entries: map[string]localEntry{}, pending: map[uuid.UUID]*epochBatch{}}
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
// One pipeline of GETs is in flight at a time; callers that arrive during
// it join the next one, sent when it returns.
func (l *local) epoch(ctx context.Context, project uuid.UUID) (string, error) {
	l.mu.Lock()
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
