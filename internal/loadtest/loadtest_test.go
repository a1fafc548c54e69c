package loadtest

import (
	"strings"
	"testing"
	"time"
)

const sample = `Running 5s test @ http://127.0.0.1:40123
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.02ms  21.33ms   80.12%
    Req/Sec    12.01k   801.22    13.55k    71.00%
  Latency Distribution
     50%    1.93ms
     75%    2.51ms
     90%    3.22ms
     99%  812.00us
  119518 requests in 5.00s, 60.12MB read
Requests/sec:  23901.55
Transfer/sec:     12.02MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if r.PerSec != 23901.55 || r.Requests != 119518 || r.P50 != 1930*time.Microsecond || r.P99 != 812*time.Microsecond {
		t.Errorf("parsed %+v", r)
	}
	bad := strings.Replace(sample, "Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec", 1)
	if _, err := parseWrk([]byte(bad)); err == nil || !strings.Contains(err.Error(), "12 non-2xx") {
		t.Errorf("non-2xx answers: %v", err)
	}
	sock := strings.Replace(sample, "Requests/sec", "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec", 1)
	if _, err := parseWrk([]byte(sock)); err == nil {
		t.Error("socket errors were not reported")
	}
	if _, err := parseWrk([]byte("garbage")); err == nil {
		t.Error("garbage parsed")
	}
}
