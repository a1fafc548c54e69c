package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/quickjs"
)

// JavaScript actions run in QuickJS (modernc.org/quickjs, the C engine
// translated to pure Go), one fresh VM per run: no state survives between
// runs, so one end user's data can never reach another's run. A script
// defines its action as
//
//	export default function (event, api) { ... }
//
// or, equivalently, as a global function named action. The event is the
// hook event (identity, flow, request, project); api offers:
//
//	api.deny(message[, field])   stop the flow; field is a node name such as
//	                             "traits.email" (a flow-level message without)
//	api.setTraits(obj)           replace the identity's traits
//	api.setMetadataPublic(obj)   replace metadata_public
//	api.setMetadataAdmin(obj)    replace metadata_admin
//
// console.log/info/warn/error/debug are captured into the delivery log. The
// VM has no network, file system, timers or module loading: the engine's
// standard library is not loaded. Each run has its own limits, enforced by
// the engine itself and so independent of other runs in the process:
//
//   - CPU time (Run's Timeout, default 100 ms): the thread running the
//     action is pinned for the run and its CPU time (Linux: the thread's
//     CPU clock; elsewhere wall time) is checked when it could have reached
//     the limit; the VM is interrupted there (cpuguard.go). A wall-clock backstop of three times the limit
//     plus 250 ms stops a run that waits for a CPU on a saturated machine.
//   - Memory (Engine.MemoryBudget, default 64 MiB): the VM's allocator
//     refuses to grow past it, so new Array(1e9) or a growing object graph
//     end with ErrMemoryLimit (string doubling ends sooner, with the
//     engine's "string too long" error at 2^30 characters).
//   - Stack depth: the pure-Go build of QuickJS cannot read its stack
//     pointer, so its stack check (SetMaxStackSize) never fires; deep
//     recursion ends at the CPU time limit like any other long run. Its
//     frames cost about 17 µs each, so a run of 100 ms holds a few
//     thousand of them (a few MB) when it is stopped.
//
// Scripts are compiled once to bytecode, cached by key (project, config
// version and hook id); a run loads the cached bytecode into its VM.

// Engine errors.
var (
	ErrTimeLimit   = errors.New("the action was stopped at its time limit")
	ErrMemoryLimit = errors.New("the action was stopped at its memory limit")
)

// ScriptError is a script that does not compile, or that threw: the
// message, the line and column (1-based, 0 when unknown) and the stack.
type ScriptError struct {
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Stack   string `json:"stack,omitempty"`
}

func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d, column %d)", e.Message, e.Line, e.Column)
	}
	return e.Message
}

func scriptErrorDetails(err error) map[string]any {
	var se *ScriptError
	if errors.As(err, &se) {
		return map[string]any{"line": se.Line, "column": se.Column, "message": se.Message}
	}
	return nil
}

// FieldMessages are messages for one node (instance_ptr "#/traits/email")
// or the flow ("#/"), the Kratos webhook response shape.
type FieldMessages struct {
	InstancePtr string      `json:"instance_ptr"`
	Messages    []JSMessage `json:"messages"`
}

// JSMessage is one message of FieldMessages.
type JSMessage struct {
	ID      int            `json:"id"`
	Text    string         `json:"text"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context,omitempty"`
}

// IdentityChanges are the fields a hook may set (nil: unchanged).
type IdentityChanges struct {
	Traits         json.RawMessage `json:"traits,omitempty"`
	MetadataPublic json.RawMessage `json:"metadata_public,omitempty"`
	MetadataAdmin  json.RawMessage `json:"metadata_admin,omitempty"`
}

func (c *IdentityChanges) empty() bool {
	return c == nil || c.Traits == nil && c.MetadataPublic == nil && c.MetadataAdmin == nil
}

// ActionResult is what one run decided.
type ActionResult struct {
	Decision string           `json:"decision"` // allow | deny
	Messages []FieldMessages  `json:"messages,omitempty"`
	Identity *IdentityChanges `json:"identity,omitempty"`
	Logs     []string         `json:"logs"`
	Duration time.Duration    `json:"-"`
	// DurationMS is Duration for JSON output.
	DurationMS float64 `json:"duration_ms"`
}

