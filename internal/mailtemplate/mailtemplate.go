// Package mailtemplate renders Go template syntax ({{.Field}}, if, else,
// range, with, variables, pipelines and the usual functions) over plain
// data: maps, slices, strings, numbers and booleans.
//
// It exists instead of text/template and html/template because those
// evaluate fields through reflection by method name, which makes the Go
// linker keep every exported method of every type in the binary (several
// megabytes for Lanyard). Project templates only ever see plain JSON-like
// data, so nothing here needs reflection.
//
// Differences from text/template, on purpose:
//   - a missing map key, and a field of a missing value, print as "";
//     a top-level variable that does not exist is an error (so that a
//     template naming {{.Code}} instead of {{.VerificationCode}} is refused
//     when it is saved);
//   - {{define}}, {{block}} and {{template}} are not supported;
//   - rendering stops with an error after a budget of steps and of output
//     bytes, so that a template such as {{range 1000000000}} cannot hang a
//     worker;
//   - in HTML mode every value an action prints is HTML-escaped (text in
//     the template itself is not). The escaping is not contextual like
//     html/template's: values land safely in element text and in quoted
//     attribute values, which is all mail templates need.
package mailtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
)

// Limits of one Execute.
const (
	MaxOutput = 1 << 20   // bytes
	MaxSteps  = 1_000_000 // nodes evaluated
)

// Vars are the top-level variables of a template: {{.Name}} looks Name up
// here, and an unknown name is an error.
type Vars map[string]any

// Template is a parsed template.
type Template struct {
	name string
	tree *parse.Tree
	html bool
}

// funcs are the functions templates may call (parse only checks that a
// name is present; call evaluates them).
var funcs = map[string]any{
	"and": true, "or": true, "not": true, "eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
	"len": true, "index": true, "print": true, "printf": true, "println": true, "html": true, "urlquery": true,
	"upper": true, "lower": true, "trim": true, "default": true,
}

// Parse parses src. With asHTML, printed values are HTML-escaped. Errors
// read "template: NAME:LINE: reason", like text/template's.
func Parse(name, src string, asHTML bool) (*Template, error) {
	trees, err := parse.Parse(name, src, "", "", funcs)
	if err != nil {
		return nil, err
	}
	t := &Template{name: name, tree: trees[name], html: asHTML}
	for n, tr := range trees {
		if n != name {
			return nil, t.errorf(tr.Root, "{{define}} and {{block}} are not supported")
		}
	}
	if t.tree == nil || t.tree.Root == nil {
		t.tree = &parse.Tree{Name: name, Root: &parse.ListNode{}}
	}
	if err := t.check(t.tree.Root); err != nil {
		return nil, err
	}
	return t, nil
}

// check refuses nodes this package does not evaluate.
func (t *Template) check(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := t.check(c); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return t.errorf(n, "{{template}} is not supported")
	case *parse.IfNode:
		return t.checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return t.checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return t.checkBranch(&n.BranchNode)
	}
	return nil
}

func (t *Template) checkBranch(b *parse.BranchNode) error {
	if err := t.check(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return t.check(b.ElseList)
	}
	return nil
}

// Error is a failure while rendering, with the template line.
type Error struct {
	Name string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("template: %s:%d: %s", e.Name, e.Line, e.Msg) }

