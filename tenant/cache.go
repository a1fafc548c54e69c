package tenant

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
type projectCache struct {
	mu       sync.RWMutex
	entries  map[string]cacheEntry
	ttl      time.Duration
	missTTL  time.Duration
	notifier Notifier
	maxSize  int
	// keys are cleared with the projects: a revocation is a change too.
	keys *keyCache
}

type cacheEntry struct {
	p       *Project
	expires time.Time
}

func newProjectCache(ttl time.Duration, n Notifier) *projectCache {
	return &projectCache{entries: map[string]cacheEntry{}, ttl: ttl, missTTL: time.Second, notifier: n, maxSize: 100_000, keys: newKeyCache(ttl)}
}

func (c *projectCache) get(ctx context.Context, key string, load func(context.Context) (*Project, error)) (*Project, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		if e.p == nil {
			return nil, errProjectNotFound
		}
		return e.p, nil
	}
	p, err := load(ctx)
	if err != nil && !errx.Has(err, errx.NotFound) {
		return nil, err
	}
	ttl := c.ttl
	if p == nil {
		ttl = c.missTTL
	}
	c.mu.Lock()
	if len(c.entries) >= c.maxSize {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[key] = cacheEntry{p: p, expires: now.Add(ttl)}
	c.mu.Unlock()
	return p, err
}

func (c *projectCache) clear() {
	c.mu.Lock()
	c.entries = map[string]cacheEntry{}
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
	for ctx.Err() == nil {
		sub := n.Client.Subscribe(ctx, n.Channel)
		if _, err := sub.Receive(ctx); err != nil {
			_ = sub.Close()
			if !errors.Is(err, context.Canceled) {
				r.log.Warn("project change subscription failed; retrying", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		r.cache.clear()
		ch := sub.Channel()
		for open := true; open; {
			select {
			case <-ctx.Done():
				open = false
			case _, ok := <-ch:
				if !ok {
					open = false
					break
				}
				r.cache.clear()
			}
		}
		_ = sub.Close()
	}
}
