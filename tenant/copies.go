package tenant

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// Copies is a process's copy of one kind of per-project data that changes
// rarely and is read on every request (settings, identity schemas, mail
// templates), each copy at most ttl old. A change made by this process
// drops its copy (Drop, also once the change's transaction ended); a
// change made by another process is seen within ttl.
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
	return &Copies[T]{m: map[uuid.UUID]projectCopy[T]{}, ttl: ttl}
}

// Get returns the project's copy if it is younger than the ttl.
func (c *Copies[T]) Get(project uuid.UUID) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[project]
	if !ok || time.Since(e.at) >= c.ttl {
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
	tx.OnEnd(func() { c.Drop(project) })
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
