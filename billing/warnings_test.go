package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/billing"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/errx"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// A workspace that crosses 80% and 100% between two runs gets the 100%
// mail only, once per owner; a second run sends nothing; with billing off
// nothing is sent at all. The mails are read from the sending project's
// courier (the worker test delivers them to Mailpit).
func TestUsageWarningsOncePerThreshold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	te := tenanttest.Get(t)
	ctx := context.Background()
	from, err := e.reg.BySlug(ctx, "console")
	if errx.Has(err, errx.NotFound) {
		c, cerr := e.reg.Create(ctx, tenant.CreateParams{Name: "Console", Slug: "console"})
		if cerr != nil {
			t.Fatal(cerr)
		}
		from = c.Project
	} else if err != nil {
		t.Fatal(err)
	}
	ws := e.workspace(t)
	owner := "owner-" + uuid.NewString()[:8] + "@warn.test"
	id := uuid.New()
	if _, err := te.Pool.Exec(ctx, `INSERT INTO platform.accounts (id, email) VALUES ($1, $2)`, id, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := te.Pool.Exec(ctx, `INSERT INTO platform.workspace_members (workspace_id, account_id, role) VALUES ($1, $2, 'owner')`, ws, id); err != nil {
		t.Fatal(err)
	}
	p, err := e.project(t, ws)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // the Free test plan includes 5 MAU: 100% at once
		if err := te.DB.InTx(ctx, p, func(tx tenant.Tx) error { return e.svc.RecordActive(ctx, tx, uuid.New(), e.clock.now()) }); err != nil {
			t.Fatal(err)
		}
	}
	mails := func() []string {
		var subjects []string
		err := te.DB.InTx(ctx, from, func(tx tenant.Tx) error {
			rows, err := tx.Query(ctx, `SELECT coalesce(nullif(subject, ''), template_data->>'subject') FROM courier_messages WHERE recipient = $1`, owner)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return err
				}
				subjects = append(subjects, s)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		return subjects
	}

	// Billing off: no warnings.
	off, err := billing.New(billing.Options{Config: config.Default(), Pool: te.Pool})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := off.SendUsageWarnings(ctx, te.DB, from, nil); err != nil || res.Mails != 0 {
		t.Fatalf("billing off: %+v, %v", res, err)
	}
	for run := range 2 {
		if _, err := e.svc.SendUsageWarnings(ctx, te.DB, from, nil); err != nil {
			t.Fatal(err)
		}
		got := mails()
		if len(got) != 1 || !strings.Contains(got[0], "reached its monthly active user allowance") {
			t.Fatalf("run %d: mails %v, want one 100%% warning", run+1, got)
		}
	}
	var rows, recipients int
	if err := te.Pool.QueryRow(ctx, `SELECT count(*), sum(recipients) FROM platform.usage_warnings WHERE workspace_id = $1 AND month = $2`,
		ws, billing.MonthOf(e.clock.now())).Scan(&rows, &recipients); err != nil || rows != 2 || recipients != 1 {
		t.Fatalf("warning rows = %d (recipients %d), %v; want the 100%% one sent and the 80%% one marked", rows, recipients, err)
	}
	// Next month starts over.
	e.clock.add(31 * 24 * time.Hour)
	if _, err := e.svc.SendUsageWarnings(ctx, te.DB, from, nil); err != nil {
		t.Fatal(err)
	}
	if got := mails(); len(got) != 1 {
		t.Fatalf("a month without users mailed: %v", got)
	}
}