func (t *Template) errorf(n parse.Node, format string, args ...any) *Error {
	line := 1
	if n != nil {
		loc, _ := t.tree.ErrorContext(n)
		// loc is "name:line:col".
		if parts := strings.Split(loc, ":"); len(parts) >= 3 {
			if l, err := strconv.Atoi(parts[len(parts)-2]); err == nil {
				line = l
			}
		}
	}
	return &Error{Name: t.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Execute renders the template with vars as dot into a new string.
func (t *Template) Execute(vars Vars) (string, error) {
	s := &state{t: t, vars: []variable{{"$", vars}}}
	if err := s.walk(vars, t.tree.Root); err != nil {
		if errors.Is(err, errBreak) || errors.Is(err, errContinue) {
			return "", t.errorf(nil, "{{break}} or {{continue}} outside {{range}}")
		}
		return "", err
	}
	return s.out.String(), nil
}

type variable struct {
	name  string
	value any
}

type state struct {
	t     *Template
	out   bytes.Buffer
	vars  []variable
	steps int
	node  parse.Node // for error positions
}

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

func (s *state) fail(format string, args ...any) error {
	return s.t.errorf(s.node, format, args...)
}

func (s *state) step(n parse.Node) error {
	s.node = n
	s.steps++
	if s.steps > MaxSteps {
		return s.fail("the template takes too many steps to render (more than %d)", MaxSteps)
	}
	return nil
}

func (s *state) write(p string) error {
	if s.out.Len()+len(p) > MaxOutput {
		return s.fail("the rendered text is longer than %d bytes", MaxOutput)
	}
	s.out.WriteString(p)
	return nil
}

func (s *state) mark() int { return len(s.vars) }

func (s *state) pop(mark int) { s.vars = s.vars[:mark] }

func (s *state) setVar(name string, v any) error {
	for i := len(s.vars) - 1; i >= 0; i-- {
		if s.vars[i].name == name {
			s.vars[i].value = v
			return nil
		}
	}
	return s.fail("undefined variable: %s", name)
}

func (s *state) varValue(name string) (any, error) {
	for i := len(s.vars) - 1; i >= 0; i-- {
		if s.vars[i].name == name {
			return s.vars[i].value, nil
		}
	}
	return nil, s.fail("undefined variable: %s", name)
}

func (s *state) walk(dot any, n parse.Node) error {
	if err := s.step(n); err != nil {
		return err
	}
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			if err := s.walk(dot, c); err != nil {
				return err
			}
		}
	case *parse.TextNode:
		return s.write(string(n.Text))
	case *parse.CommentNode:
	case *parse.ActionNode:
		v, err := s.pipe(dot, n.Pipe)
		if err != nil {
			return err
		}
		if len(n.Pipe.Decl) > 0 {
			return nil
		}
		out := printable(v)
		if s.t.html {
			out = html.EscapeString(out)
		}
		return s.write(out)
	case *parse.IfNode:
		return s.branch(dot, &n.BranchNode, false)
	case *parse.WithNode:
		return s.branch(dot, &n.BranchNode, true)
	case *parse.RangeNode:
		return s.rangeNode(dot, n)
	case *parse.BreakNode:
		return errBreak
	case *parse.ContinueNode:
		return errContinue
	default:
		return s.fail("unexpected %s", n)
	}
	return nil
}

func (s *state) branch(dot any, b *parse.BranchNode, with bool) error {
	defer s.pop(s.mark())
	v, err := s.pipe(dot, b.Pipe)
	if err != nil {
		return err
	}
	if truth(v) {
		if with {
			dot = v
		}
		return s.walk(dot, b.List)
	}
	if b.ElseList != nil {
		return s.walk(dot, b.ElseList)
	}
	return nil
}

func (s *state) rangeNode(dot any, r *parse.RangeNode) error {
	defer s.pop(s.mark())
	v, err := s.pipe(dot, r.Pipe)
	if err != nil {
		return err
	}
	// The pipe declared its variables; each element sets them.
	mark := s.mark()
	one := func(k, e any) error {
		if len(r.Pipe.Decl) > 0 {
			if r.Pipe.IsAssign {
				if len(r.Pipe.Decl) > 1 {
					_ = s.setVar(r.Pipe.Decl[0].Ident[0], k)
					_ = s.setVar(r.Pipe.Decl[1].Ident[0], e)
				} else {
					_ = s.setVar(r.Pipe.Decl[0].Ident[0], e)
				}
			} else if len(r.Pipe.Decl) > 1 {
				s.vars[mark-2].value, s.vars[mark-1].value = k, e
			} else {
				s.vars[mark-1].value = e
			}
		}
		err := s.walk(e, r.List)
		s.pop(mark)
		if errors.Is(err, errContinue) {
			return nil
		}
		return err
	}
	if m, ok := v.(Vars); ok {
		v = map[string]any(m)
	}
	n := 0
	var loopErr error
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			if loopErr = one(i, e); loopErr != nil {
				break
			}
		}
		n = len(v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if loopErr = one(k, v[k]); loopErr != nil {
				break
			}
		}
		n = len(v)
	case nil:
	default:
		count, ok := asInt(v)
		if !ok {
			return s.fail("range can't iterate over %s", typeName(v))
		}
		for i := int64(0); i < count; i++ {
			if loopErr = one(i, i); loopErr != nil {
				break
			}
		}
		n = int(max(count, 0))
	}
	if errors.Is(loopErr, errBreak) {
		return nil
	}
	if loopErr != nil {
		return loopErr
	}
	if n == 0 && r.ElseList != nil {
		return s.walk(dot, r.ElseList)
	}
	return nil
}

