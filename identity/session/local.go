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
// its transaction commits, then a new value of the revocation sequence
// (one key for all projects), and does not return before EpochLease has
// passed since (Cache.invalidate).
//
// A request serves an entry only with an epoch confirmed less than
// EpochLease before the request: by its own GET, or by a read of the
// sequence that found the value read before that GET (epochRead.validAt).
// A revocation that returned before the request arrived set the epoch and
// the sequence more than EpochLease before it; a read that still saw the
// old value was answered before, so it was sent more than EpochLease
// before the request, and the request reads again. So a revocation is
// always seen by every request that arrives after it returned, in every
// process. Meanwhile a process spends one sequence read per EpochLease
// while nothing is revoked, however many projects it serves, and one
// epoch read per project and EpochLease when revocations are frequent.
//
// Requests that need a new read share it: a batch closes when its
// pipeline is sent, later arrivals wait for the next one.
type local struct {
	c   *Cache
	ttl time.Duration
	max int

	mu       sync.Mutex
	entries  map[string]localEntry
	epochs   map[uuid.UUID]epochRead   // the last epoch read, by project
	seq      string                    // the revocation sequence last read
	seqSent  time.Time                 // when the GET that read seq was sent
	pending  map[uuid.UUID]*epochBatch // the next pipeline, by project
	inflight bool                      // a pipeline is out
}

// EpochLease is how long an epoch read serves requests (see local), and
// how long a revocation waits after setting a new epoch before it returns.
const EpochLease = 20 * time.Millisecond

// epochRead is an epoch, when the GET that read it was sent, and the
// revocation sequence this process had read (and been answered) before
// that GET was sent.
type epochRead struct {
	value string
	sent  time.Time
	seq   string
}

// validAt reports whether r may serve a request that arrived at now, when
// the last sequence read is seq, sent at seqSent: its own GET was sent
// less than EpochLease ago, or the sequence read less than EpochLease ago
// is still the one read before its GET. A revocation sets the project's
// epoch and then a new sequence value, and returns EpochLease after that;
// if the sequence did not change between the two reads, any revocation of
// the project after r's GET set the sequence after the second read, so it
// returns after seqSent + EpochLease, after this request arrived.
func (r epochRead) validAt(now time.Time, seq string, seqSent time.Time) bool {
	return now.Sub(r.sent) < EpochLease || r.seq != "" && r.seq == seq && now.Sub(seqSent) < EpochLease
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

// seqKey is the revocation sequence: a random value that every revocation,
// in any project, replaces after setting the project's epoch. While it does
// not change, no epoch changed, so one read confirms the epochs of every
// project a process serves.
func (c *Cache) seqKey() string { return c.ns + "lanyard:sess:revseq" }

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

// epoch returns the project's epoch, valid for a request at now (see
// epochRead.validAt), reading it again when it is not. One pipeline is in
// flight at a time; callers that arrive during it join the next one, sent
// when it returns.
func (l *local) epoch(ctx context.Context, project uuid.UUID, now time.Time) (string, error) {
	l.mu.Lock()
	if r, ok := l.epochs[project]; ok && r.validAt(now, l.seq, l.seqSent) {
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

// run answers the pending callers and repeats while more arrived
// meanwhile. Each round is one pipeline: the revocation sequence, and the
// epochs of the pending projects that the sequence cannot confirm (no read
// yet, or read under another sequence). A project the new sequence does
// not confirm after all (a revocation happened somewhere) has its epoch
// read in a second round trip.
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
		known := l.seq
		var own []uuid.UUID // projects whose epoch this round reads
		for project := range batch {
			if r, ok := l.epochs[project]; !ok || r.seq == "" || r.seq != known {
				own = append(own, project)
			}
		}
		l.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		seq, sent, err := l.fetch(ctx, batch, own)
		var again []uuid.UUID
		l.mu.Lock()
		if err == nil {
			l.keep(batch, own, known, sent)
			l.seq, l.seqSent = seq, sent
			for project, b := range batch {
				if b.epoch != "" || b.err != nil {
					continue
				}
				if r := l.epochs[project]; r.seq != "" && r.seq == seq {
					b.epoch = r.value // confirmed by the sequence read just now
				} else {
					again = append(again, project)
				}
			}
		} else {
			for _, b := range batch {
				b.err = err
			}
		}
		l.mu.Unlock()
		if len(again) > 0 {
			_, sent, err := l.fetch(ctx, batch, again)
			l.mu.Lock()
			if err == nil {
				l.keep(batch, again, seq, sent)
			} else {
				for _, project := range again {
					batch[project].err = err
				}
			}
			l.mu.Unlock()
		}
		cancel()
		for _, b := range batch {
			close(b.done)
		}
	}
}

// keep records the epochs of projects read by a GET sent at sent, under
// the sequence seq known before it was sent. Call it with l.mu held.
func (l *local) keep(batch map[uuid.UUID]*epochBatch, projects []uuid.UUID, seq string, sent time.Time) {
	if len(l.epochs) >= l.max {
		clear(l.epochs)
	}
	for _, project := range projects {
		if b := batch[project]; b.err == nil {
			l.epochs[project] = epochRead{value: b.epoch, sent: sent, seq: seq}
		}
	}
}

// fetch reads the revocation sequence and the epochs of projects with
// plain GETs in one pipeline (a GET costs Redis far less than a script);
// the rare project without an epoch yet gets one from epochScript in a
// second round trip. It returns the sequence ("" when there is none yet)
// and when the pipeline was sent; per-project errors go to the batch.
func (l *local) fetch(ctx context.Context, batch map[uuid.UUID]*epochBatch, projects []uuid.UUID) (string, time.Time, error) {
	sent := time.Now()
	gets := make(map[uuid.UUID]*redis.StringCmd, len(projects))
	var seqCmd *redis.StringCmd
	_, err := l.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		seqCmd = p.Get(ctx, l.c.seqKey())
		for _, project := range projects {
			gets[project] = p.Get(ctx, l.c.epochKey(project))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", sent, err
	}
	seq, err := seqCmd.Result()
	if errors.Is(err, redis.Nil) { // no revocation yet: start the sequence
		seq, err = epochScript.Run(ctx, l.c.rdb, []string{l.c.seqKey()}, randomGen()).Text()
	}
	if err != nil {
		return "", sent, err
	}
	var missing []uuid.UUID
	for _, project := range projects {
		b := batch[project]
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
		return seq, sent, nil
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
	return seq, sent, nil
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