// Engine compiles and runs actions. Compiled scripts are cached by key
// (project, config version and hook id); the zero value is not usable, use
// NewEngine.
type Engine struct {
	// MemoryBudget is the memory a run's VM may allocate (default 64 MiB),
	// the engine's own structures and the loaded script included.
	MemoryBudget uint64
	// MaxLogLines and MaxLogLine bound the captured console output.
	MaxLogLines, MaxLogLine int

	mu    sync.Mutex
	cache map[string][]byte // key → script bytecode
	order []string
}

// cacheSize bounds the compiled-script cache.
const cacheSize = 512

// NewEngine returns an engine with the default limits.
func NewEngine() *Engine {
	return &Engine{MemoryBudget: 64 << 20, MaxLogLines: 100, MaxLogLine: 1024, cache: map[string][]byte{}}
}

var exportDefaultRE = regexp.MustCompile(`(?m)^(\s*)export\s+default\s+`)

// exportName receives the default export.
const exportName = "__lanyardAction"

// rewrite turns `export default` into an assignment of the same length, so
// that lines and columns of errors stay those of the source.
func rewrite(src string) (string, error) {
	count := 0
	src = exportDefaultRE.ReplaceAllStringFunc(src, func(m string) string {
		count++
		lead := m[:len(m)-len(strings.TrimLeft(m, " \t\r\n"))]
		rest := m[len(lead):]
		repl := exportName + "="
		if len(repl) < len(rest) {
			repl += strings.Repeat(" ", len(rest)-len(repl))
		}
		return lead + repl
	})
	if count > 1 {
		return "", &ScriptError{Message: "SyntaxError: more than one export default"}
	}
	return src, nil
}

// newVM returns a VM with the engine's limits.
func (e *Engine) newVM() (*quickjs.VM, error) {
	vm, err := quickjs.NewVM()
	if err != nil {
		return nil, fmt.Errorf("hook: action engine: %w", err)
	}
	vm.SetMemoryLimit(uintptr(e.MemoryBudget))
	vm.SetMaxStackSize(256 << 10)
	return vm, nil
}

// compile compiles src to bytecode on vm; a syntax error is a
// *ScriptError with its line and column.
func compile(vm *quickjs.VM, src string) ([]byte, error) {
	src, err := rewrite(src)
	if err != nil {
		return nil, err
	}
	bc, err := vm.Compile(src, quickjs.EvalGlobal)
	if err != nil {
		return nil, jsError(err)
	}
	return bc, nil
}

// CompileCheck reports whether src compiles (a *ScriptError when not).
func (e *Engine) CompileCheck(src string) error {
	vm, err := e.newVM()
	if err != nil {
		return err
	}
	defer vm.Close()
	_, err = compile(vm, src)
	return err
}

// CompileCheck is Engine.CompileCheck with the default limits.
func CompileCheck(src string) error { return NewEngine().CompileCheck(src) }

