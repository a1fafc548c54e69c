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
	// The phases alternate in rounds (hash, login, registration, hash,
	// …) and the ratios are the medians of the rounds' ratios: on a
	// shared machine the speed of the cores drifts during a run, and
	// phases run one after the other would compare different machines.
	procs := runtime.GOMAXPROCS(0)
	rounds := benchRounds(b.N)
	per := b.N / rounds
	var ceilings, loginPct, regPct, loginRates, regRates []float64
	b.ResetTimer()
	for range rounds {
		hashTime, err := run(per, procs, func(int) error { _, err := h.Hash(password); return err })
		if err != nil {
			b.Fatal(err)
		}
		loginTime, err := run(per, 4*procs, login)
		if err != nil {
			b.Fatal(err)
		}
		regTime, err := run(per, 4*procs, register)
		if err != nil {
			b.Fatal(err)
		}
		ceiling := float64(per) / hashTime.Seconds()
		logins, regs := float64(per)/loginTime.Seconds(), float64(per)/regTime.Seconds()
		ceilings = append(ceilings, ceiling)
		loginRates, regRates = append(loginRates, logins), append(regRates, regs)
		loginPct, regPct = append(loginPct, 100*logins/ceiling), append(regPct, 100*regs/ceiling)
	}
	b.StopTimer()
	b.ReportMetric(median(ceilings), "hash-ceiling/s")
	b.ReportMetric(median(loginRates), "logins/s")
	b.ReportMetric(median(loginPct), "%login-of-ceiling")
	b.ReportMetric(median(regRates), "registrations/s")
	b.ReportMetric(median(regPct), "%registration-of-ceiling")
	b.ReportMetric(float64(rounds), "rounds")
	b.ReportMetric(float64(len(projects)), "projects-used")
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
