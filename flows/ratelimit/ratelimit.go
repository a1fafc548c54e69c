// Package ratelimit is Lanyard's brute-force protection: GCRA limiters in
// Redis (one atomic script per check), per project and per key (an IP, an
// identifier), used by login, registration, recovery, verification and code
// entry.
//
// Keys are namespaced by deployment and project and hashed, so no
// identifier or address is stored in Redis in clear.
//
// Errors: Allow returns Redis errors as they come; callers decide whether
// to fail open. Error turns a denial into errx.TooMany for the 429
// envelope; RetryAfterHeader gives the header value.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Limit is Rate events per Period with bursts of up to Burst.
type Limit struct {
	Rate   int           `json:"rate"`
	Period time.Duration `json:"period"`
	Burst  int           `json:"burst"`
}

// PerMinute is rate per minute with the same burst.
func PerMinute(rate int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: rate} }

// Valid reports whether l can be used.
func (l Limit) Valid() bool { return l.Rate > 0 && l.Period > 0 && l.Burst > 0 }

// Result is one decision.
type Result struct {
	Allowed   bool
	Remaining int
	// RetryAfter is how long until the next event is allowed (denials).
	RetryAfter time.Duration
	// ResetAfter is how long until the limiter is back to a full burst.
	ResetAfter time.Duration
}

// Limiter checks limits in Redis.
type Limiter struct {
	rdb redis.UniversalClient
	ns  string
}

// New returns a limiter whose keys start with namespace.
func New(rdb redis.UniversalClient, namespace string) *Limiter {
	return &Limiter{rdb: rdb, ns: namespace}
}

// Key identifies what is limited: a scope ("login:ip", "login:identifier")
// and a value (the IP, the normalised identifier).
func (l *Limiter) key(project uuid.UUID, scope, value string) string {
	h := sha256.Sum256([]byte(value))
	return l.ns + "lanyard:rl:{" + project.String() + "}:" + scope + ":" + hex.EncodeToString(h[:16])
}

// gcra is the generic cell rate algorithm: the key holds the theoretical
// arrival time (ms); an event is allowed while it is at most a burst ahead
// of now. Times come from the Redis server, so clocks of API processes do
// not matter.
var gcra = redis.NewScript(`
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = period / rate
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
local diff = now - (new_tat - interval * burst)
if diff < 0 then
  return {0, 0, tostring(-diff), tostring(tat - now)}
end
local reset = new_tat - now
if cost > 0 and reset > 0 then
  redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(reset))
end
return {1, math.floor(diff / interval), '-1', tostring(reset)}
`)

// Allow records one event against the limit and says whether it may
// proceed.
func (l *Limiter) Allow(ctx context.Context, project uuid.UUID, scope, value string, lim Limit) (Result, error) {
	return l.allowN(ctx, project, scope, value, lim, 1)
}

// Peek says whether an event would be allowed, without recording it.
func (l *Limiter) Peek(ctx context.Context, project uuid.UUID, scope, value string, lim Limit) (Result, error) {
	return l.allowN(ctx, project, scope, value, lim, 0)
}

func (l *Limiter) allowN(ctx context.Context, project uuid.UUID, scope, value string, lim Limit, cost int) (Result, error) {
	if !lim.Valid() {
		return Result{}, fmt.Errorf("ratelimit: invalid limit %+v", lim)
	}
	res, err := gcra.Run(ctx, l.rdb, []string{l.key(project, scope, value)},
		lim.Burst, lim.Rate, lim.Period.Milliseconds(), cost).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: %w", err)
	}
	if len(res) != 4 {
		return Result{}, fmt.Errorf("ratelimit: unexpected reply %v", res)
	}
	allowed, _ := res[0].(int64)
	remaining, _ := res[1].(int64)
	r := Result{Allowed: allowed == 1, Remaining: int(remaining), ResetAfter: ms(res[3])}
	if !r.Allowed {
		r.RetryAfter = ms(res[2])
	}
	return r, nil
}

func ms(v any) time.Duration {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return time.Duration(f * float64(time.Millisecond))
}

// Reset forgets a key (e.g. the identifier's failures after a successful
// login).
func (l *Limiter) Reset(ctx context.Context, project uuid.UUID, scope, value string) error {
	return l.rdb.Del(ctx, l.key(project, scope, value)).Err()
}

// RetryAfterHeader is the Retry-After value (whole seconds, at least 1).
func RetryAfterHeader(r Result) string {
	return strconv.Itoa(max(1, int(math.Ceil(r.RetryAfter.Seconds()))))
}

// ErrTooMany is the id of the 429 envelope.
const ErrTooMany = "self_service_rate_limited"

// Error is the 429 for a denial; details.retry_after_seconds says when to
// retry (the handler also sets Retry-After).
func Error(r Result, what string) *errx.Error {
	what = strings.TrimSpace(what)
	if what == "" {
		what = "attempts"
	}
	return errx.Newf(errx.TooMany, "Too many %s. Please wait %s before trying again.", what, RetryAfterHeader(r)+"s").
		WithID(ErrTooMany).WithDetails(map[string]any{"retry_after_seconds": max(1, int(math.Ceil(r.RetryAfter.Seconds())))})
}
