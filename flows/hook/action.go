package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// JavaScript actions run in goja, a pure-Go ECMAScript engine, one fresh
// runtime per run (no state survives between runs). A script defines its
// action as
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
// console.log/info/warn/error are captured into the delivery log. There is
// no network, file system, timers or module loading. A run is stopped at its
// time limit (interrupting the VM) and when the heap grows by more than the
// engine's memory budget while it runs; native builtins that could make one
// huge allocation in a single step (String repeat/padStart/padEnd, Array
// fill/join/... on huge arrays, typed arrays) refuse sizes above MaxJSLength.

// MaxJSLength is the largest string or array a builtin may produce in one
// step inside an action.
const MaxJSLength = 1 << 22

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
	// MemoryBudget is the heap growth that stops a run (default 64 MiB).
	MemoryBudget uint64
	// MaxLogLines and MaxLogLine bound the captured console output.
	MaxLogLines, MaxLogLine int

	mu    sync.Mutex
	cache map[string]*goja.Program
	order []string
	idle  map[string][]*warm
}

// cacheSize bounds the compiled-script cache.
const cacheSize = 512

// NewEngine returns an engine with the default limits.
func NewEngine() *Engine {
	return &Engine{MemoryBudget: 64 << 20, MaxLogLines: 100, MaxLogLine: 1024, cache: map[string]*goja.Program{}, idle: map[string][]*warm{}}
}

var exportDefaultRE = regexp.MustCompile(`(?m)^(\s*)export\s+default\s+`)

// exportName receives the default export.
const exportName = "__lanyardAction"

// Compile compiles a script; a syntax error is a *ScriptError with its
// line and column.
func Compile(src string) (*goja.Program, error) {
	// `export default` becomes an assignment of the same length, so that
	// lines and columns of errors stay those of the source.
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
		return nil, &ScriptError{Message: "SyntaxError: more than one export default"}
	}
	ast, err := parser.ParseFile(nil, "action.js", src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &ScriptError{Message: "SyntaxError: " + list[0].Message, Line: list[0].Position.Line, Column: list[0].Position.Column}
		}
		return nil, &ScriptError{Message: "SyntaxError: " + err.Error()}
	}
	prg, err := goja.CompileAST(ast, false)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			p := ce.File.Position(ce.Offset)
			return nil, &ScriptError{Message: "SyntaxError: " + ce.Message, Line: p.Line, Column: p.Column}
		}
		return nil, &ScriptError{Message: err.Error()}
	}
	return prg, nil
}

// CompileCheck is Compile for validation.
func CompileCheck(src string) error {
	_, err := Compile(src)
	return err
}