// pipe evaluates a pipeline and declares or assigns its variables.
func (s *state) pipe(dot any, p *parse.PipeNode) (any, error) {
	if p == nil {
		return nil, s.fail("missing value")
	}
	var v any
	for i, c := range p.Cmds {
		var err error
		var final *any
		if i > 0 {
			final = &v
		}
		if v, err = s.command(dot, c, final); err != nil {
			return nil, err
		}
	}
	for _, d := range p.Decl {
		if p.IsAssign {
			if err := s.setVar(d.Ident[0], v); err != nil {
				return nil, err
			}
		} else {
			s.vars = append(s.vars, variable{d.Ident[0], v})
		}
	}
	return v, nil
}

// command evaluates one command; final is the value piped into it.
func (s *state) command(dot any, c *parse.CommandNode, final *any) (any, error) {
	if err := s.step(c); err != nil {
		return nil, err
	}
	first := c.Args[0]
	if id, ok := first.(*parse.IdentifierNode); ok {
		return s.call(dot, id.Ident, c.Args[1:], final)
	}
	if len(c.Args) > 1 || final != nil {
		return nil, s.fail("can't give argument to non-function %s", first)
	}
	return s.arg(dot, first)
}

// arg evaluates an argument node.
func (s *state) arg(dot any, n parse.Node) (any, error) {
	s.node = n
	switch n := n.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.NilNode:
		return nil, s.fail("nil is not a command")
	case *parse.BoolNode:
		return n.True, nil
	case *parse.StringNode:
		return n.Text, nil
	case *parse.NumberNode:
		switch {
		case n.IsInt:
			return n.Int64, nil
		case n.IsFloat:
			return n.Float64, nil
		default:
			return nil, s.fail("number %s is not supported", n.Text)
		}
	case *parse.FieldNode:
		return s.fields(dot, n.Ident)
	case *parse.VariableNode:
		v, err := s.varValue(n.Ident[0])
		if err != nil {
			return nil, err
		}
		return s.fields(v, n.Ident[1:])
	case *parse.ChainNode:
		v, err := s.arg(dot, n.Node)
		if err != nil {
			return nil, err
		}
		return s.fields(v, n.Field)
	case *parse.PipeNode:
		defer s.pop(s.mark())
		return s.pipe(dot, n)
	case *parse.IdentifierNode:
		return s.call(dot, n.Ident, nil, nil)
	}
	return nil, s.fail("can't evaluate %s", n)
}

// fields follows .a.b.c from v.
func (s *state) fields(v any, names []string) (any, error) {
	for _, name := range names {
		switch m := v.(type) {
		case Vars:
			val, ok := m[name]
			if !ok {
				return nil, s.fail("there is no variable .%s", name)
			}
			v = val
		case map[string]any:
			v = m[name]
		case nil:
			return nil, nil
		default:
			return nil, s.fail("can't evaluate field %s in a %s", name, typeName(v))
		}
	}
	return v, nil
}

