package courier

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
)

// SendLimitsKey is the project setting holding SendLimits.
const SendLimitsKey = "courier_limits"

// DefaultPerRecipientPerHour is the delivery cap per recipient and hour
// of a project that set none.
const DefaultPerRecipientPerHour = 30

// SendLimits are a project's delivery caps. A message over a cap is not
// dropped: it stays queued, a dispatch records the delay and its reason in
// the courier log, and it goes out when the cap allows.
type SendLimits struct {
	// PerRecipientPerHour caps the mails delivered to one address in an
	// hour (DefaultPerRecipientPerHour when zero).
	PerRecipientPerHour int `json:"per_recipient_per_hour,omitempty"`
}

// perRecipient is the limit of one recipient.
func (l SendLimits) perRecipient() ratelimit.Limit {
	n := l.PerRecipientPerHour
	if n <= 0 {
		n = DefaultPerRecipientPerHour
	}
	return ratelimit.Limit{Rate: n, Period: time.Hour, Burst: n}
}

// LoadSendLimits reads the project's caps in tx (the defaults when unset).
func LoadSendLimits(ctx context.Context, tx tenant.Tx) (SendLimits, error) {
	var l SendLimits
	if _, err := tenant.LoadSetting(ctx, tx, SendLimitsKey, &l); err != nil {
		return SendLimits{}, fmt.Errorf("courier.LoadSendLimits: %w", err)
	}
	return l, nil
}

// SaveSendLimits validates and stores the project's caps in tx; errx.Invalid
// for a cap outside 1..10000.
func SaveSendLimits(ctx context.Context, tx tenant.Tx, l SendLimits) error {
	if l.PerRecipientPerHour < 0 || l.PerRecipientPerHour > 10000 {
		return errx.New(errx.Invalid, "per_recipient_per_hour must be between 1 and 10000 (0 for the default).")
	}
	if err := tenant.SaveSetting(ctx, tx, SendLimitsKey, l); err != nil {
		return fmt.Errorf("courier.SaveSendLimits: %w", err)
	}
	return nil
}

// errDelayed is the dispatch error of a message held back by a cap.
type errDelayed struct {
	limit ratelimit.Limit
	wait  time.Duration
}

func (e errDelayed) Error() string {
	return fmt.Sprintf("delayed, not sent: the project's limit of %d mails per hour to this recipient was reached; next attempt in about %s",
		e.limit.Rate, e.wait.Round(time.Second))
}

// checkLimit says how long a message to recipient must wait under the
// project's caps (0: send now), without counting it: only delivered mail
// counts (countSent). Redis failures let the mail go (delivery wins over
// the cap while Redis is away). Workers racing for one recipient may
// overshoot the cap by their number.
func (s *Service) checkLimit(ctx context.Context, p *tenant.Project, recipient string, l SendLimits) (time.Duration, ratelimit.Limit) {
	lim := l.perRecipient()
	if s.o.Limiter == nil {
		return 0, lim
	}
	// Peek tells whether the limiter is within its burst; whether one more
	// mail fits is that question with a burst one smaller. A cap of one
	// per hour is counted at the attempt instead.
	var (
		res ratelimit.Result
		err error
	)
	if lim.Burst > 1 {
		res, err = s.o.Limiter.Peek(ctx, p.ID, "courier:recipient", strings.ToLower(recipient),
			ratelimit.Limit{Rate: lim.Rate, Period: lim.Period, Burst: lim.Burst - 1})
	} else {
		res, err = s.o.Limiter.Allow(ctx, p.ID, "courier:recipient", strings.ToLower(recipient), lim)
	}
	if err != nil {
		s.o.Logger.Warn("send limit check failed; sending", "project_id", p.ID, "error", err.Error())
		return 0, lim
	}
	if res.Allowed {
		return 0, lim
	}
	return max(res.RetryAfter, time.Second), lim
}

// countSent counts a delivered mail against the recipient's cap.
func (s *Service) countSent(ctx context.Context, p *tenant.Project, recipient string, lim ratelimit.Limit) {
	if s.o.Limiter == nil || lim.Burst <= 1 {
		return // counted at the attempt
	}
	if _, err := s.o.Limiter.Allow(ctx, p.ID, "courier:recipient", strings.ToLower(recipient), lim); err != nil {
		s.o.Logger.Warn("send limit not counted", "project_id", p.ID, "error", err.Error())
	}
}

// limiters shares one Redis client per URL between the Services of a
// process.
var limiters sync.Map // redis URL + namespace → *ratelimit.Limiter

func limiterFor(url, namespace string) (*ratelimit.Limiter, error) {
	if url == "" {
		return nil, nil
	}
	if l, ok := limiters.Load(url + "\x00" + namespace); ok {
		return l.(*ratelimit.Limiter), nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("LANYARD_REDIS_URL: %w", err)
	}
	l, _ := limiters.LoadOrStore(url+"\x00"+namespace, ratelimit.New(redis.NewClient(opt), namespace))
	return l.(*ratelimit.Limiter), nil
}