// program returns the compiled script of key, compiling src on a miss.
func (e *Engine) program(key, src string) (*goja.Program, error) {
	if key != "" {
		e.mu.Lock()
		p := e.cache[key]
		e.mu.Unlock()
		if p != nil {
			return p, nil
		}
	}
	p, err := Compile(src)
	if err != nil || key == "" {
		return p, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[key]; !ok {
		e.cache[key] = p
		e.order = append(e.order, key)
		if len(e.order) > cacheSize {
			delete(e.cache, e.order[0])
			delete(e.idle, e.order[0])
			e.order = e.order[1:]
		}
	}
	return p, nil
}

// prelude hardens a fresh runtime: no typed arrays or eval-like entry
// points, and size checks on the builtins that allocate in one step.
var prelude = goja.MustCompile("prelude.js", `(function (g) {
	"use strict";
	var MAX = `+fmt.Sprint(MaxJSLength)+`;
	function tooLong(what) { throw new RangeError(what + " is larger than the action limit of " + MAX); }
	["ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
	 "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
	 "WeakRef", "FinalizationRegistry", "eval"].forEach(function (n) { delete g[n]; });
	function guard(proto, name, size) {
		var orig = proto[name];
		if (typeof orig !== "function") return;
		Object.defineProperty(proto, name, { configurable: true, writable: true, value: function () {
			if (size(this, arguments) > MAX) tooLong(name);
			return orig.apply(this, arguments);
		}});
	}
	var sp = String.prototype, ap = Array.prototype;
	guard(sp, "repeat", function (s, a) { return String(s).length * (Number(a[0]) || 0); });
	guard(sp, "padStart", function (s, a) { return Number(a[0]) || 0; });
	guard(sp, "padEnd", function (s, a) { return Number(a[0]) || 0; });
	["fill", "join", "toString", "toLocaleString", "copyWithin", "reverse", "includes", "indexOf", "lastIndexOf",
	 "slice", "splice", "concat", "flat", "sort", "toSorted", "toReversed", "with", "toSpliced", "keys", "values",
	 "entries"].forEach(function (n) { guard(ap, n, function (a) { return a.length >>> 0; }); });
	guard(Array, "from", function (_, a) { var s = a[0]; return s == null ? 0 : (s.length >>> 0); });
})(this);`, true)

// RunParams is one run.
type RunParams struct {
	// Key caches the compiled script and its warm runtimes ("" compiles
	// and builds a runtime every time).
	Key     string
	Script  string
	Event   json.RawMessage
	Timeout time.Duration
}

// warm is a runtime with the prelude and the script loaded; runs of the
// same key reuse it (after a run that ended cleanly), so only the action
// call is paid per run. Like a warm serverless function, globals a script
// sets survive between its runs.
type warm struct {
	vm    *goja.Runtime
	fn    goja.Callable
	parse goja.Callable
	api   goja.Value
	cur   *ActionResult // the run in progress, used by console and api
}

// warmPerKey bounds the idle runtimes kept per script.
const warmPerKey = 4

func (e *Engine) getWarm(key string) *warm {
	if key == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.idle[key]
	if len(l) == 0 {
		return nil
	}
	w := l[len(l)-1]
	e.idle[key] = l[:len(l)-1]
	return w
}

func (e *Engine) putWarm(key string, w *warm) {
	if key == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, cached := e.cache[key]; !cached || len(e.idle[key]) >= warmPerKey {
		return
	}
	w.cur = nil
	e.idle[key] = append(e.idle[key], w)
}

// newWarm builds a runtime for prg: prelude, console, api, the script.
func (e *Engine) newWarm(prg *goja.Program) (*warm, error) {
	w := &warm{vm: goja.New()}
	w.vm.SetMaxCallStackSize(512)
	if _, err := w.vm.RunProgram(prelude); err != nil {
		return nil, fmt.Errorf("hook: action prelude: %w", err)
	}
	e.installConsole(w)
	if err := installAPI(w); err != nil {
		return nil, err
	}
	w.api = w.vm.Get("api")
	parse, ok := goja.AssertFunction(w.vm.Get("JSON").ToObject(w.vm).Get("parse"))
	if !ok {
		return nil, errors.New("hook: no JSON.parse")
	}
	w.parse = parse
	if _, err := w.vm.RunProgram(prg); err != nil {
		return nil, jsError(err)
	}
	fn, ok := goja.AssertFunction(w.vm.Get(exportName))
	if !ok {
		if fn, ok = goja.AssertFunction(w.vm.Get("action")); !ok {
			return nil, &ScriptError{Message: "the script defines no action: use `export default function (event, api) { ... }`"}
		}
	}
	w.fn = fn
	return w, nil
}

// Run runs an action against event. It returns the result with the
// captured logs, and an error for a script that does not compile
// (*ScriptError), throws (*ScriptError with the stack) or hits a limit
// (ErrTimeLimit, ErrMemoryLimit); the result's logs are kept on error.
func (e *Engine) Run(ctx context.Context, p RunParams) (*ActionResult, error) {
	start := time.Now()
	res := &ActionResult{Decision: "allow", Logs: []string{}}
	defer func() {
		res.Duration = time.Since(start)
		res.DurationMS = float64(res.Duration.Microseconds()) / 1000
	}()
	if p.Timeout <= 0 {
		p.Timeout = DefaultActionTimeoutMS * time.Millisecond
	}
	// Limits: the timer interrupts at the time limit; the watchdog samples
	// the heap and interrupts when it grew past the budget. They cover the
	// script's top level (on a cold start) and the action call.
	var vmRef struct {
		sync.Mutex
		vm *goja.Runtime
	}
	interrupt := func(v error) {
		vmRef.Lock()
		defer vmRef.Unlock()
		if vmRef.vm != nil {
			vmRef.vm.Interrupt(v)
		}
	}
	done := make(chan struct{})
	defer close(done)
	timer := time.AfterFunc(p.Timeout, func() { interrupt(ErrTimeLimit) })
	defer timer.Stop()
	go e.watch(interrupt, done, ctx)

	w := e.getWarm(p.Key)
	if w == nil {
		prg, err := e.program(p.Key, p.Script)
		if err != nil {
			return res, err
		}
		if w, err = e.newWarm(prg); err != nil {
			return res, err
		}
	}
	w.cur = res
	vmRef.Lock()
	vmRef.vm = w.vm
	vmRef.Unlock()
	event, err := w.parse(goja.Undefined(), w.vm.ToValue(string(p.Event)))
	if err != nil {
		return res, fmt.Errorf("hook: action event: %w", jsError(err))
	}
	if _, err := w.fn(goja.Undefined(), event, w.api); err != nil {
		return res, jsError(err) // the runtime may be mid-way: not reused
	}
	// Later interrupts must not reach a runtime that is reused.
	vmRef.Lock()
	vmRef.vm = nil
	vmRef.Unlock()
	w.vm.ClearInterrupt()
	if timer.Stop() {
		e.putWarm(p.Key, w)
	}
	return res, nil
}

var heapMetric = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapBytes() uint64 {
	s := make([]metrics.Sample, 1)
	s[0].Name = heapMetric[0].Name
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// watch interrupts the run when the heap grows past the budget, or when
// ctx ends, until done.
func (e *Engine) watch(interrupt func(error), done <-chan struct{}, ctx context.Context) {
	base := heapBytes()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			interrupt(ctx.Err())
			return
		case <-t.C:
			if h := heapBytes(); h > base && h-base > e.MemoryBudget {
				interrupt(ErrMemoryLimit)
				return
			}
		}
	}
}

