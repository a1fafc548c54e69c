package hook

import (
	"context"
	"encoding/json"
	"errors"
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

// Not parallel: the memory guard measures the process heap, so a bomb
// growing it would stop other tests' actions running at the same time (a
// known limit of the guard, see action.go).
func TestActionMemoryBombsAreStopped(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"array fill":      {"export default function () { const a = new Array(1e9); a.fill(1); }", "RangeError"},
		"array push":      {"export default function () { const a = new Array(1e9); for (let i = 0; ; i++) a[i] = {i: i}; }", ErrMemoryLimit.Error()},
		"string doubling": {`export default function () { let s = "x"; for (;;) s += s; }`, ErrMemoryLimit.Error()},
		"string repeat":   {`export default function () { "x".repeat(1e9); }`, "RangeError"},
		"array buffer":    {`export default function () { new ArrayBuffer(1e9); }`, "ReferenceError"},
		"array from":      {`export default function () { Array.from({length: 1e9}); }`, "RangeError"},
	} {
		t.Run(name, func(t *testing.T) {
			// A generous time limit: the memory guard stops it first, unless
			// the machine is so busy that the bomb grows too slowly to reach
			// the budget in time (the time limit then stops it).
			_, err := runAction(t, c.src, 3*time.Second)
			if err == nil || !strings.Contains(err.Error(), c.want) && !(c.want == ErrMemoryLimit.Error() && errors.Is(err, ErrTimeLimit)) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
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

func TestActionWarmRuntimeIsolatesRuns(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	src := `let runs = 0;
export default function (event, api) {
  runs++;
  console.log("run", runs);
  if (event.deny) api.deny("no");
}`
	for i, ev := range []string{`{"deny":true}`, `{"deny":false}`, `{"deny":false}`} {
		res, err := e.Run(context.Background(), RunParams{Key: "p/1/warm", Script: src, Event: json.RawMessage(ev)})
		if err != nil {
			t.Fatal(err)
		}
		// Each run has its own decision and logs, even on a reused runtime.
		if want := map[bool]string{true: "deny", false: "allow"}[i == 0]; res.Decision != want || len(res.Logs) != 1 || len(res.Messages) != map[bool]int{true: 1}[i == 0] {
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

// Not parallel: it grows the process heap, which the memory guard of
// actions running at the same time would count (see action.go).
func TestMemoryWatchdogInterrupts(t *testing.T) {
	e := NewEngine()
	e.MemoryBudget = 8 << 20
	got := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go e.watch(func(err error) { got <- err }, done, context.Background())
	var keep [][]byte
	deadline := time.After(10 * time.Second)
	for {
		keep = append(keep, make([]byte, 1<<20))
		select {
		case err := <-got:
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("interrupted with %v, want ErrMemoryLimit", err)
			}
			if len(keep) == 0 {
				t.Fatal("unreachable")
			}
			return
		case <-deadline:
			t.Fatalf("no interrupt after %d MiB of growth", len(keep))
		case <-time.After(time.Millisecond):
		}
	}
}
