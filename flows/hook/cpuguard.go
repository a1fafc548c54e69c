package hook

import (
	"sync"
	"time"
)

// cpuGuard calls fire once the thread that made it has used limit of CPU
// time. CPU time never runs ahead of wall time, so the guard sleeps until
// the earliest moment the limit could be reached, reads the thread's clock
// and sleeps again for what is left; a run shorter than its limit costs
// one clock read and a timer. Where no thread clock is available it fires
// at limit of wall time.
type cpuGuard struct {
	mu   sync.Mutex
	t    *time.Timer
	done bool
}

// minRecheck bounds how often the guard reads the clock near the limit.
const minRecheck = time.Millisecond

// newCPUGuard must be called on the goroutine being measured, locked to its
// thread (runtime.LockOSThread) for as long as the guard runs.
func newCPUGuard(limit time.Duration, fire func()) *cpuGuard {
	g := &cpuGuard{}
	clock := threadClock()
	var base time.Duration
	ok := clock != nil
	if ok {
		base, ok = clock()
	}
	if !ok {
		g.t = time.AfterFunc(limit, fire)
		return g
	}
	var check func()
	check = func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.done {
			return
		}
		now, ok := clock()
		if used := now - base; ok && used < limit {
			g.t = time.AfterFunc(max(limit-used, minRecheck), check)
			return
		}
		g.done = true
		fire()
	}
	g.t = time.AfterFunc(limit, check)
	return g
}

func (g *cpuGuard) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = true
	g.t.Stop()
}
