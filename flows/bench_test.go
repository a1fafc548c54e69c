package flows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
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
// hashing of another. The three phases alternate in rounds and each ratio
// is the median of the rounds' ratios. Run:
//
//	go test ./flows -run '^$' -bench PasswordLogin -benchtime 600x
//
// With LANYARD_BENCH_PROJECTS=2000 it also provisions that many projects
// and adds, to each round, logins and registrations spread over 200 of
// them, reported next to the one-project figures of the same rounds
// (%spread-login-of-one, %spread-registration-of-one).
func BenchmarkPasswordLogin(b *testing.B) {
	ctx := context.Background()
	deps := servertest.DepsWithDB(b, tenanttest.ServerDB(b)) // as a server has it: lanes, copies kept by notices
	deps.Identities.Hasher = hash.MustNew(hash.Config{})     // the production default
	srv := httptest.NewServer(server.APIRouter(deps))
	defer srv.Close()

	const usersPerProject = 5
	h := hash.MustNew(hash.Config{})
	const password = "correct horse battery staple"
	hashed, err := h.Hash(password)
	if err != nil {
		b.Fatal(err)
	}
	// prepare makes projects ready for the load and returns their URLs.
	prepare := func(projects []*tenant.Project) []string {
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
				// 409: made by the benchmark's first run (tenanttest.BenchProjects).
				if code, out := post(bases[i]+"/admin/identities", body, map[string]string{"Authorization": "Bearer " + key}); code != 201 && code != 409 {
					b.Fatalf("create identity: %d %s", code, out)
				}
			}
		}
		return bases
	}
	one := prepare([]*tenant.Project{tenanttest.NewProject(b).Project})
	var spread []string
	if projects := tenanttest.BenchProjects(b); len(projects) > 1 {
		spread = prepare(projects)
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
	login := func(bases []string) func(int) error {
		return func(i int) error {
			return submit("login", bases[i%len(bases)], fmt.Sprintf(`{"method":"password","identifier":"user%d@example.com","password":%q}`,
				(i/len(bases))%usersPerProject, password))
		}
	}
	var registered atomic.Int64
	register := func(bases []string) func(int) error {
		return func(i int) error {
			n := registered.Add(1)
			return submit("registration", bases[i%len(bases)], fmt.Sprintf(`{"method":"password","traits":{"email":"new%d-%d@example.com"},"password":"%s %d"}`,
				n, time.Now().UnixNano(), password, n))
		}
	}
	run := func(n, workers int, f func(int) error) float64 {
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
			b.Fatal(err)
		}
		return float64(n) / time.Since(start).Seconds()
	}
	// The phases alternate in rounds (hash, logins, registrations, and
	// with a spread the same over 200 projects, then hash again…) and the
	// ratios are the medians of the rounds' ratios: on a shared machine
	// the speed of the cores drifts during a run, and phases run one after
	// the other would compare different machines.
	procs := runtime.GOMAXPROCS(0)
	// Every project serves a login and a registration before the timing,
	// the one project and the spread alike: the projects measured are in
	// use, not new. (A project's first requests find its tables empty and
	// pay once for their first pages.)
	for _, bases := range [][]string{one, spread} {
		if len(bases) > 0 {
			run(len(bases), 4*procs, login(bases))
			run(len(bases), 4*procs, register(bases))
		}
	}
	rounds := benchRounds(b.N)
	per := b.N / rounds
	m := map[string][]float64{}
	add := func(name string, v float64) { m[name] = append(m[name], v) }
	b.ResetTimer()
	for range rounds {
		ceiling := run(per, procs, func(int) error { _, err := h.Hash(password); return err })
		logins, regs := run(per, 4*procs, login(one)), run(per, 4*procs, register(one))
		add("hash-ceiling/s", ceiling)
		add("logins/s", logins)
		add("registrations/s", regs)
		add("%login-of-ceiling", 100*logins/ceiling)
		add("%registration-of-ceiling", 100*regs/ceiling)
		if spread != nil {
			sl, sr := run(per, 4*procs, login(spread)), run(per, 4*procs, register(spread))
			add("spread-logins/s", sl)
			add("spread-registrations/s", sr)
			add("%spread-login-of-one", 100*sl/logins)
			add("%spread-registration-of-one", 100*sr/regs)
			b.Logf("round: ceiling %.1f/s, logins %.1f/s, registrations %.1f/s; spread %.0f%% and %.0f%% of those",
				ceiling, logins, regs, 100*sl/logins, 100*sr/regs)
		} else {
			b.Logf("round: ceiling %.1f/s, logins %.1f/s (%.0f%%), registrations %.1f/s (%.0f%%)",
				ceiling, logins, 100*logins/ceiling, regs, 100*regs/ceiling)
		}
	}
	b.StopTimer()
	for name, v := range m {
		b.ReportMetric(median(v), name)
	}
	b.ReportMetric(float64(rounds), "rounds")
}

// benchRounds splits n operations per phase into rounds of at least 10
// (5 rounds unless n is small; LANYARD_BENCH_ROUNDS to change).
func benchRounds(n int) int {
	r := 5
	if v, err := strconv.Atoi(os.Getenv("LANYARD_BENCH_ROUNDS")); err == nil && v > 0 {
		r = v
	}
	return max(1, min(r, n/10))
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
