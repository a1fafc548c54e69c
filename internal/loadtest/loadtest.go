// Package loadtest drives HTTP load at a server on 127.0.0.1 for
// benchmarks: a fixed number of concurrent connections, each request to
// the next of a list of targets, reporting requests/s and p50/p99 latency.
//
// When wrk is installed (Debian package "wrk") it is the driver: a
// separate C process using epoll, so the server under test is not
// competing with an in-process Go client for the same cores and the
// latency it reports is the server's. Without wrk, or with
// LANYARD_BENCH_DRIVER=go, an in-process Go client drives the load
// (b.N requests). Both drivers only send to the URLs they are given, which
// benchmarks build from httptest servers on 127.0.0.1.
package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Target is one request: a path under the base URL and its headers.
type Target struct {
	Path   string
	Header map[string]string
}

// Result is what a run measured.
type Result struct {
	Driver   string
	Requests int
	PerSec   float64
	P50, P99 time.Duration
	OfFirst  float64 // Compare: median % of the first variant's req/s
}

// wrkDone holds the wrk result of each *testing.B.
var wrkDone sync.Map

// Options of a run.
type Options struct {
	Conns    int           // concurrent connections (50)
	Duration time.Duration // wrk run length (LANYARD_BENCH_DURATION, else 5s)
	// Pace, when set, makes each connection wait that long after an
	// answer before its next request (wrk's delay()), so that the load is
	// a fixed fraction of the server's capacity and the latency is the
	// server's, not the queue's. wrk only.
	Pace time.Duration
}

