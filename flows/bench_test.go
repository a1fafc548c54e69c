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

// BenchmarkPasswordLogin measures API-flow password logins per second at
// the default argon2id parameters (m=19 MiB, t=2, p=1), next to the
// hash-only ceiling measured in the same run: GOMAXPROCS goroutines doing
// nothing but hashing. Run:
//
//	go test ./flows -run '^$' -bench PasswordLogin -benchtime 200x
func BenchmarkPasswordLogin(b *testing.B) {
	ctx := context.Background()
	p := tenanttest.NewProject(b).Project
	deps := servertest.Deps(b)
	deps.Identities.Hasher = hash.MustNew(hash.Config{}) // the production default
	srv := httptest.NewServer(server.APIRouter(deps))
	defer srv.Close()
	base := srv.URL + "/p/" + p.Slug

	// Brute-force limits would (rightly) stop a benchmark from one IP.
	err := deps.DB.InTx(ctx, p, func(tx tenant.Tx) error {
		c := flows.DefaultConfig()
		unlimited := ratelimit.Limit{Rate: 1_000_000, Period: time.Minute, Burst: 1_000_000}
		c.Limits["login:ip"], c.Limits["login:identifier"] = unlimited, unlimited
		return flows.SaveConfig(ctx, tx, c)
	})
	if err != nil {
		b.Fatal(err)
	}
	const users = 20
	key := createKey(b, p)
	for i := range users {
		body := fmt.Sprintf(`{"schema_id":"default","traits":{"email":"user%d@example.com"},"credentials":{"password":{"config":{"password":"correct horse battery staple %d"}}}}`, i, i)
		if code, out := post(base+"/admin/identities", body, map[string]string{"Authorization": "Bearer " + key}); code != 201 {
			b.Fatalf("create identity: %d %s", code, out)
		}
	}

	login := func(i int) error {
		code, out := get(base + "/self-service/login/api")
		if code != 200 {
			return fmt.Errorf("create flow: %d %s", code, out)
		}
		var f struct{ ID string }
		_ = json.Unmarshal(out, &f)
		u := i % users
		code, out = post(base+"/self-service/login?flow="+f.ID,
			fmt.Sprintf(`{"method":"password","identifier":"user%d@example.com","password":"correct horse battery staple %d"}`, u, u), nil)
		if code != 200 {
			return fmt.Errorf("login: %d %s", code, out)
		}
		return nil
	}
	workers := 2 * runtime.GOMAXPROCS(0)
	run := func(n int, f func(int) error) (time.Duration, error) {
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
	h := hash.MustNew(hash.Config{})
	b.ResetTimer()
	hashTime, _ := run(b.N, func(int) error { _, err := h.Hash("correct horse battery staple"); return err })
	loginTime, err := run(b.N, login)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	ceiling := float64(b.N) / hashTime.Seconds()
	rate := float64(b.N) / loginTime.Seconds()
	b.ReportMetric(ceiling, "hash-ceiling/s")
	b.ReportMetric(rate, "logins/s")
	b.ReportMetric(100*rate/ceiling, "%-of-ceiling")
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