// call runs a function. Arguments are evaluated lazily for and/or.
func (s *state) call(dot any, name string, argNodes []parse.Node, final *any) (any, error) {
	n := len(argNodes)
	if final != nil {
		n++
	}
	get := func(i int) (any, error) {
		if i == len(argNodes) {
			return *final, nil
		}
		return s.arg(dot, argNodes[i])
	}
	all := func() ([]any, error) {
		out := make([]any, n)
		for i := range out {
			v, err := get(i)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	switch name {
	case "and", "or":
		if n == 0 {
			return nil, s.fail("%s needs at least one argument", name)
		}
		var v any
		for i := 0; i < n; i++ {
			var err error
			if v, err = get(i); err != nil {
				return nil, err
			}
			if truth(v) == (name == "or") {
				return v, nil
			}
		}
		return v, nil
	}
	args, err := all()
	if err != nil {
		return nil, err
	}
	want := func(k int) error {
		if len(args) != k {
			return s.fail("%s needs %d argument(s), got %d", name, k, len(args))
		}
		return nil
	}
	switch name {
	case "not":
		if err := want(1); err != nil {
			return nil, err
		}
		return !truth(args[0]), nil
	case "eq", "ne":
		if len(args) < 2 || (name == "ne" && len(args) != 2) {
			return nil, s.fail("%s needs two arguments", name)
		}
		eq := false
		for _, b := range args[1:] {
			c, err := s.compare(args[0], b, true)
			if err != nil {
				return nil, err
			}
			if c == 0 {
				eq = true
				break
			}
		}
		return eq == (name == "eq"), nil
	case "lt", "le", "gt", "ge":
		if err := want(2); err != nil {
			return nil, err
		}
		c, err := s.compare(args[0], args[1], false)
		if err != nil {
			return nil, err
		}
		switch name {
		case "lt":
			return c < 0, nil
		case "le":
			return c <= 0, nil
		case "gt":
			return c > 0, nil
		}
		return c >= 0, nil
	case "len":
		if err := want(1); err != nil {
			return nil, err
		}
		switch v := args[0].(type) {
		case string:
			return int64(len(v)), nil
		case []any:
			return int64(len(v)), nil
		case map[string]any:
			return int64(len(v)), nil
		case Vars:
			return int64(len(v)), nil
		}
		return nil, s.fail("len of %s", typeName(args[0]))
	case "index":
		if len(args) < 1 {
			return nil, s.fail("index needs an argument")
		}
		v := args[0]
		for _, k := range args[1:] {
			switch c := v.(type) {
			case map[string]any:
				key, ok := k.(string)
				if !ok {
					return nil, s.fail("index of a map with a %s", typeName(k))
				}
				v = c[key]
			case []any:
				i, ok := asInt(k)
				if !ok {
					return nil, s.fail("index of a list with a %s", typeName(k))
				}
				if i < 0 || i >= int64(len(c)) {
					return nil, s.fail("index out of range: %d", i)
				}
				v = c[i]
			case nil:
				return nil, s.fail("index of a missing value")
			default:
				return nil, s.fail("can't index a %s", typeName(v))
			}
		}
		return v, nil
	case "print":
		return fmt.Sprint(printables(args)...), nil
	case "println":
		return fmt.Sprintln(printables(args)...), nil
	case "printf":
		if len(args) < 1 {
			return nil, s.fail("printf needs a format")
		}
		f, ok := args[0].(string)
		if !ok {
			return nil, s.fail("printf's format must be a string")
		}
		return fmt.Sprintf(f, plain(args[1:])...), nil
	case "html":
		text := fmt.Sprint(printables(args)...)
		if s.t.html { // printed values are escaped once, on output
			return text, nil
		}
		return html.EscapeString(text), nil
	case "urlquery":
		return url.QueryEscape(fmt.Sprint(printables(args)...)), nil
	case "upper", "lower", "trim":
		if err := want(1); err != nil {
			return nil, err
		}
		text := printable(args[0])
		switch name {
		case "upper":
			return strings.ToUpper(text), nil
		case "lower":
			return strings.ToLower(text), nil
		}
		return strings.TrimSpace(text), nil
	case "default":
		if err := want(2); err != nil {
			return nil, err
		}
		if truth(args[1]) {
			return args[1], nil
		}
		return args[0], nil
	}
	return nil, s.fail("%q is not a function", name)
}

// compare orders a and b: numbers with numbers, strings with strings,
// booleans and missing values only for equality.
func (s *state) compare(a, b any, equality bool) (int, error) {
	if x, ok := asFloat(a); ok {
		if y, ok := asFloat(b); ok {
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			}
			return 0, nil
		}
	}
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	}
	if equality {
		x, okA := a.(bool)
		y, okB := b.(bool)
		switch {
		case okA && okB:
			if x == y {
				return 0, nil
			}
			return 1, nil
		case a == nil || b == nil:
			if a == nil && b == nil {
				return 0, nil
			}
			return 1, nil
		}
	}
	return 0, s.fail("incompatible types for comparison: %s and %s", typeName(a), typeName(b))
}

func truth(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	case Vars:
		return len(v) > 0
	}
	if f, ok := asFloat(v); ok {
		return f != 0
	}
	return true
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	case json.Number:
		i, err := v.Int64()
		return i, err == nil
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "missing value"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any, Vars:
		return "map"
	}
	if _, ok := asFloat(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// printable is how an action prints v.
func printable(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func printables(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = printable(a)
	}
	return out
}

// plain passes numbers, strings and booleans to printf as themselves (so
// %d and %.2f work; JSON numbers are floats) and everything else as its
// printed form.
func plain(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string, bool, int, int64:
			out[i] = v
		case float64:
			out[i] = v
		default:
			out[i] = printable(a)
		}
	}
	return out
}