// bytecode returns the compiled script of key, compiling src on vm on a
// miss ("" compiles every time).
func (e *Engine) bytecode(vm *quickjs.VM, key, src string) ([]byte, error) {
	if key != "" {
		e.mu.Lock()
		bc := e.cache[key]
		e.mu.Unlock()
		if bc != nil {
			return bc, nil
		}
	}
	bc, err := compile(vm, src)
	if err != nil || key == "" {
		return bc, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[key]; !ok {
		e.cache[key] = bc
		e.order = append(e.order, key)
		if len(e.order) > cacheSize {
			delete(e.cache, e.order[0])
			e.order = e.order[1:]
		}
	}
	return bc, nil
}

// preludeSrc sets up a VM before the script: console and api, and the
// functions Run calls. It keeps its own references to JSON and the
// builtins it uses, so a script that replaces them changes only its own
// view. Its functions are named __ly* so that error locations skip them.
const preludeSrc = `var ` + exportName + `;
(function (g) {
	"use strict";
	var MAXLOGS = %d, MAXLINE = %d, MAXMESSAGES = 100, MAXTEXT = 1000, MAXOBJECT = 1 << 20;
	var parse = JSON.parse, stringify = JSON.stringify, toString = Object.prototype.toString, S = String;
	var res = null;
	function fmt(v) {
		if (typeof v === "object" && v !== null && !(v instanceof Error)) {
			try { var s = stringify(v); if (s !== undefined) return s; } catch (e) {}
		}
		return S(v);
	}
	function console(level) {
		return function __lyConsole() {
			if (res === null || res.logs.length >= MAXLOGS) return;
			var line;
			try {
				var parts = [];
				for (var i = 0; i < arguments.length; i++) parts.push(fmt(arguments[i]));
				line = parts.join(" ");
			} catch (e) { line = "[unprintable]"; }
			if (line.length > MAXLINE) line = line.slice(0, MAXLINE) + "\u2026";
			if (level !== "log") line = "[" + level + "] " + line;
			res.logs.push(line);
			if (res.logs.length === MAXLOGS) res.logs.push("[console output truncated]");
		};
	}
	var con = {};
	["log", "info", "warn", "error", "debug"].forEach(function (l) { con[l] = console(l); });
	g.console = con;
	function add(ptr, m) {
		if (res.count >= MAXMESSAGES) return;
		res.count++;
		for (var i = 0; i < res.messages.length; i++) {
			if (res.messages[i].instance_ptr === ptr) { res.messages[i].messages.push(m); return; }
		}
		res.messages.push({ instance_ptr: ptr, messages: [m] });
	}
	function setter(name, key) {
		return function __lySet(v) {
			if (toString.call(v) !== "[object Object]") throw new TypeError("api." + name + " needs an object");
			var s = stringify(v);
			if (s.length > MAXOBJECT) throw new RangeError("api." + name + ": the object is larger than " + MAXOBJECT + " characters");
			res.identity[key] = s;
		};
	}
	g.api = {
		deny: function __lyDeny(message, field) {
			if (message === undefined || message === null) throw new TypeError("api.deny needs a message");
			var ptr = "#/";
			if (field !== undefined && field !== null) ptr = "#/" + S(field).replace(/^#\//, "").split(".").join("/");
			var text = S(message);
			if (text.length > MAXTEXT) text = text.slice(0, MAXTEXT);
			res.decision = "deny";
			add(ptr, { id: 4000001, text: text, type: "error", context: { reason: text } });
		},
		setTraits: setter("setTraits", "traits"),
		setMetadataPublic: setter("setMetadataPublic", "metadata_public"),
		setMetadataAdmin: setter("setMetadataAdmin", "metadata_admin")
	};
	g.__lyDefined = function __lyDefined() {
		return typeof ` + exportName + ` === "function" || typeof action === "function";
	};
	g.__lyRun = function __lyRun(ev) {
		res = { decision: "allow", messages: [], identity: {}, logs: [], count: 0 };
		var fn = typeof ` + exportName + ` === "function" ? ` + exportName + ` : action;
		fn(parse(ev), g.api);
		return __lyResult();
	};
	function __lyResult() {
		return stringify({ decision: res.decision, messages: res.messages, identity: res.identity, logs: res.logs });
	}
	g.__lyShape = function __lyShape(ev) {
		res = { decision: "allow", messages: [], identity: {}, logs: [], count: 0 };
		var fn = typeof ` + exportName + ` === "function" ? ` + exportName + ` : action;
		var out = fn(parse(ev));
		if (out === undefined || typeof out === "function" || typeof out === "symbol") throw new TypeError("the payload function must return a JSON value");
		return stringify({ body: stringify(out), logs: res.logs });
	};
	g.__lyLogs = function __lyLogs() { return res === null ? "[]" : stringify(res.logs); };
})(globalThis);
`

// preludes caches the prelude's bytecode per log limits.
var preludes sync.Map // "lines/line" → []byte

func (e *Engine) prelude(vm *quickjs.VM) ([]byte, error) {
	k := strconv.Itoa(e.MaxLogLines) + "/" + strconv.Itoa(e.MaxLogLine)
	if bc, ok := preludes.Load(k); ok {
		return bc.([]byte), nil
	}
	bc, err := vm.Compile(fmt.Sprintf(preludeSrc, e.MaxLogLines, e.MaxLogLine), quickjs.EvalGlobal)
	if err != nil {
		return nil, fmt.Errorf("hook: action prelude: %w", err)
	}
	preludes.Store(k, bc)
	return bc, nil
}

// RunParams is one run.
type RunParams struct {
	// Key caches the compiled script ("" compiles it every time).
	Key     string
	Script  string
	Event   json.RawMessage
	Timeout time.Duration
}

// Interrupt reasons.
const (
	stopNone int32 = iota
	stopTime
	stopContext
)

// Run runs an action against event. It returns the result with the
// captured logs, and an error for a script that does not compile
// (*ScriptError), throws (*ScriptError with the stack) or hits a limit
// (ErrTimeLimit, ErrMemoryLimit, or ctx's error when ctx ended first); the
// result's logs are kept on error.
func (e *Engine) Run(ctx context.Context, p RunParams) (*ActionResult, error) {
	start := time.Now()
	res := &ActionResult{Decision: "allow", Logs: []string{}}
	defer func() {
		res.Duration = time.Since(start)
		res.DurationMS = float64(res.Duration.Microseconds()) / 1000
	}()
	out, err := e.exec(ctx, p, "__lyRun", res)
	if err != nil {
		return res, err
	}
	if err := decodeResult(out, res); err != nil {
		return res, err
	}
	return res, nil
}

// MaxPayload is the largest webhook body a payload function may return.
const MaxPayload = 1 << 20

// Shape runs a webhook's payload function, `export default function
// (event) { return ... }`, and returns what it returned as JSON (the body
// sent instead of the event) with the console output. Errors are those of
// Run; a body larger than MaxPayload is refused.
func (e *Engine) Shape(ctx context.Context, p RunParams) (json.RawMessage, []string, error) {
	res := &ActionResult{Logs: []string{}}
	out, err := e.exec(ctx, p, "__lyShape", res)
	if err != nil {
		return nil, res.Logs, err
	}
	var v struct {
		Body string   `json:"body"`
		Logs []string `json:"logs"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, res.Logs, fmt.Errorf("hook: payload function result: %w", err)
	}
	if len(v.Body) > MaxPayload {
		return nil, v.Logs, &ScriptError{Message: fmt.Sprintf("RangeError: the payload is larger than %d bytes", MaxPayload)}
	}
	return json.RawMessage(v.Body), v.Logs, nil
}

// exec runs entry (a prelude function taking the event's JSON and
// returning a JSON string) on a fresh VM loaded with the script; res gets
// the logs of a run that threw.
func (e *Engine) exec(ctx context.Context, p RunParams, entry string, res *ActionResult) (string, error) {
	if p.Timeout <= 0 {
		p.Timeout = DefaultActionTimeoutMS * time.Millisecond
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	vm, err := e.newVM()
	if err != nil {
		return "", err
	}
	defer vm.Close()

	// The CPU clock of this thread measures the run: pin the goroutine to
	// it until the run ends.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var reason atomic.Int32
	stop := func(why int32) {
		reason.CompareAndSwap(stopNone, why)
		vm.Interrupt()
	}
	guard := newCPUGuard(p.Timeout, func() { stop(stopTime) })
	defer guard.stop()
	defer context.AfterFunc(ctx, func() { stop(stopContext) })()
	// The wall-clock backstop, armed again by every call into the VM.
	if err := vm.SetEvalTimeout(3*p.Timeout + 250*time.Millisecond); err != nil {
		return "", fmt.Errorf("hook: action engine: %w", err)
	}
	failed := func(err error) error {
		switch reason.Load() {
		case stopTime:
			return ErrTimeLimit
		case stopContext:
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		err = jsError(err)
		if !errors.Is(err, ErrTimeLimit) && !errors.Is(err, ErrMemoryLimit) {
			// The logs written before the throw.
			if logs, lerr := vm.Call("__lyLogs"); lerr == nil {
				if s, ok := logs.(string); ok {
					_ = json.Unmarshal([]byte(s), &res.Logs)
				}
			}
		}
		return err
	}

	pre, err := e.prelude(vm)
	if err != nil {
		return "", err
	}
	if _, err := vm.EvalBytecode(pre); err != nil {
		return "", fmt.Errorf("hook: action prelude: %w", failed(err))
	}
	bc, err := e.bytecode(vm, p.Key, p.Script)
	if err != nil {
		return "", err
	}
	if _, err := vm.EvalBytecode(bc); err != nil {
		return "", failed(err)
	}
	if ok, err := vm.Call("__lyDefined"); err != nil {
		return "", failed(err)
	} else if ok != true {
		return "", &ScriptError{Message: "the script defines no function: use `export default function (event, api) { ... }`"}
	}
	out, err := vm.Call(entry, string(p.Event))
	if err != nil {
		return "", failed(err)
	}
	s, ok := out.(string)
	if !ok {
		return "", errors.New("hook: action engine: the run returned no result")
	}
	return s, nil
}

// decodeResult reads what __lyRun returned into res; identity changes are
// normalized (keys sorted) by a round trip through Go values.
func decodeResult(s string, res *ActionResult) error {
	var out struct {
		Decision string            `json:"decision"`
		Messages []FieldMessages   `json:"messages"`
		Identity map[string]string `json:"identity"`
		Logs     []string          `json:"logs"`
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return fmt.Errorf("hook: action result: %w", err)
	}
	if out.Decision != "deny" {
		out.Decision = "allow"
	}
	res.Decision, res.Messages = out.Decision, out.Messages
	if out.Logs != nil {
		res.Logs = out.Logs
	}
	for _, f := range []struct {
		name string
		dst  func(*IdentityChanges) *json.RawMessage
	}{
		{"traits", func(c *IdentityChanges) *json.RawMessage { return &c.Traits }},
		{"metadata_public", func(c *IdentityChanges) *json.RawMessage { return &c.MetadataPublic }},
		{"metadata_admin", func(c *IdentityChanges) *json.RawMessage { return &c.MetadataAdmin }},
	} {
		raw, ok := out.Identity[f.name]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return fmt.Errorf("hook: action result: %s: %w", f.name, err)
		}
		norm, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("hook: action result: %s: %w", f.name, err)
		}
		if res.Identity == nil {
			res.Identity = &IdentityChanges{}
		}
		*f.dst(res.Identity) = norm
	}
	return nil
}

// stackLocation finds "<eval>:line:col" in the first frame of stack that is
// not one of the prelude's functions.
var stackFrameRE = regexp.MustCompile(`at (\S+ )?\(?<eval>:(\d+):(\d+)\)?`)

// jsError maps an engine error to ErrTimeLimit, ErrMemoryLimit or a
// *ScriptError with the line of the throwing frame and the stack.
func jsError(err error) error {
	var qe *quickjs.Error
	if !errors.As(err, &qe) {
		return &ScriptError{Message: err.Error()}
	}
	raw := strings.TrimSpace(qe.Error())
	switch {
	case qe.Name == "InternalError" && qe.Message == "interrupted", raw == "InternalError: interrupted":
		return ErrTimeLimit
	case qe.Name == "InternalError" && qe.Message == "out of memory", raw == "InternalError: out of memory",
		raw == "null", raw == "":
		// Past the limit the engine may not even allocate the error.
		return ErrMemoryLimit
	}
	msg := raw
	if qe.Name != "" && qe.Message != "" {
		msg = qe.Name + ": " + qe.Message
	}
	se := &ScriptError{Message: msg, Line: qe.LineNumber, Column: qe.ColumnNumber, Stack: strings.TrimRight(qe.Stack, "\n")}
	if se.Line == 0 {
		for _, m := range stackFrameRE.FindAllStringSubmatch(qe.Stack, -1) {
			if strings.HasPrefix(strings.TrimSpace(m[1]), "__ly") {
				continue
			}
			se.Line, _ = strconv.Atoi(m[2])
			se.Column, _ = strconv.Atoi(m[3])
			break
		}
	}
	if strings.Contains(se.Message, "stack overflow") {
		se.Message = "RangeError: maximum call stack size exceeded"
	}
	return se
}
