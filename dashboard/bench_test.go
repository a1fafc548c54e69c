package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lanyard-id/lanyard/identity"
)

// BenchmarkPlatformLists measures the platform API's list endpoints on a
// workspace with 1,000 projects, 1,000 audit events and 200 API keys on
// one project, next to GET /api/v1/me (authentication alone) as the
// baseline, through the real router, Postgres and Redis. It reports the
// median and the 95th percentile of the request latencies.
//
// The 1,000 project rows are written straight into platform.projects
// (their schemas are not built: a list reads only the registry rows);
// everything else goes through the API.
func BenchmarkPlatformLists(b *testing.B) {
	e := newEnv(b)
	a := e.newAccount(true)
	ws := e.personal(a)
	pid, _, _ := e.newProject(a, ws, "bench")
	wsID := uuid.MustParse(ws)
	ctx := context.Background()
	const projects = 1000
	rows := make([][]any, 0, projects)
	base := time.Now().Add(-time.Hour)
	for i := range projects {
		rows = append(rows, []any{uuid.New(), wsID, fmt.Sprintf("bench-%s", uuid.NewString()[:8]), fmt.Sprintf("Project %d", i),
			fmt.Sprintf("p_bench%s", uuid.NewString()[:8]), base.Add(time.Duration(i) * time.Second)})
	}
	if _, err := e.d.DB.Platform().CopyFrom(ctx, pgx.Identifier{"platform", "projects"},
		[]string{"id", "workspace_id", "slug", "name", "schema_name", "created_at"}, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		if _, _, err := e.d.Registry.CreateAPIKey(ctx, uuid.MustParse(pid), fmt.Sprintf("key %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.d.DB.Platform().Exec(ctx, `INSERT INTO platform.audit_events (id, workspace_id, actor_type, actor_id, actor_name, action, target_type, target_id, ip, user_agent, created_at)
		SELECT gen_random_uuid(), $1, 'account', $2, 'bench', 'project.create', 'project', 'x', '127.0.0.1', 'bench', now() - make_interval(secs => g)
		FROM generate_series(1, 1000) g`, wsID, a.id); err != nil {
		b.Fatal(err)
	}
	if _, err := e.d.DB.Platform().Exec(ctx, `ANALYZE platform.projects; ANALYZE platform.audit_events; ANALYZE platform.project_api_keys`); err != nil {
		b.Fatal(err)
	}
	// A page token deep in the project list (after 900 projects).
	deep := ""
	path := "/api/v1/workspaces/" + ws + "/projects?page_size=100"
	for range 9 {
		r := e.call("GET", path, nil, a.token)
		deep = str(r.json(b), "next_page_token")
		path = "/api/v1/workspaces/" + ws + "/projects?page_size=100&page_token=" + url.QueryEscape(deep)
	}
	cases := []struct{ name, path string }{
		{"baseline_me", "/api/v1/me"},
		{"projects_first_page_50", "/api/v1/workspaces/" + ws + "/projects"},
		{"projects_page_10_of_100", path},
		{"projects_page_size_250", "/api/v1/workspaces/" + ws + "/projects?page_size=250"},
		{"api_keys_200", "/api/v1/projects/" + pid + "/api-keys"},
		{"audit_1000", "/api/v1/workspaces/" + ws + "/audit"},
		{"members", "/api/v1/workspaces/" + ws + "/members"},
		{"workspaces", "/api/v1/workspaces"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest("GET", c.path, nil)
				req.Host = "localhost:4000"
				req.Header.Set("Authorization", "Bearer "+a.token)
				rec := httptest.NewRecorder()
				start := time.Now()
				e.router.ServeHTTP(rec, req)
				lat = append(lat, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// BenchmarkPlatformIdentityList measures the Users page's requests on a
// project with 100,000 identities (bulk-imported), through the platform
// API's proxy to the project's admin handlers: the first page, a page deep
// in the list (keyset page_token, after 20,000 identities) and a search by
// identifier. It reports the median and the 95th percentile.
func BenchmarkPlatformIdentityList(b *testing.B) {
	e := newEnv(b)
	a := e.newAccount(true)
	ws := e.personal(a)
	pid, _, _ := e.newProject(a, ws, "bench-users")
	p, err := e.d.Registry.ByID(context.Background(), uuid.MustParse(pid))
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	var jsonl strings.Builder
	for k := range n {
		fmt.Fprintf(&jsonl, `{"schema_id":"default","traits":{"email":"user%d@bench.example.com"}}`+"\n", k)
	}
	start := time.Now()
	res, err := e.d.Identities.Import(context.Background(), p, strings.NewReader(jsonl.String()), identity.ImportOptions{})
	if err != nil || res.Imported != n {
		b.Fatalf("import: %+v, %v", res, err)
	}
	b.Logf("imported %d identities in %s", n, time.Since(start).Round(time.Millisecond))
	base := "/api/v1/projects/" + pid + "/identities"
	// Follow the Link header 80 pages of 250 deep.
	deep := base + "?page_size=250"
	for range 80 {
		r := e.call("GET", deep, nil, a.token)
		want(b, r, 200)
		next := nextLink(r.header.Get("Link"))
		if next == "" {
			b.Fatalf("no next link after %s: %q", deep, r.header.Get("Link"))
		}
		deep = base + "?" + next
	}
	cases := []struct{ name, path string }{
		{"first_page", base},
		{"first_page_250", base + "?page_size=250"},
		{"page_81_of_250", deep},
		{"search_identifier", base + "?credentials_identifier=user73021@bench.example.com"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest("GET", c.path, nil)
				req.Host = "localhost:4000"
				req.Header.Set("Authorization", "Bearer "+a.token)
				rec := httptest.NewRecorder()
				t0 := time.Now()
				e.router.ServeHTTP(rec, req)
				lat = append(lat, time.Since(t0))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// nextLink returns the query of the rel="next" URL of a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		if !strings.Contains(part, `rel="next"`) {
			continue
		}
		l, r := strings.Index(part, "<"), strings.Index(part, ">")
		if l < 0 || r < l {
			return ""
		}
		if u, err := url.Parse(part[l+1 : r]); err == nil {
			return u.RawQuery
		}
	}
	return ""
}
