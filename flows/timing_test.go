package flows_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func median[T time.Duration | float64](d []T) T {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestLoginEnumerationTiming: a password login with an unknown identifier
// takes as long as one with a known identifier and a wrong password (the
// medians are within 10% in one of up to 5 rounds of 25 pairs), at the
// production argon2id parameters. Not
// parallel, so the package's other tests do not skew it; the two kinds
// alternate, so that machine noise hits both alike.
func TestLoginEnumerationTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	ctx := context.Background()
	p := tenanttest.NewProject(t).Project
	deps := servertest.Deps(t)
	deps.Identities.Hasher = hash.MustNew(hash.Config{}) // the production default (argon2id m=19 MiB)
	srv := httptest.NewServer(server.APIRouter(deps))
	t.Cleanup(srv.Close)
	s := &site{t: t, project: p, srv: srv, base: srv.URL + "/p/" + p.Slug, db: deps.DB}
	err := deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		c := flows.DefaultConfig()
		unlimited := ratelimit.Limit{Rate: 1_000_000, Period: time.Minute, Burst: 1_000_000}
		c.Limits["login:ip"], c.Limits["login:identifier"], c.Limits["registration:ip"] = unlimited, unlimited, unlimited
		return flows.SaveConfig(ctx, tx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{}
	s.register(c, "known@example.com", "correct horse battery staple")

	login := func(identifier string) time.Duration {
		r := s.call(c, "GET", "/self-service/login/api", nil, nil)
		want(t, r, 200)
		action := r.json(t)["ui"].(map[string]any)["action"].(string)
		start := time.Now()
		r = s.call(c, "POST", action, map[string]any{"method": "password", "identifier": identifier, "password": "wrong horse battery staple"}, nil)
		d := time.Since(start)
		want(t, r, 400)
		if ids := messageIDs(r.json(t)); len(ids) != 1 || ids[0] != 4000006 {
			t.Fatalf("login answer = %s", r.body)
		}
		return d
	}
	// Warm up: the dummy hash, connections, caches.
	login("known@example.com")
	login("unknown@example.com")

	// A machine busy with other packages' tests can skew one round; a
	// real difference (an unknown identifier that skips the hash) fails
	// every round.
	for round := 1; ; round++ {
		mk, mu, diff := timingRound(25, func() time.Duration { return login("known@example.com") },
			func() time.Duration { return login("unknown@example.com") })
		t.Logf("round %d: median login time: known identifier %v, unknown identifier %v (%+.1f%%)", round, mk, mu, 100*diff)
		if diff <= 0.10 && diff >= -0.10 {
			return
		}
		if round == 5 {
			t.Fatalf("medians differ by more than 10%%: known %v, unknown %v", mk, mu)
		}
	}
}

// timingRound alternates n calls of known and unknown (the order swapped
// every pair) and returns both medians and their relative difference.
func timingRound(n int, known, unknown func() time.Duration) (mk, mu time.Duration, diff float64) {
	var ks, us []time.Duration
	for i := range n {
		if i%2 == 0 {
			ks = append(ks, known())
			us = append(us, unknown())
		} else {
			us = append(us, unknown())
			ks = append(ks, known())
		}
	}
	mk, mu = median(ks), median(us)
	return mk, mu, float64(mk-mu) / float64(mk)
}
