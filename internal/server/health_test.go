package server_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A Redis that goes away and comes back: ready names it while it is down
// and recovers by itself. The "Redis" is a TCP proxy to the real one that
// the test can cut.
func TestReadyNamesFailingDependencyAndRecovers(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	proxy := newCuttableProxy(t, "127.0.0.1:6379")
	deps := servertest.Deps(t)
	deps.Redis = redis.NewClient(&redis.Options{Addr: proxy.addr(), MaxRetries: -1, DialTimeout: 300 * time.Millisecond})
	h := server.APIRouter(deps)
	p := tenanttest.NewProject(t).Project
	_ = env

	if w := do(t, h, req{host: host(p), path: "/health/ready"}); w.Code != 200 {
		t.Fatalf("ready: %d %s", w.Code, w.Body)
	}
	proxy.cut(true)
	w := do(t, h, req{host: host(p), path: "/health/ready"})
	var body struct{ Errors map[string]string }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 503 || body.Errors["redis"] == "" || body.Errors["database"] != "" {
		t.Fatalf("ready with Redis down: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, req{host: host(p), path: "/health/alive"}); w.Code != 200 {
		t.Fatalf("alive with Redis down: %d", w.Code)
	}
	proxy.cut(false)
	waitFor(t, func() bool { return do(t, h, req{host: host(p), path: "/health/ready"}).Code == 200 })
}

type cuttableProxy struct {
	ln     net.Listener
	target string
	down   chan bool
	state  bool
	conns  []net.Conn
}

func newCuttableProxy(t *testing.T, target string) *cuttableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{ln: ln, target: target, down: make(chan bool)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ln.Close() })
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-p.down:
				p.state = d
				if d {
					for _, c := range p.conns {
						c.Close()
					}
					p.conns = nil
				}
			case c := <-accepted:
				if p.state {
					c.Close()
					continue
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					continue
				}
				p.conns = append(p.conns, c, up)
				go pipe(c, up)
				go pipe(up, c)
			}
		}
	}()
	return p
}

func pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

func (p *cuttableProxy) addr() string  { return p.ln.Addr().String() }
func (p *cuttableProxy) cut(down bool) { p.down <- down }
