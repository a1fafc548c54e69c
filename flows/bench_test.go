package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
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

// BenchmarkPasswordLogin measures API-flow password logins and
// registrations per second at the default argon2id parameters (m=19 MiB,
// t=2, p=1), next to the hash-only ceiling measured in the same run:
// GOMAXPROCS goroutines doing nothing but hashing. Logins and
// registrations run with 4 requests in flight per core, as a loaded server
// sees them, so that the database round trips of one request overlap the
// hashing of another. Run:
//
//	go test ./flows -run '^$' -bench PasswordLogin -benchtime 200x
//
// With LANYARD_BENCH_PROJECTS=2000 it provisions that many projects first
// and spreads the load over 200 of them (the many-projects
// figure); the default is one project.
func BenchmarkPasswordLogin(b *testing.B) {
	ctx := context.Background()
	deps := servertest.Deps(b)
	deps.Identities.Hasher = hash.MustNew(hash.Config{}) // the production default
	srv := httptest.NewServer(server.APIRouter(deps))
	defer srv.Close()

	projects := tenanttest.BenchProjects(b)
	const usersPerProject = 5
	h := hash.MustNew(hash.Config{})
	const password = "correct horse battery staple"
	hashed, err := h.Hash(password)
	if err != nil {
		b.Fatal(err)
	}
	bases := make([]string, len(projects))
	for i, p := range projects {
		bases[i] = srv.URL + "/p/" + p.Slug
		// Brute-force limits would (rightly) stop a benchmark from one IP.
		err := deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
			c := flows.DefaultConfig()
			unlimited := ratelimit.Limit{Rate: 1_000_000, Period: time.Minute, Burst: 1_000_000}
			for _, scope := range []string{"login:ip", "login:identifier", "registration:ip"} {
				c.Limits[scope] = unlimited
			}
			return flows.SaveConfig(ctx, tx, c)
		})
		if err != nil {
			b.Fatal(err)
		}
		key := createKey(b, p)
		for u := range usersPerProject {
			body := fmt.Sprintf(`{"schema_id":"default","traits":{"email":"user%d@example.com"},"credentials":{"password":{"config":{"hashed_password":%q}}}}`, u, hashed)
			if code, out := post(bases[i]+"/admin/identities", body, map[string]string{"Authorization": "Bearer " + key}); code != 201 {
				b.Fatalf("create identity: %d %s", code, out)
			}
		}
	}

	submit := func(kind, base, body string) error {
		code, out := get(base + "/self-service/" + kind + "/api")
		if code != 200 {
			return fmt.Errorf("create %s flow: %d %s", kind, code, out)
		}
		var f struct{ ID string }
		_ = json.Unmarshal(out, &f)
		code, out = post(base+"/self-service/"+kind+"?flow="+f.ID, body, nil)
		if code != 200 {
			return fmt.Errorf("%s: %d %s", kind, code, out)
		}
		return nil
	}
	login := func(i int) error {
		return submit("login", bases[i%len(bases)], fmt.Sprintf(`{"method":"password","identifier":"user%d@example.com","password":%q}`,
			(i/len(bases))%usersPerProject, password))
	}
	var registered atomic.Int64
	register := func(i int) error {
		n := registered.Add(1)
		return submit("registration", bases[i%len(bases)], fmt.Sprintf(`{"method":"password","traits":{"email":"new%d-%d@example.com"},"password":"%s %d"}`,
			n, time.Now().UnixNano(), password, n))
	}
	run := func(n, workers int, f func(int) error) (time.Duration, error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		var firstErr atomic.Value
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if err := f(i); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err, ok := firstErr.Load().(error); ok {
			return 0, err
		}
		return time.Since(start), nil
	}
	procs := runtime.GOMAXPROCS(0)
	b.ResetTimer()
	hashTime, _ := run(b.N, procs, func(int) error { _, err := h.Hash(password); return err })
	loginTime, err := run(b.N, 4*procs, login)
	if err != nil {
		b.Fatal(err)
	}
	regTime, err := run(b.N, 4*procs, register)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	ceiling := float64(b.N) / hashTime.Seconds()
	logins := float64(b.N) / loginTime.Seconds()
	regs := float64(b.N) / regTime.Seconds()
	b.ReportMetric(ceiling, "hash-ceiling/s")
	b.ReportMetric(logins, "logins/s")
	b.ReportMetric(100*logins/ceiling, "%login-of-ceiling")
	b.ReportMetric(regs, "registrations/s")
	b.ReportMetric(100*regs/ceiling, "%registration-of-ceiling")
	b.ReportMetric(float64(len(projects)), "projects-used")
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func get(url string) (int, []byte) {
	res, err := benchClient.Get(url)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func post(url, body string, hdr map[string]string) (int, []byte) {
	req, _ := http.NewRequest("POST", url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := benchClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func createKey(b *testing.B, p *tenant.Project) string {
	secret, _, err := tenanttest.Get(b).Registry.CreateAPIKey(context.Background(), p.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return secret
}
