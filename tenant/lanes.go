package tenant

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LaneSize is the number of connections of one lane (see OpenLanes).
const LaneSize = 2

// lanes share one cell's connections among projects so that each project
// keeps to a few of them. Postgres caches, per connection, the catalog
// entries of every table and index a statement touched and the plans of
// its prepared statements; a plan is analysed again whenever the schema
// it last ran in differs. With every connection serving every project, a
// request of one of many busy projects almost always lands on a
// connection that has not seen its schema lately: it pays for the catalog
// loads, and every connection's caches grow with the number of projects.
// A project has a home lane (a hash of its schema name) and takes its
// connections there; when the home lane is busy it spills to the next
// lanes, so a single busy project still gets every connection.
//
// A token per connection bounds what is in use: holding one, a lane with
// room exists, so taking a connection never waits on a busy lane while
// another has room.
type lanes struct {
	pools  []*pgxpool.Pool
	size   []int32
	tokens chan struct{}
	mu     sync.Mutex
	inUse  []int32
}

func newLanes(pools []*pgxpool.Pool) *lanes {
	l := &lanes{pools: pools, size: make([]int32, len(pools)), inUse: make([]int32, len(pools))}
	total := 0
	for i, p := range pools {
		l.size[i] = p.Config().MaxConns
		total += int(l.size[i])
	}
	l.tokens = make(chan struct{}, total)
	return l
}

// total is the number of connections of all lanes.
func (l *lanes) total() int { return cap(l.tokens) }

// home is the lane a schema prefers.
func (l *lanes) home(schema string) int {
	if len(l.pools) == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(schema))
	return int(h.Sum32() % uint32(len(l.pools)))
}

// lease is a connection taken from a lane; Release gives it back.
type lease struct {
	pc   *pgxpool.Conn
	l    *lanes
	lane int
}

// Conn is the leased connection.
func (c *lease) Conn() *pgx.Conn { return c.pc.Conn() }

// Release returns the connection to its lane.
func (c *lease) Release() {
	c.pc.Release()
	c.l.mu.Lock()
	c.l.inUse[c.lane]--
	c.l.mu.Unlock()
	<-c.l.tokens
}

// acquire takes a connection for schema: from its home lane when that
// has room, else from the next lane that has.
func (l *lanes) acquire(ctx context.Context, schema string) (*lease, error) {
	select {
	case l.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("tenant: acquire connection: %w", ctx.Err())
	}
	h := l.home(schema)
	l.mu.Lock()
	lane := h
	for i := range l.pools {
		if j := (h + i) % len(l.pools); l.inUse[j] < l.size[j] {
			lane = j
			break
		}
	}
	l.inUse[lane]++
	l.mu.Unlock()
	pc, err := l.pools[lane].Acquire(ctx)
	if err != nil {
		l.mu.Lock()
		l.inUse[lane]--
		l.mu.Unlock()
		<-l.tokens
		return nil, fmt.Errorf("tenant: acquire connection: %w", err)
	}
	return &lease{pc: pc, l: l, lane: lane}, nil
}

// OpenLanes opens total connections' worth of lanes of LaneSize
// connections each (the last one takes what is left over), configured as
// cfg, for NewDB. The caller closes them.
func OpenLanes(ctx context.Context, cfg *pgxpool.Config, total int32) ([]*pgxpool.Pool, error) {
	if total < 1 {
		return nil, fmt.Errorf("tenant: lanes need at least one connection, got %d", total)
	}
	n := max(1, total/LaneSize)
	pools := make([]*pgxpool.Pool, 0, n)
	for i := range n {
		c := cfg.Copy()
		c.MaxConns = LaneSize
		if i == n-1 {
			c.MaxConns = total - LaneSize*(n-1)
		}
		c.MinConns = 0
		p, err := pgxpool.NewWithConfig(ctx, c)
		if err != nil {
			for _, p := range pools {
				p.Close()
			}
			return nil, err
		}
		pools = append(pools, p)
	}
	return pools, nil
}
