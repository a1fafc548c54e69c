package tenant

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Notifier tells every Lanyard process that projects changed (created,
// deleted, domain added), so that their lookup caches drop stale entries.
type Notifier interface {
	Notify(ctx context.Context, slug string) error
}

// projectCache keeps project lookups in memory. Entries live for ttl, or
// until a change notice (from this process or another) clears the cache;
// misses are kept only briefly, so a new project is reachable at once
// here and within missTTL elsewhere even if a notice is lost.
//
// A hit in the second half of its life is answered from memory while one
// background load refreshes it, so that under steady traffic no request
// waits for Postgres when an entry ages out. A refresh stores its answer
// only if no change notice arrived since it started (gen).
type projectCache struct {
	mu       sync.RWMutex
	gen      uint64 // incremented by every clear
	entries  map[string]cacheEntry
	ttl      time.Duration
	missTTL  time.Duration
	notifier Notifier
	maxSize  int
	// keys are cleared with the projects: a revocation is a change too.
	keys *keyCache
}

type cacheEntry struct {
	p          *Project
	expires    time.Time
	refreshing *atomic.Bool
}

func newProjectCache(ttl time.Duration, n Notifier) *projectCache {
	return &projectCache{entries: map[string]cacheEntry{}, ttl: ttl, missTTL: time.Second, notifier: n, maxSize: 100_000, keys: newKeyCache(ttl)}
}

func (c *projectCache) get(ctx context.Context, key string, load func(context.Context) (*Project, error)) (*Project, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.p == nil {
			return nil, errProjectNotFound
		}
		if now.After(e.expires.Add(-c.ttl/2)) && e.refreshing.CompareAndSwap(false, true) {
			go func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				p, err := load(ctx)
				if err != nil && !errx.Has(err, errx.NotFound) {
					e.refreshing.Store(false) // the next hit tries again
					return
				}
				c.store(key, p, gen, time.Now())
			}()
		}
		return e.p, nil
	}
	p, err := load(ctx)
	if err != nil && !errx.Has(err, errx.NotFound) {
		return nil, err
	}
	c.store(key, p, gen, now)
	return p, err
}

// store keeps p (nil: not found) under key, unless the cache was cleared
// since gen was read.
func (c *projectCache) store(key string, p *Project, gen uint64, now time.Time) {
	ttl := c.ttl
	if p == nil {
		ttl = c.missTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= c.maxSize {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[key] = cacheEntry{p: p, expires: now.Add(ttl), refreshing: &atomic.Bool{}}
}

func (c *projectCache) clear() {
	c.mu.Lock()
	c.entries = map[string]cacheEntry{}
	c.gen++
	c.mu.Unlock()
	c.keys.clear()
}

// changed clears this process's cache and tells the others.
func (c *projectCache) changed(ctx context.Context, slug string) {
	c.clear()
	if c.notifier != nil {
		if err := c.notifier.Notify(ctx, slug); err != nil {
			slog.Default().Warn("project change notice not sent; other processes catch up by TTL", "error", err)
		}
	}
}

// RedisNotifier publishes project changes on a Redis channel.
type RedisNotifier struct {
	Client  redis.UniversalClient
	Channel string
}

// Notify publishes slug on the channel.
func (n RedisNotifier) Notify(ctx context.Context, slug string) error {
	return n.Client.Publish(ctx, n.Channel, slug).Err()
}

// Listen clears the registry's cache whenever a change notice arrives on
// the notifier's channel, until ctx ends. It resubscribes after errors and
// clears the cache on every (re)subscription, since notices may have been
// missed while disconnected.
func (r *Registry) Listen(ctx context.Context, n RedisNotifier) {
	n.listen(ctx, r.log, "project change", func() { r.cache.clear() }, func(*redis.Message) { r.cache.clear() }, func() {})
}

// listen keeps a subscription to n's channel until ctx ends, retrying
// every 2 s while it cannot be made. subscribed runs on every
// (re)subscription, including the ones go-redis makes by itself after a
// network error (notices may have been missed meanwhile), message on
// every notice, and unsubscribed when a subscription ends.
func (n RedisNotifier) listen(ctx context.Context, log *slog.Logger, what string, subscribed func(), message func(*redis.Message), unsubscribed func()) {
	for ctx.Err() == nil {
		sub := n.Client.Subscribe(ctx, n.Channel)
		if _, err := sub.Receive(ctx); err != nil {
			_ = sub.Close()
			if !errors.Is(err, context.Canceled) {
				log.Warn(what+" subscription failed; retrying", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		subscribed()
		ch := sub.ChannelWithSubscriptions()
		for open := true; open; {
			select {
			case <-ctx.Done():
				open = false
			case m, ok := <-ch:
				if !ok {
					open = false
					break
				}
				switch m := m.(type) {
				case *redis.Subscription:
					subscribed()
				case *redis.Message:
					message(m)
				}
			}
		}
		unsubscribed()
		_ = sub.Close()
	}
}
