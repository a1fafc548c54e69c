package identity_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanyard-id/lanyard/identity"
)

// BenchmarkGetIdentity measures GET /admin/identities/{id} through the real
// router over loopback HTTP with 50 concurrent connections, next to a bare
// gin handler that returns the same bytes. Run with:
//
//	go test ./identity -run '^$' -bench GetIdentity -benchtime 10s
func BenchmarkGetIdentity(b *testing.B) {
	e := newEnv(b)
	rec := e.call("POST", "/admin/identities", person("bench-get@example.com"))
	if rec.Code != http.StatusCreated {
		b.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	id := decode[identityJSON](b, rec).ID
	srv := httptest.NewServer(e.router)
	defer srv.Close()
	url := srv.URL + "/p/" + e.proj.Project.Slug + "/admin/identities/" + id
	body := fetch(b, url, e.proj.APIKey)

	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.GET("/x", func(c *gin.Context) { c.Data(http.StatusOK, "application/json; charset=utf-8", body) })
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()

	b.Run("lanyard", func(b *testing.B) { load(b, url, e.proj.APIKey) })
	b.Run("bare-gin", func(b *testing.B) { load(b, bareSrv.URL+"/x", "") })
}

func fetch(b *testing.B, url, key string) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		b.Fatalf("GET %s: %d %s", url, res.StatusCode, out)
	}
	return out
}

// load sends b.N GETs from 50 goroutines (one keep-alive connection each)
// and reports requests/s and the p99 latency.
func load(b *testing.B, url, key string) {
	const conns = 50
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	lat := make([][]time.Duration, conns)
	var next sync.WaitGroup
	work := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		work <- struct{}{}
	}
	close(work)
	b.ResetTimer()
	start := time.Now()
	for g := 0; g < conns; g++ {
		next.Add(1)
		go func(g int) {
			defer next.Done()
			for range work {
				t0 := time.Now()
				req, _ := http.NewRequest("GET", url, nil)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("status %d", res.StatusCode)
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		}(g)
	}
	next.Wait()
	el := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/el.Seconds(), "req/s")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkImport100k imports 100,000 identities with bcrypt hashes from
// JSONL (b.N times; use -benchtime 1x) and reports identities/s and the
// process's peak RSS. Run with:
//
//	go test ./identity -run '^$' -bench Import100k -benchtime 1x
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	// 64 distinct real bcrypt hashes (cost 10), reused: imports never re-hash.
	hashes := make([]string, 64)
	for k := range hashes {
		h, err := bcrypt.GenerateFromPassword([]byte("password-"+strconv.Itoa(k)), 10)
		if err != nil {
			b.Fatal(err)
		}
		hashes[k] = string(h)
	}
	f, err := os.CreateTemp(b.TempDir(), "identities-*.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	for k := 0; k < n; k++ {
		fmt.Fprintf(f, `{"schema_id":"default","traits":{"email":"user%d@bench.example.com","name":{"first":"User","last":"%d"}},"credentials":{"password":{"config":{"hashed_password":%q}}}}`+"\n",
			k, k, hashes[k%len(hashes)])
	}
	st, _ := f.Stat()
	b.SetBytes(st.Size())
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		res, err := e.deps.Identities.Import(context.Background(), e.proj.Project, f, identity.ImportOptions{})
		el := time.Since(t0)
		b.StopTimer()
		if err != nil || res.Imported != n || len(res.Failed) != 0 {
			b.Fatalf("import = %d imported, %d failed, %v", res.Imported, len(res.Failed), err)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "identities/s")
		b.ReportMetric(el.Seconds(), "wall-s")
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "VmHWM:"), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