// jsError maps a goja error to ErrTimeLimit, ErrMemoryLimit or a
// *ScriptError with the line of the throwing frame and the stack.
func jsError(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if v, ok := ie.Value().(error); ok {
			return v
		}
		return ErrTimeLimit
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &ScriptError{Message: "RangeError: maximum call stack size exceeded"}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		se := &ScriptError{Message: ex.Value().String(), Stack: strings.TrimSpace(ex.String())}
		for _, f := range ex.Stack() {
			if pos := f.Position(); pos.Line > 0 && f.SrcName() == "action.js" {
				se.Line, se.Column = pos.Line, pos.Column
				break
			}
		}
		return se
	}
	return &ScriptError{Message: err.Error()}
}

func (e *Engine) installConsole(w *warm) {
	vm := w.vm
	console := vm.NewObject()
	for _, level := range []string{"log", "info", "warn", "error", "debug"} {
		_ = console.Set(level, func(call goja.FunctionCall) goja.Value {
			res := w.cur
			if res == nil || len(res.Logs) >= e.MaxLogLines {
				return goja.Undefined()
			}
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = logString(vm, a)
			}
			line := strings.Join(parts, " ")
			if len(line) > e.MaxLogLine {
				line = line[:e.MaxLogLine] + "…"
			}
			if level != "log" {
				line = "[" + level + "] " + line
			}
			res.Logs = append(res.Logs, line)
			if len(res.Logs) == e.MaxLogLines {
				res.Logs = append(res.Logs, "[console output truncated]")
			}
			return goja.Undefined()
		})
	}
	_ = vm.Set("console", console)
}

func logString(vm *goja.Runtime, v goja.Value) string {
	if o, ok := v.(*goja.Object); ok && o.ClassName() != "Function" && o.ClassName() != "Error" {
		if s, err := json.Marshal(o.Export()); err == nil {
			return string(s)
		}
	}
	return v.String()
}

func installAPI(w *warm) error {
	vm := w.vm
	api := vm.NewObject()
	_ = api.Set("deny", func(call goja.FunctionCall) goja.Value {
		res := w.cur
		msg := call.Argument(0)
		if goja.IsUndefined(msg) || goja.IsNull(msg) {
			panic(vm.NewTypeError("api.deny needs a message"))
		}
		ptr := "#/"
		if f := call.Argument(1); !goja.IsUndefined(f) && !goja.IsNull(f) {
			ptr = "#/" + strings.ReplaceAll(strings.TrimPrefix(f.String(), "#/"), ".", "/")
		}
		res.Decision = "deny"
		text := msg.String()
		if len(text) > 1000 {
			text = text[:1000]
		}
		addMessage(res, ptr, JSMessage{ID: 4000001, Text: text, Type: "error", Context: map[string]any{"reason": text}})
		return goja.Undefined()
	})
	set := func(name string, dst func(*IdentityChanges) *json.RawMessage) {
		_ = api.Set(name, func(call goja.FunctionCall) goja.Value {
			res := w.cur
			v := call.Argument(0)
			o, ok := v.(*goja.Object)
			if !ok || o.ClassName() != "Object" {
				panic(vm.NewTypeError("api.%s needs an object", name))
			}
			b, err := json.Marshal(o.Export())
			if err != nil {
				panic(vm.NewTypeError("api.%s: %s", name, err.Error()))
			}
			if res.Identity == nil {
				res.Identity = &IdentityChanges{}
			}
			*dst(res.Identity) = b
			return goja.Undefined()
		})
	}
	set("setTraits", func(c *IdentityChanges) *json.RawMessage { return &c.Traits })
	set("setMetadataPublic", func(c *IdentityChanges) *json.RawMessage { return &c.MetadataPublic })
	set("setMetadataAdmin", func(c *IdentityChanges) *json.RawMessage { return &c.MetadataAdmin })
	return vm.Set("api", api)
}

func addMessage(res *ActionResult, ptr string, m JSMessage) {
	for i := range res.Messages {
		if res.Messages[i].InstancePtr == ptr {
			res.Messages[i].Messages = append(res.Messages[i].Messages, m)
			return
		}
	}
	res.Messages = append(res.Messages, FieldMessages{InstancePtr: ptr, Messages: []JSMessage{m}})
}
