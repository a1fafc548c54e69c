package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/flows/strategy/code/codetest"
	"github.com/lanyard-id/lanyard/tenant"
)

// tenantExec runs one statement in the project's schema.
func (e *env) tenantExec(pid, sql string, args ...any) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.d.Registry.ByID(ctx, uuid.MustParse(pid))
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.d.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// openLink GETs a project URL (as a browser would) on the project API and
// returns the answer with the cookies it set.
func (e *env) openLink(link string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	e.t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Host == "" {
		e.t.Fatalf("not a URL: %q", link)
	}
	req := httptest.NewRequest("GET", u.RequestURI(), nil)
	req.Host = u.Host
	req.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	return rec
}

// The user page's "Send recovery link": the link is mailed through the
// project's courier (outbox, worker, Mailpit) and signs the user in once;
// a viewer may not send one, another workspace cannot reach the project,
// and an identity without a recovery address gets a clear 400.
func TestSendRecoveryLinkByMail(t *testing.T) {
	t.Parallel()
	codetest.NewSite(t) // a courier worker delivering to Mailpit
	e := newEnv(t)
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, slug, _ := e.newProject(owner, ws, "mailed")
	addr := codetest.Address(t)
	r := e.call("POST", "/api/v1/projects/"+pid+"/identities", map[string]any{"traits": map[string]any{"email": addr}}, owner.token)
	want(t, r, 201)
	iid := str(r.json(t), "id")
	base := "/api/v1/projects/" + pid + "/identities/" + iid + "/recovery-link"

	// Bad input: no 500, nothing sent.
	wantError(t, e.call("POST", base, map[string]any{"send": false}, owner.token), 400)
	wantError(t, e.call("POST", base, `{"send": "yes"}`, owner.token), 400)
	wantError(t, e.call("POST", "/api/v1/projects/"+pid+"/identities/"+uuid.NewString()+"/recovery-link", map[string]any{"send": true}, owner.token), 404)
	wantError(t, e.call("POST", "/api/v1/projects/"+pid+"/identities/not-an-id/recovery-link", map[string]any{"send": true}, owner.token), 404)

	r = e.call("POST", base, map[string]any{"send": true}, owner.token)
	want(t, r, 202)
	if got := str(r.json(t), "sent_to"); got != addr {
		t.Fatalf("sent_to = %q, want %q", got, addr)
	}
	m := codetest.WaitMail(t, addr, 1)
	link := codetest.LinkOf(t, m, "http")
	if !strings.Contains(link, slug) || !strings.Contains(link, "/self-service/recovery?") {
		t.Fatalf("mail %q has no recovery link of the project: %s", m.Subject, m.Text)
	}

	// The link completes a recovery: a session of the identity and a
	// settings flow to choose a new password.
	rec := e.openLink(link, nil)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "/ui/settings?flow=") {
		t.Fatalf("GET link → %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	who := e.openLink(link[:strings.Index(link, "/self-service/")]+"/sessions/whoami", rec.Result().Cookies())
	if who.Code != 200 || !strings.Contains(who.Body.String(), iid) {
		t.Fatalf("whoami after the link → %d %s", who.Code, who.Body)
	}
	// Once only.
	if again := e.openLink(link, nil); again.Code == http.StatusSeeOther && strings.Contains(again.Header().Get("Location"), "/ui/settings") {
		t.Fatalf("the link worked twice")
	}

	// Audited.
	r = e.call("GET", "/api/v1/workspaces/"+ws+"/audit", nil, owner.token)
	want(t, r, 200)
	if !strings.Contains(string(r.body), `"identity.recovery_link"`) {
		t.Fatalf("no identity.recovery_link audit event: %s", r.body)
	}

	// No recovery address: 400 with a message, no mail.
	r = e.call("POST", "/api/v1/projects/"+pid+"/identities", map[string]any{"traits": map[string]any{"email": codetest.Address(t)}}, owner.token)
	want(t, r, 201)
	bare := str(r.json(t), "id")
	e.tenantExec(pid, `DELETE FROM identity_recovery_addresses WHERE identity_id = $1`, bare)
	er := wantError(t, e.call("POST", "/api/v1/projects/"+pid+"/identities/"+bare+"/recovery-link", map[string]any{"send": true}, owner.token), 400)
	if er["id"] != "no_recovery_address" || !strings.Contains(str(er, "reason"), "no recovery email address") {
		t.Fatalf("no address: %v", er)
	}

	// A viewer may not send; the refusal sends nothing.
	viewer := e.newAccount(true)
	e.join(owner, viewer, ws, "viewer")
	if er := wantError(t, e.call("POST", base, map[string]any{"send": true}, viewer.token), 403); er["id"] != "insufficient_role" {
		t.Fatalf("viewer: %v", er)
	}

	// Another workspace's account: the project does not exist for it.
	other := e.newAccount(true)
	wantError(t, e.call("POST", base, map[string]any{"send": true}, other.token), 404)
	time.Sleep(300 * time.Millisecond)
	if n := len(codetest.Inbox(t, addr)); n != 1 {
		t.Fatalf("Mailpit holds %d mails for %s, want 1", n, addr)
	}
}

type projectUsageDay struct {
	Date    string `json:"date"`
	Signups int64  `json:"signups"`
	Active  int64  `json:"active"`
}

// The project overview's chart: sign-ups per day from the project's
// identities, active users per day from the usage records of this project
// only; a viewer reads it, another workspace cannot, a bad month is a 400.
func TestProjectUsageChart(t *testing.T) {
	t.Parallel()
	e, svc := newBillingEnv(t) // clock: 10 November 2026
	owner := e.newAccount(true)
	ws := e.personal(owner)
	pid, _, _ := e.newProject(owner, ws, "charted")
	otherPid, _, _ := e.newProject(owner, ws, "elsewhere")

	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	for i, when := range []time.Time{at(2, 9), at(2, 23), at(5, 0), time.Date(2026, 10, 31, 23, 59, 0, 0, time.UTC), at(9, 12)} {
		r := e.call("POST", "/api/v1/projects/"+pid+"/identities", map[string]any{"traits": map[string]any{"email": uuid.NewString()[:8] + "@chart.test"}}, owner.token)
		want(t, r, 201)
		id := str(r.json(t), "id")
		e.tenantExec(pid, `UPDATE identities SET created_at = $2 WHERE id = $1`, id, when)
		if i == 0 {
			e.active(svc, pid, uuid.MustParse(id), at(3, 10))
		}
	}
	// Identities of the other project count there only.
	r := e.call("POST", "/api/v1/projects/"+otherPid+"/identities", map[string]any{"traits": map[string]any{"email": "x@chart.test"}}, owner.token)
	want(t, r, 201)
	e.tenantExec(otherPid, `UPDATE identities SET created_at = $1`, at(2, 10))
	e.active(svc, otherPid, uuid.New(), at(3, 11))
	e.active(svc, pid, uuid.New(), at(3, 12))
	e.active(svc, pid, uuid.New(), at(9, 1))

	get := func(query, bearer string) (string, []projectUsageDay) {
		t.Helper()
		r := e.call("GET", "/api/v1/projects/"+pid+"/usage"+query, nil, bearer)
		want(t, r, 200)
		var out struct {
			Month string            `json:"month"`
			Days  []projectUsageDay `json:"days"`
		}
		decode(t, r.body, &out)
		return out.Month, out.Days
	}
	month, days := get("", owner.token)
	if month != "2026-11" || len(days) != 10 {
		t.Fatalf("current month = %s with %d days, want 2026-11 with 10 (up to today)", month, len(days))
	}
	wantDays := map[string][2]int64{"2026-11-02": {2, 0}, "2026-11-03": {0, 2}, "2026-11-05": {1, 0}, "2026-11-09": {1, 1}}
	for i, d := range days {
		if d.Date != at(i+1, 0).Format(time.DateOnly) {
			t.Fatalf("day %d is %s", i, d.Date)
		}
		w := wantDays[d.Date]
		if d.Signups != w[0] || d.Active != w[1] {
			t.Errorf("%s: signups %d active %d, want %d and %d", d.Date, d.Signups, d.Active, w[0], w[1])
		}
	}

	// A past month has all its days; a future one none.
	month, days = get("?month=2026-10", owner.token)
	if month != "2026-10" || len(days) != 31 || days[30].Signups != 1 || days[29].Signups != 0 {
		t.Fatalf("October = %s %+v", month, days)
	}
	if _, days = get("?month=2027-01", owner.token); len(days) != 0 {
		t.Fatalf("future month has days: %+v", days)
	}

	// Bad months.
	for _, q := range []string{"?month=2026-13", "?month=november", "?month=", "?month=0999-01"} {
		if er := wantError(t, e.call("GET", "/api/v1/projects/"+pid+"/usage"+q, nil, owner.token), 400); er["id"] != "invalid_month" {
			t.Errorf("%s: %v", q, er)
		}
	}

	// A viewer reads it; another workspace's account finds nothing.
	viewer := e.newAccount(true)
	e.join(owner, viewer, ws, "viewer")
	if _, days = get("?month=2026-11", viewer.token); len(days) != 10 || days[1].Signups != 2 {
		t.Fatalf("viewer sees %+v", days)
	}
	other := e.newAccount(true)
	wantError(t, e.call("GET", "/api/v1/projects/"+pid+"/usage", nil, other.token), 404)
	wantError(t, e.call("GET", "/api/v1/projects/"+uuid.NewString()+"/usage", nil, owner.token), 404)
}