// Run drives base+targets with o and reports req/s, p50-ms and p99-ms on
// b. Every response must be 200; anything else fails the benchmark.
func Run(b *testing.B, base string, o Options, targets ...Target) Result {
	b.Helper()
	o = o.withDefaults()
	warm(b, base, targets)
	var r Result
	var err error
	if wrk, ok := wrkPath(); ok {
		// The testing package calls a benchmark with b.N = 1 and then
		// with the real b.N on the same *B; wrk runs for a time, so it
		// runs once per *B and the second call reports the same result.
		if prev, ok := wrkDone.Load(b); ok {
			r = prev.(Result)
		} else if r, err = runWrk(b, wrk, base, o, targets); err == nil {
			wrkDone.Store(b, r)
		}
	} else {
		r, err = runGo(b, base, o, targets)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.PerSec, "req/s")
	b.ReportMetric(ms(r.P50), "p50-ms")
	b.ReportMetric(ms(r.P99), "p99-ms")
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (o Options) withDefaults() Options {
	if o.Conns <= 0 {
		o.Conns = 50
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
		if d, err := time.ParseDuration(os.Getenv("LANYARD_BENCH_DURATION")); err == nil && d > 0 {
			o.Duration = d
		}
	}
	return o
}

// warm checks that every target answers 200 before the load starts; this
// also warms the server's caches for every target, so that the figures
// are those of the steady state (the first request of each of 200
// projects is a cold start, which would otherwise be most of the p99).
func warm(b *testing.B, base string, targets []Target) {
	b.Helper()
	if len(targets) == 0 {
		b.Fatal("loadtest: no targets")
	}
	for _, t := range targets {
		if code, body := once(base, t); code != http.StatusOK {
			b.Fatalf("loadtest: %s = %d %s", t.Path, code, body)
		}
	}
}

func wrkPath() (string, bool) {
	if os.Getenv("LANYARD_BENCH_DRIVER") == "go" {
		return "", false
	}
	p, err := exec.LookPath("wrk")
	return p, err == nil
}

// Variant is one server and its targets in a Compare.
type Variant struct {
	Name    string
	Base    string
	Targets []Target
}

// Compare drives the variants in turn, one after the other, for rounds
// rounds (LANYARD_BENCH_ROUNDS overrides), each run o.Duration long, with
// wrk. On a shared machine the speed of the cores drifts during a run;
// variants measured in alternation see the same drift, so each round's
// ratio to the first variant compares like with like. It reports, per
// variant, the median over the rounds of req/s, p50 and p99 and of the
// ratio of its req/s to the first variant's ("<name>-%-of-<first>").
// Without wrk it skips the benchmark.
func Compare(b *testing.B, o Options, rounds int, vs ...Variant) map[string]Result {
	b.Helper()
	wrk, ok := wrkPath()
	if !ok {
		b.Skip("loadtest: Compare needs wrk (Debian: apt-get install wrk)")
	}
	if v, err := strconv.Atoi(os.Getenv("LANYARD_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	o = o.withDefaults()
	if prev, ok := wrkDone.Load(b); ok { // b.N = 1, then the real b.N: run once
		out := prev.(map[string]Result)
		report(b, vs, out)
		return out
	}
	for _, v := range vs {
		warm(b, v.Base, v.Targets)
	}
	runs := map[string][]Result{}
	b.ResetTimer()
	for range max(rounds, 1) {
		for _, v := range vs {
			r, err := runWrk(b, wrk, v.Base, o, v.Targets)
			if err != nil {
				b.Fatal(err)
			}
			runs[v.Name] = append(runs[v.Name], r)
		}
	}
	b.StopTimer()
	out := map[string]Result{}
	first := runs[vs[0].Name]
	for _, v := range vs {
		rs := runs[v.Name]
		var rate, p50, p99, ratio []float64
		for i, r := range rs {
			rate, p50, p99 = append(rate, r.PerSec), append(p50, float64(r.P50)), append(p99, float64(r.P99))
			ratio = append(ratio, 100*r.PerSec/first[i].PerSec)
		}
		out[v.Name] = Result{Driver: "wrk", Requests: rs[len(rs)/2].Requests, PerSec: median(rate),
			P50: time.Duration(median(p50)), P99: time.Duration(median(p99)), OfFirst: median(ratio)}
	}
	wrkDone.Store(b, out)
	report(b, vs, out)
	return out
}

func report(b *testing.B, vs []Variant, out map[string]Result) {
	for i, v := range vs {
		r := out[v.Name]
		b.ReportMetric(r.PerSec, v.Name+"-req/s")
		b.ReportMetric(ms(r.P50), v.Name+"-p50-ms")
		b.ReportMetric(ms(r.P99), v.Name+"-p99-ms")
		if i > 0 {
			b.ReportMetric(r.OfFirst, v.Name+"-%-of-"+vs[0].Name)
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func once(base string, t Target) (int, string) {
	req, err := http.NewRequest("GET", base+t.Path, nil)
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range t.Header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	return res.StatusCode, string(body)
}

// runGo is the in-process driver: b.N requests over o.Conns goroutines.
func runGo(b *testing.B, base string, o Options, targets []Target) (Result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.Conns * 2, MaxIdleConnsPerHost: o.Conns * 2, MaxConnsPerHost: o.Conns}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var all []time.Duration
	var next atomic.Uint64
	var failed atomic.Value
	b.SetParallelism((o.Conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t := targets[next.Add(1)%uint64(len(targets))]
			req, _ := http.NewRequest("GET", base+t.Path, nil)
			for k, v := range t.Header {
				req.Header.Set(k, v)
			}
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failed.CompareAndSwap(nil, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.CompareAndSwap(nil, fmt.Errorf("loadtest: %s answered %d", t.Path, resp.StatusCode))
				return
			}
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err, ok := failed.Load().(error); ok {
		return Result{}, err
	}
	if len(all) == 0 {
		return Result{Driver: "go"}, nil
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[int(float64(len(all)-1)*p)] }
	return Result{Driver: "go", Requests: len(all), PerSec: float64(len(all)) / elapsed.Seconds(), P50: pct(0.50), P99: pct(0.99)}, nil
}

// wrkScript rotates through the targets and counts non-200 answers.
const wrkScript = `
local targets = {
%s}
local i = 0
request = function()
  i = i + 1
  local t = targets[(i %% #targets) + 1]
  return wrk.format("GET", t[1], t[2])
end
%s`

// runWrk runs wrk for o.Duration with two threads (b.N is not used: wrk
// runs for a time, not a count).
func runWrk(b *testing.B, wrk, base string, o Options, targets []Target) (Result, error) {
	var lua strings.Builder
	for _, t := range targets {
		fmt.Fprintf(&lua, "  {%s, {", luaString(t.Path))
		for k, v := range t.Header {
			fmt.Fprintf(&lua, "[%s] = %s, ", luaString(k), luaString(v))
		}
		lua.WriteString("}},\n")
	}
	script := filepath.Join(b.TempDir(), "targets.lua")
	pace := ""
	if o.Pace > 0 {
		pace = fmt.Sprintf("delay = function() return %d end\n", o.Pace.Milliseconds())
	}
	if err := os.WriteFile(script, []byte(fmt.Sprintf(wrkScript, lua.String(), pace)), 0o600); err != nil {
		return Result{}, err
	}
	b.ResetTimer()
	cmd := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(o.Conns), "-d"+o.Duration.String(), "--latency", "-s", script, base)
	out, err := cmd.CombinedOutput()
	b.StopTimer()
	if err != nil {
		return Result{}, fmt.Errorf("loadtest: wrk: %v\n%s", err, out)
	}
	return parseWrk(out)
}

func luaString(s string) string { return strconv.Quote(s) }

var (
	wrkRate    = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkErrors  = regexp.MustCompile(`(?m)^\s*Socket errors: (.*)$`)
	wrkPercent = regexp.MustCompile(`^\s*(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func parseWrk(out []byte) (Result, error) {
	r := Result{Driver: "wrk"}
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		return r, fmt.Errorf("loadtest: %s non-2xx answers\n%s", m[1], out)
	}
	if m := wrkErrors.FindSubmatch(out); m != nil && !bytes.Contains(m[1], []byte("connect 0, read 0, write 0, timeout 0")) {
		return r, fmt.Errorf("loadtest: wrk socket errors: %s\n%s", m[1], out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("loadtest: no rate in wrk output:\n%s", out)
	}
	r.PerSec, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := wrkTotal.FindSubmatch(out); m != nil {
		r.Requests, _ = strconv.Atoi(string(m[1]))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := wrkPercent.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if r.P50 == 0 || r.P99 == 0 {
		return r, fmt.Errorf("loadtest: no latency distribution in wrk output:\n%s", out)
	}
	return r, nil
}
