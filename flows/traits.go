package flows

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/lanyard-id/lanyard/identity/schema"
	"github.com/lanyard-id/lanyard/internal/errx"
)

// TraitNodes renders the trait inputs of an identity schema: one input per
// leaf property of properties.traits (nested objects give dotted names,
// traits.name.first), typed from the schema (format email → email input
// with autocomplete email; tel; date; date-time; number/integer; boolean →
// checkbox), required where the enclosing object requires it, labelled
// with 1070002 and the property title. values (dotted name → value) fill
// the inputs. Properties keep the schema's order when it can be read,
// alphabetical otherwise. A schema that cannot be read gives no nodes.
func TraitNodes(rawSchema []byte, g Group, values map[string]any) []*Node {
	var root map[string]any
	if err := json.Unmarshal(rawSchema, &root); err != nil {
		return nil
	}
	props, _ := root["properties"].(map[string]any)
	traits, _ := props["traits"].(map[string]any)
	traits = deref(root, traits)
	if traits == nil {
		return nil
	}
	var out []*Node
	walkTraits(root, traits, "traits", true, orderOf(rawSchema), func(name string, p map[string]any, required bool) {
		n := NewInput(g, name, inputType(p), values[name], labelOf(p, name))
		a := n.Input()
		a.Required = required
		switch a.Type {
		case InputEmail:
			a.Autocomplete = "email"
		case InputTel:
			a.Autocomplete = "tel"
		}
		if f, _ := p["format"].(string); f == "uri" {
			a.Autocomplete = "url"
		}
		if pat, _ := p["pattern"].(string); pat != "" {
			a.Pattern = pat
		}
		out = append(out, n)
	})
	return out
}

func deref(root, node map[string]any) map[string]any {
	for range 8 {
		ref, _ := node["$ref"].(string)
		if !strings.HasPrefix(ref, "#/") {
			return node
		}
		cur := any(root)
		for _, part := range strings.Split(ref[2:], "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		next, _ := cur.(map[string]any)
		if next == nil {
			return node
		}
		node = next
	}
	return node
}

func walkTraits(root, obj map[string]any, prefix string, parentRequired bool, order map[string]int, leaf func(string, map[string]any, bool)) {
	props, _ := obj["properties"].(map[string]any)
	req := map[string]bool{}
	if list, ok := obj["required"].([]any); ok {
		for _, r := range list {
			if s, ok := r.(string); ok {
				req[s] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		oi, iok := order[prefix+"."+names[i]]
		oj, jok := order[prefix+"."+names[j]]
		if iok && jok && oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	for _, k := range names {
		p, _ := props[k].(map[string]any)
		p = deref(root, p)
		if p == nil {
			continue
		}
		name := prefix + "." + k
		if t, _ := p["type"].(string); t == "object" {
			walkTraits(root, p, name, parentRequired && req[k], order, leaf)
			continue
		}
		leaf(name, p, parentRequired && req[k])
	}
}

func inputType(p map[string]any) string {
	t, _ := p["type"].(string)
	if list, ok := p["type"].([]any); ok && len(list) > 0 {
		t, _ = list[0].(string)
	}
	switch t {
	case "number", "integer":
		return InputNumber
	case "boolean":
		return InputCheckbox
	}
	switch f, _ := p["format"].(string); f {
	case "email":
		return InputEmail
	case "tel":
		return InputTel
	case "date":
		return InputDate
	case "date-time":
		return InputDateTime
	case "uri", "url":
		return InputURL
	}
	return InputText
}

func labelOf(p map[string]any, name string) *Text {
	title, _ := p["title"].(string)
	if title == "" {
		title = name[strings.LastIndex(name, ".")+1:]
	}
	return Label(title, name)
}

// orderOf reads the position of every property key of the schema text, so
// that nodes follow the order the schema author wrote (Go maps forget it).
// Keys are dotted paths below properties.traits.
func orderOf(raw []byte) map[string]int {
	type frame struct {
		object, expectKey bool
		key               string
	}
	order := map[string]int{}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	var stack []*frame
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
	for n := 0; ; n++ {
		tok, err := dec.Token()
		if err != nil {
			return order
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{object: true, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		}
		if top := len(stack) - 1; top >= 0 && stack[top].object && stack[top].expectKey {
			stack[top].key, stack[top].expectKey = tok.(string), false
			var path []string
			for _, f := range stack {
				if !f.object {
					path = nil // inside an array: not a property path
					break
				}
				path = append(path, f.key)
			}
			if name, ok := traitPath(path); ok {
				order[name] = n
			}
			continue
		}
		valueDone()
	}
}

// traitPath maps properties.traits.properties.a.properties.b to traits.a.b.
func traitPath(path []string) (string, bool) {
	if len(path) < 4 || path[0] != "properties" || path[1] != "traits" {
		return "", false
	}
	out := []string{"traits"}
	rest := path[2:]
	for len(rest) >= 2 {
		if rest[0] != "properties" {
			return "", false
		}
		out = append(out, rest[1])
		rest = rest[2:]
	}
	if len(rest) != 0 {
		return "", false
	}
	return strings.Join(out, "."), true
}

// TraitErrors maps identity-schema validation messages onto the trait
// nodes of ve (by dotted property name); other errx.Invalid input becomes
// 4000001 on the flow. Any other error is returned as it is.
func TraitErrors(err error, ve *ValidationError) error {
	var sv *schema.ValidationError
	if errors.As(err, &sv) {
		for _, fm := range sv.Fields {
			name := fm.Property
			if name == "" {
				name = "traits"
			}
			for _, m := range fm.Messages {
				ve.AddNode(name, &Text{ID: m.ID, Text: m.Text, Type: TextType(m.Type), Context: m.Context})
			}
		}
		return ve
	}
	var xe *errx.Error
	if errors.As(err, &xe) && xe.Code == errx.Invalid {
		ve.Flow = append(ve.Flow, Generic(xe.Reason))
		return ve
	}
	return err
}

// Flatten writes {"a":{"b":1}} under prefix as {"prefix.a.b": 1} into out
// (the values a re-rendered form keeps).
func Flatten(prefix string, raw json.RawMessage, out map[string]any) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return
	}
	var walk func(string, any)
	walk = func(p string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				walk(p+"."+k, x)
			}
			return
		}
		out[p] = v
	}
	walk(prefix, v)
}
