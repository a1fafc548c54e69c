package code_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/code"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

func TestGenerate(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^\d{6}$`)
	seen := map[string]bool{}
	for range 2000 {
		c, err := code.Generate()
		if err != nil || !re.MatchString(c) {
			t.Fatalf("Generate = %q, %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Fatalf("only %d distinct codes in 2000", len(seen))
	}
}

// newFlow stores a verification flow to bind codes to.
func newFlow(t *testing.T, db *tenant.DB, p *tenant.Project) uuid.UUID {
	t.Helper()
	f := flows.New(flows.NewParams{Kind: flows.KindVerification, Type: flows.TypeAPI, BaseURL: "http://x", Now: time.Now()})
	if err := db.InTx(context.Background(), p, func(tx tenant.Tx) error { return flows.CreateFlow(context.Background(), tx, f) }); err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func TestUseSingleUseBoundExpiringAndBurned(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	p := tenanttest.NewProject(t).Project
	ctx := context.Background()
	codes := code.New(env.Config.SecretKeys()[0])
	now := time.Now()
	in := func(fn func(tx tenant.Tx) error) {
		t.Helper()
		if err := env.DB.InTx(ctx, p, fn); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(flow uuid.UUID, ttl time.Duration) string {
		var is *code.Issued
		in(func(tx tenant.Tx) (err error) {
			is, err = codes.Issue(ctx, tx, code.IssueParams{FlowID: flow, Kind: code.KindVerification, Address: "a@b.test", TTL: ttl, Now: now})
			return err
		})
		return is.Code
	}
	use := func(flow uuid.UUID, c string, at time.Time) error {
		var err error
		in(func(tx tenant.Tx) error {
			_, err = codes.Use(ctx, tx, flow, code.KindVerification, c, at)
			return nil
		})
		return err
	}
	wrongFor := func(c string) string {
		if c == "000000" {
			return "000001"
		}
		return "000000"
	}

	a, b := newFlow(t, env.DB, p), newFlow(t, env.DB, p)
	ca, cb := issue(a, 0), issue(b, 0)
	if ca != cb && !errors.Is(use(a, cb, now), code.ErrInvalid) {
		t.Fatal("a code of another flow was accepted")
	}
	if !errors.Is(use(a, ca, now), nil) {
		t.Fatal("the right code was refused")
	}
	if !errors.Is(use(a, ca, now), code.ErrInvalid) {
		t.Fatal("a used code was accepted again")
	}
	if !errors.Is(use(b, cb, now.Add(code.TTL+time.Second)), code.ErrInvalid) {
		t.Fatal("an expired code was accepted")
	}
	if !errors.Is(use(b, " "+cb[:3]+" "+cb[3:], now), nil) {
		t.Fatal("spaces in a code are not ignored")
	}
	// Four wrong codes leave the code usable; the fifth burns it.
	c := newFlow(t, env.DB, p)
	cc := issue(c, 0)
	for range code.MaxAttempts - 1 {
		if !errors.Is(use(c, wrongFor(cc), now), code.ErrInvalid) {
			t.Fatal("a wrong code was accepted")
		}
	}
	if use(c, cc, now) != nil {
		t.Fatal("the code was burned before MaxAttempts wrong ones")
	}
	d := newFlow(t, env.DB, p)
	cd := issue(d, 0)
	for range code.MaxAttempts {
		_ = use(d, wrongFor(cd), now)
	}
	if !errors.Is(use(d, cd, now), code.ErrInvalid) {
		t.Fatal("the code still works after MaxAttempts wrong ones")
	}
	// A resend replaces the code.
	e := newFlow(t, env.DB, p)
	old := issue(e, 0)
	fresh := issue(e, 0)
	if old != fresh && !errors.Is(use(e, old, now), code.ErrInvalid) {
		t.Fatal("a replaced code was accepted")
	}
	if use(e, fresh, now) != nil {
		t.Fatal("the new code was refused")
	}
	// Only hashes are stored.
	in(func(tx tenant.Tx) error {
		rows, err := tx.Query(ctx, `SELECT code_hash FROM selfservice_codes`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return err
			}
			for _, clear := range []string{ca, cb, cc, cd, old, fresh} {
				if len(h) != 32 || bytes.Contains(h, []byte(clear)) {
					t.Fatalf("code_hash %x holds a code", h)
				}
			}
		}
		return rows.Err()
	})
}
