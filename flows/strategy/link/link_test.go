package link_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/strategy/link"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func TestMain(m *testing.M) { tenanttest.Main(m) }

func TestGenerateIs256RandomBits(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		tok, err := link.Generate()
		if err != nil || len(tok) != 43 {
			t.Fatalf("Generate = %q, %v; want 43 base64url characters", tok, err)
		}
		seen[tok] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct tokens in 1000", len(seen))
	}
}

func newFlow(t *testing.T, db *tenant.DB, p *tenant.Project) uuid.UUID {
	t.Helper()
	f := flows.New(flows.NewParams{Kind: flows.KindRecovery, Type: flows.TypeAPI, BaseURL: "http://x", Now: time.Now()})
	if err := db.InTx(context.Background(), p, func(tx tenant.Tx) error { return flows.CreateFlow(context.Background(), tx, f) }); err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func TestUseIsSingleUseBoundToFlowKindProjectAndExpiring(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	a, b := tenanttest.NewProject(t).Project, tenanttest.NewProject(t).Project
	ctx := context.Background()
	now := time.Now()
	in := func(p *tenant.Project, fn func(tx tenant.Tx) error) {
		t.Helper()
		if err := env.DB.InTx(ctx, p, fn); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(p *tenant.Project, flow uuid.UUID, ttl time.Duration) string {
		var is *link.Issued
		in(p, func(tx tenant.Tx) (err error) {
			is, err = link.Issue(ctx, tx, link.IssueParams{FlowID: flow, Kind: link.KindRecovery, Address: "a@b.test", TTL: ttl, Now: now})
			return err
		})
		return is.Token
	}
	use := func(p *tenant.Project, flow uuid.UUID, kind link.Kind, tok string, at time.Time) (*link.Found, error) {
		var (
			f   *link.Found
			err error
		)
		in(p, func(tx tenant.Tx) error {
			f, err = link.Use(ctx, tx, flow, kind, tok, at)
			return nil
		})
		return f, err
	}
	f1, f2 := newFlow(t, env.DB, a), newFlow(t, env.DB, a)
	tok := issue(a, f1, time.Hour)
	altered := tok[:len(tok)-1] + "A"
	if altered == tok {
		altered = tok[:len(tok)-1] + "B"
	}
	for name, try := range map[string]func() error{
		"other flow":    func() error { _, err := use(a, f2, link.KindRecovery, tok, now); return err },
		"other kind":    func() error { _, err := use(a, f1, link.KindVerification, tok, now); return err },
		"other project": func() error { _, err := use(b, f1, link.KindRecovery, tok, now); return err },
		"expired":       func() error { _, err := use(a, f1, link.KindRecovery, tok, now.Add(time.Hour)); return err },
		"altered":       func() error { _, err := use(a, f1, link.KindRecovery, altered, now); return err },
		"empty":         func() error { _, err := use(a, f1, link.KindRecovery, "", now); return err },
	} {
		if err := try(); !errors.Is(err, link.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	found, err := use(a, f1, link.KindRecovery, tok, now.Add(59*time.Minute))
	if err != nil || found.Address != "a@b.test" || found.IdentityID != nil {
		t.Fatalf("Use = %+v, %v", found, err)
	}
	if _, err := use(a, f1, link.KindRecovery, tok, now); !errors.Is(err, link.ErrInvalid) {
		t.Fatalf("second use: %v, want ErrInvalid", err)
	}
	// A resend replaces the flow's earlier token.
	old := issue(a, f2, time.Hour)
	latest := issue(a, f2, time.Hour)
	if _, err := use(a, f2, link.KindRecovery, old, now); !errors.Is(err, link.ErrInvalid) {
		t.Fatalf("replaced token: %v, want ErrInvalid", err)
	}
	if _, err := use(a, f2, link.KindRecovery, latest, now); err != nil {
		t.Fatalf("latest token: %v", err)
	}
}
