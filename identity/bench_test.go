package identity_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/lanyard-id/lanyard/identity"
	"github.com/lanyard-id/lanyard/identity/hash"
	"github.com/lanyard-id/lanyard/internal/loadtest"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
)

// BenchmarkGetIdentity measures GET /admin/identities/{id} through the real
// router over loopback HTTP with 50 concurrent connections, next to a bare
// gin handler that returns the same bytes, and next to the same router
// without the identity cache (every read from Postgres). Run with:
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

	// The same router over a Manager without the identity cache: every
	// read goes to Postgres.
	nd := e.deps
	plain := identity.NewManager(nd.DB, hash.MustNew(servertest.TestHashConfig), nd.Config.SecretKeys()[0])
	plain.Revoker = nd.Sessions
	nd.Identities = plain
	plainSrv := httptest.NewServer(server.APIRouter(nd))
	defer plainSrv.Close()
	plainURL := plainSrv.URL + "/p/" + e.proj.Project.Slug + "/admin/identities/" + id
	// Equal but for the host in schema_url.
	if got := fetch(b, plainURL, e.proj.APIKey); !bytes.Equal(bytes.ReplaceAll(got, []byte(plainSrv.URL), []byte(srv.URL)), body) {
		b.Fatalf("cached and uncached answers differ:\n%s\n%s", body, got)
	}

	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.GET("/x", func(c *gin.Context) { c.Data(http.StatusOK, "application/json; charset=utf-8", body) })
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()

	// bare-gin also reports lanyard's rate as a percentage of its own,
	// from the two runs just made.
	var lanyardRate float64
	b.Run("lanyard", func(b *testing.B) { lanyardRate = load(b, url, e.proj.APIKey) })
	b.Run("bare-gin", func(b *testing.B) {
		if bareRate := load(b, bareSrv.URL+"/x", ""); bareRate > 0 {
			b.ReportMetric(100*lanyardRate/bareRate, "lanyard-%")
		}
	})
	b.Run("lanyard-nocache", func(b *testing.B) { load(b, plainURL, e.proj.APIKey) })
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

// load drives url with 50 connections (internal/loadtest: wrk when it is
// installed), reports requests/s and p50/p99, and returns the requests/s.
func load(b *testing.B, url, key string) float64 {
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatal(err)
	}
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	return loadtest.Run(b, u.Scheme+"://"+u.Host, loadtest.Options{}, loadtest.Target{Path: u.RequestURI(), Header: h}).PerSec
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
