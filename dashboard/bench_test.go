package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
