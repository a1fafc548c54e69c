package hook

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

const sampleEvent = `{"identity":{"traits":{"email":"a@blocked.example"},"metadata_public":null},"flow":{"id":"f","type":"browser","method":"password"}}`

func runAction(t *testing.T, src string, timeout time.Duration) (*ActionResult, error) {
	t.Helper()
	return NewEngine().Run(context.Background(), RunParams{Script: src, Event: json.RawMessage(sampleEvent), Timeout: timeout})
}

func TestActionDeniesWithFieldMessage(t *testing.T) {
	t.Parallel()
	res, err := runAction(t, `export default function (event, api) {
  console.log("checking", event.identity.traits.email);
  if (event.identity.traits.email.endsWith("@blocked.example")) {
    api.deny("Sign-ups from this domain are not allowed.", "traits.email");
  }
}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "deny" || len(res.Messages) != 1 || res.Messages[0].InstancePtr != "#/traits/email" {
		t.Fatalf("result = %+v, want a deny on #/traits/email", res)
	}
	if got, want := res.Logs, []string{"checking a@blocked.example"}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}

func TestActionSetsMetadata(t *testing.T) {
	t.Parallel()
	res, err := runAction(t, `function action(event, api) { api.setMetadataPublic({plan: "free", n: 1}); }`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "allow" || res.Identity == nil || string(res.Identity.MetadataPublic) != `{"n":1,"plan":"free"}` {
		t.Fatalf("result = %+v", res)
	}
}

func TestActionInfiniteLoopStopsAtTimeLimit(t *testing.T) {
	t.Parallel()
	_, err := runAction(t, "export default function () { for (;;) {} }", 50*time.Millisecond)
	if !errors.Is(err, ErrTimeLimit) {
		t.Fatalf("err = %v, want ErrTimeLimit", err)
	}
}

// Each run's VM has its own memory limit, so bombs run in parallel with
// other tests.
func TestActionMemoryBombsAreStopped(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ src, want string }{
		"array fill":      {"export default function () { const a = new Array(1e9); a.fill(1); }", ErrMemoryLimit.Error()},
		"array push":      {"export default function () { const a = new Array(1e9); for (let i = 0; ; i++) a[i] = {i: i}; }", ErrMemoryLimit.Error()},
		"object graph":    {"export default function () { const a = []; for (;;) a.push({x: [1, 2, 3]}); }", ErrMemoryLimit.Error()},
		"caught and kept": {"export default function () { const a = []; for (;;) { try { a.push(new Array(1e5).fill(0)); } catch (e) {} } }", ErrMemoryLimit.Error()},
		"string doubling": {`export default function () { let s = "x"; for (;;) s += s; }`, "string too long"},
		"string repeat":   {`export default function () { "x".repeat(1e9); }`, ErrMemoryLimit.Error()},
		"array buffer":    {`export default function () { new ArrayBuffer(1e9); }`, ErrMemoryLimit.Error()},
		"array from":      {`export default function () { Array.from({length: 1e9}); }`, ErrMemoryLimit.Error()},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A generous time limit: the memory limit stops it first. A
			// bomb that catches the error and goes on allocating ends at
			// the time limit instead.
			_, err := runAction(t, c.src, 3*time.Second)
			if err == nil || !strings.Contains(err.Error(), c.want) && !(name == "caught and kept" && errors.Is(err, ErrTimeLimit)) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// Deep recursion is stopped at the time limit (see the Engine's limits: the
// pure-Go QuickJS has no working stack check), and the next run works.
func TestActionDeepRecursionStops(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, err := runAction(t, `export default function () { function f(n) { return f(n + 1) + 1; } f(0); }`, 200*time.Millisecond)
	if !errors.Is(err, ErrTimeLimit) {
		t.Fatalf("err = %v, want ErrTimeLimit", err)
	}
	if d := time.Since(start); d > 3*200*time.Millisecond+250*time.Millisecond+2*time.Second {
		t.Fatalf("the run took %v, past its backstop", d)
	}
	if _, err := runAction(t, `export default function () { function f(n) { return n ? f(n - 1) + 1 : 0; } f(500); }`, 0); err != nil {
		t.Fatalf("a run after it: %v", err)
	}
}

// A bomb at its memory limit does not disturb another action running at
// the same time: limits are per VM, not per process.
func TestActionMemoryLimitIsPerRun(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	e.MemoryBudget = 8 << 20
	bombs := make(chan error, 4)
	for range cap(bombs) {
		go func() {
			_, err := e.Run(context.Background(), RunParams{Script: "export default function () { const a = []; for (;;) a.push({i: a.length}); }",
				Event: json.RawMessage(sampleEvent), Timeout: 3 * time.Second})
			bombs <- err
		}()
	}
	for i := range 200 {
		res, err := e.Run(context.Background(), RunParams{Key: "p/1/ok", Script: `export default function (event, api) {
  const a = []; for (let i = 0; i < 1000; i++) a.push({i});
  api.setMetadataPublic({n: a.length});
}`, Event: json.RawMessage(sampleEvent)})
		if err != nil || string(res.Identity.MetadataPublic) != `{"n":1000}` {
			t.Fatalf("run %d next to the bombs: %+v, %v", i, res, err)
		}
	}
	for range cap(bombs) {
		if err := <-bombs; !errors.Is(err, ErrMemoryLimit) {
			t.Fatalf("bomb: %v, want ErrMemoryLimit", err)
		}
	}
}

// The time limit counts the CPU time of the run's thread, not the time it
// waits: a thread that sleeps past the limit is not stopped, one that
// computes is.
func TestCPUGuardCountsCPUTime(t *testing.T) {
	t.Parallel()
	if threadClock() == nil {
		t.Skip("no thread CPU clock on this system: the guard uses wall time")
	}
	fired := make(chan struct{})
	done := make(chan bool)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		g := newCPUGuard(30*time.Millisecond, func() { close(fired) })
		defer g.stop()
		time.Sleep(120 * time.Millisecond) // waiting: no CPU
		select {
		case <-fired:
			done <- false
			return
		default:
		}
		deadline := time.Now().Add(10 * time.Second)
		for x := 0; time.Now().Before(deadline); x++ { // computing
			select {
			case <-fired:
				done <- true
				return
			default:
			}
		}
		done <- false
	}()
	if !<-done {
		t.Fatal("the guard fired while the thread slept, or never while it computed")
	}
}

func TestActionErrorHasLine(t *testing.T) {
	t.Parallel()
	_, err := runAction(t, "export default function (event) {\n  const x = 1;\n  null.boom;\n}", 0)
	var se *ScriptError
	if !errors.As(err, &se) || se.Line != 3 || !strings.Contains(se.Message, "TypeError") {
		t.Fatalf("err = %#v, want a TypeError at line 3", err)
	}
	_, err = runAction(t, "export default function (event) {\n  if (\n}", 0)
	if !errors.As(err, &se) || se.Line != 3 || !strings.Contains(se.Message, "SyntaxError") {
		t.Fatalf("err = %#v, want a SyntaxError at line 3", err)
	}
}

// Every run has a fresh VM: nothing a run leaves in globals reaches the
// next one (another end user's run).
func TestActionRunsShareNoState(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	src := `let runs = 0;
export default function (event, api) {
  runs++;
  console.log("run", runs);
  if (event.deny) api.deny("no");
}`
	for i, ev := range []string{`{"deny":true}`, `{"deny":false}`, `{"deny":false}`} {
		res, err := e.Run(context.Background(), RunParams{Key: "p/1/fresh", Script: src, Event: json.RawMessage(ev)})
		if err != nil {
			t.Fatal(err)
		}
		// Each run has its own decision and logs, and its own globals.
		if want := map[bool]string{true: "deny", false: "allow"}[i == 0]; res.Decision != want || len(res.Logs) != 1 || res.Logs[0] != "run 1" || len(res.Messages) != map[bool]int{true: 1}[i == 0] {
			t.Fatalf("run %d: %+v", i, res)
		}
	}
	// A run stopped at its limit does not poison the next one.
	loop := "export default function (event) { if (event.loop) for (;;) {} }"
	if _, err := e.Run(context.Background(), RunParams{Key: "p/1/loop", Script: loop, Event: json.RawMessage(`{"loop":true}`), Timeout: 20 * time.Millisecond}); !errors.Is(err, ErrTimeLimit) {
		t.Fatalf("loop: %v", err)
	}
	if _, err := e.Run(context.Background(), RunParams{Key: "p/1/loop", Script: loop, Event: json.RawMessage(`{"loop":false}`)}); err != nil {
		t.Fatalf("after a stopped run: %v", err)
	}
}
