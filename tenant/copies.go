package tenant

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Copies is a process's copy of one kind of per-project data that changes
// rarely and is read on every request (settings, identity schemas, mail
// templates), each copy at most ttl old. A change made by this process
// drops its copy (Drop, also once the change's transaction ended). While
// the process listens for change notices (ListenCopies), the change's
// commit also tells every other process, which drops its copies of that
// project, and a copy answers for CopiesListenedTTL; otherwise a change
// made by another process is seen within ttl.
//
// gen counts the drops: a read keeps what it read only if no drop
// happened since it began, so a read that raced a change never keeps the
// old values.
type Copies[T any] struct {
	mu  sync.Mutex
	m   map[uuid.UUID]projectCopy[T]
	gen uint64
	ttl time.Duration
}

type projectCopy[T any] struct {
	v  T
	at time.Time
}

// maxCopies bounds the copies of one kind; past it they are all dropped
// (the next reads fill it again).
const maxCopies = 50_000

// NewCopies returns an empty Copies whose copies answer for ttl.
func NewCopies[T any](ttl time.Duration) *Copies[T] {
	c := &Copies[T]{m: map[uuid.UUID]projectCopy[T]{}, ttl: ttl}
	allCopies.Lock()
	allCopies.drops = append(allCopies.drops, c)
	allCopies.Unlock()
	return c
}

// Get returns the project's copy if it is younger than the ttl.
func (c *Copies[T]) Get(project uuid.UUID) (T, bool) {
	ttl := c.ttl
	if copiesBus.Load() != nil {
		ttl = max(ttl, CopiesListenedTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[project]
	if !ok || time.Since(e.at) >= ttl {
		var zero T
		return zero, false
	}
	return e.v, true
}

// Begin starts a read: Keep stores its result only if no Drop happened
// in between.
func (c *Copies[T]) Begin() (gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, time.Now()
}

// Keep stores v, read from Postgres since Begin returned gen and at.
func (c *Copies[T]) Keep(project uuid.UUID, v T, gen uint64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= maxCopies {
		clear(c.m)
	}
	c.m[project] = projectCopy[T]{v: v, at: at}
}

// Drop forgets the project's copy and makes reads in flight not keep
// theirs.
func (c *Copies[T]) Drop(project uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, project)
}

// DropAt drops the project's copy now and again when tx ends: a read
// between the change and its commit still sees the old values and must
// not be kept.
func (c *Copies[T]) DropAt(tx Tx) {
	project := tx.Project().ID
	c.Drop(project)
	tx.OnEnd(func() {
		c.Drop(project)
		announceCopyChange(project)
	})
}

// Load returns the project's copy, or what read returns (kept as the new
// copy unless a Drop raced it).
func (c *Copies[T]) Load(project uuid.UUID, read func() (T, error)) (T, error) {
	if v, ok := c.Get(project); ok {
		return v, nil
	}
	gen, at := c.Begin()
	v, err := read()
	if err != nil {
		return v, err
	}
	c.Keep(project, v, gen, at)
	return v, nil
}

// dropper is a Copies of any kind, for the change notices.
type dropper interface {
	Drop(project uuid.UUID)
	dropAll()
}

func (c *Copies[T]) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// allCopies are the process's Copies, which a change notice drops.
var allCopies struct {
	sync.Mutex
	drops []dropper
}

func eachCopies(fn func(dropper)) {
	allCopies.Lock()
	drops := allCopies.drops
	allCopies.Unlock()
	for _, d := range drops {
		fn(d)
	}
}

// CopiesListenedTTL is how long a copy answers while the process listens
// for change notices: a notice that was lost (Redis failed between the
// commit and the publish) is made good within it.
const CopiesListenedTTL = time.Minute

// copiesBus is the channel of change notices while ListenCopies is
// subscribed to it; nil otherwise.
var copiesBus atomic.Pointer[RedisNotifier]

// announceCopyChange tells the other processes that a project's copied
// data changed.
func announceCopyChange(project uuid.UUID) {
	n := copiesBus.Load()
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.Notify(ctx, project.String()); err != nil {
		slog.Default().Warn("copied-data change notice not sent; other processes catch up within a minute",
			"project", project, "error", err)
	}
}

// ListenCopies subscribes to n's channel until ctx ends: each notice drops
// the named project's copies of every kind, and every change this process
// commits is announced there. While subscribed, copies answer for
// CopiesListenedTTL; every (re)subscription drops all copies, since
// notices may have been missed, and while the subscription cannot be made
// copies answer for their own, shorter ttl.
func ListenCopies(ctx context.Context, n RedisNotifier, log *slog.Logger) {
	n.listen(ctx, log, "copied-data change",
		func() {
			eachCopies(dropper.dropAll)
			copiesBus.Store(&n)
		},
		func(m *redis.Message) {
			if id, err := uuid.Parse(m.Payload); err == nil {
				eachCopies(func(d dropper) { d.Drop(id) })
			}
		},
		func() { copiesBus.Store(nil) })
}
