package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Message is a Kratos UI text (text/message.go): id, English text, type
// and the context keys translations use.
type Message struct {
	ID      int            `json:"id"`
	Text    string         `json:"text"`
	Type    string         `json:"type"`
	Context map[string]any `json:"context,omitempty"`
}

// FieldMessages are the messages of one property. Property is the dotted
// node name ("traits.email"); InstancePtr the JSON pointer ("#/traits/email").
type FieldMessages struct {
	InstancePtr string    `json:"instance_ptr"`
	Property    string    `json:"property"`
	Messages    []Message `json:"messages"`
}

// ValidationError lists what is wrong with traits, per property.
type ValidationError struct {
	Fields []FieldMessages
}

func (e *ValidationError) Error() string {
	var parts []string
	for _, f := range e.Fields {
		for _, m := range f.Messages {
			parts = append(parts, f.Property+": "+m.Text)
		}
	}
	return strings.Join(parts, "; ")
}

// AsError wraps e as an errx.Invalid whose details carry the messages.
func (e *ValidationError) AsError() error {
	return &errx.Error{Code: errx.Invalid, Reason: "The traits are invalid: " + e.Error(),
		Details: map[string]any{"messages": e.Fields}, Err: e}
}

// ValidateTraits checks traits against the schema (the instance validated
// is {"traits": traits}). It returns errx.Invalid wrapping *ValidationError.
func (s *Schema) ValidateTraits(traits json.RawMessage) error {
	if len(bytes.TrimSpace(traits)) == 0 {
		traits = json.RawMessage("null")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(traits))
	if err != nil {
		return errx.Newf(errx.Invalid, "The traits are not valid JSON: %v", err)
	}
	err = s.compiled.Validate(map[string]any{"traits": v})
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return errx.Newf(errx.Invalid, "The traits are invalid: %v", err)
	}
	out := &ValidationError{}
	index := map[string]int{}
	add := func(loc []string, m Message) {
		ptr := "#/" + strings.Join(loc, "/")
		i, ok := index[ptr]
		if !ok {
			i = len(out.Fields)
			index[ptr] = i
			out.Fields = append(out.Fields, FieldMessages{InstancePtr: ptr, Property: strings.Join(loc, ".")})
		}
		out.Fields[i].Messages = append(out.Fields[i].Messages, m)
	}
	collect(ve, add)
	sort.SliceStable(out.Fields, func(a, b int) bool { return out.Fields[a].InstancePtr < out.Fields[b].InstancePtr })
	return out.AsError()
}

func collect(ve *jsonschema.ValidationError, add func([]string, Message)) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(c, add)
		}
		return
	}
	loc := ve.InstanceLocation
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, p := range k.Missing {
			add(append(append([]string(nil), loc...), p), msg(4000002, fmt.Sprintf("Property %s is missing.", p), ctx("property", p)))
		}
	case *kind.Format:
		add(loc, msg(4000001, fmt.Sprintf("%q is not valid %q", fmt.Sprint(k.Got), k.Want), ctx("reason", fmt.Sprintf("%q is not valid %q", fmt.Sprint(k.Got), k.Want))))
	case *kind.MinLength:
		add(loc, msg(4000003, fmt.Sprintf("length must be >= %d, but got %d", k.Want, k.Got), ctx("min_length", k.Want, "actual_length", k.Got)))
	case *kind.MaxLength:
		add(loc, msg(4000017, fmt.Sprintf("length must be <= %d, but got %d", k.Want, k.Got), ctx("max_length", k.Want, "actual_length", k.Got)))
	case *kind.Pattern:
		add(loc, msg(4000004, fmt.Sprintf("does not match pattern %q", k.Want), ctx("pattern", k.Want)))
	case *kind.Minimum:
		add(loc, msg(4000018, fmt.Sprintf("must be >= %v but found %v", rat(k.Want), rat(k.Got)), ctx("minimum", rat(k.Want), "actual", rat(k.Got))))
	case *kind.ExclusiveMinimum:
		add(loc, msg(4000019, fmt.Sprintf("must be > %v but found %v", rat(k.Want), rat(k.Got)), ctx("minimum", rat(k.Want), "actual", rat(k.Got))))
	case *kind.Maximum:
		add(loc, msg(4000020, fmt.Sprintf("must be <= %v but found %v", rat(k.Want), rat(k.Got)), ctx("maximum", rat(k.Want), "actual", rat(k.Got))))
	case *kind.ExclusiveMaximum:
		add(loc, msg(4000021, fmt.Sprintf("must be < %v but found %v", rat(k.Want), rat(k.Got)), ctx("maximum", rat(k.Want), "actual", rat(k.Got))))
	case *kind.MultipleOf:
		add(loc, msg(4000022, fmt.Sprintf("%v not multipleOf %v", rat(k.Got), rat(k.Want)), ctx("base", rat(k.Want), "actual", rat(k.Got))))
	case *kind.MaxItems:
		add(loc, msg(4000023, fmt.Sprintf("maximum %d items allowed, but found %d items", k.Want, k.Got), ctx("max_items", k.Want, "actual_items", k.Got)))
	case *kind.MinItems:
		add(loc, msg(4000024, fmt.Sprintf("minimum %d items allowed, but found %d items", k.Want, k.Got), ctx("min_items", k.Want, "actual_items", k.Got)))
	case *kind.UniqueItems:
		add(loc, msg(4000025, fmt.Sprintf("items at index %d and %d are equal", k.Duplicates[0], k.Duplicates[1]), ctx("index_a", k.Duplicates[0], "index_b", k.Duplicates[1])))
	case *kind.Type:
		add(loc, msg(4000026, fmt.Sprintf("expected %s, but got %s", strings.Join(k.Want, " or "), k.Got), ctx("allowed_types", k.Want, "actual_type", k.Got)))
	case *kind.Const:
		add(loc, msg(4000029, fmt.Sprintf("must be equal to constant %v", k.Want), ctx("expected", k.Want)))
	default:
		text := ve.ErrorKind.LocalizedString(printer)
		add(loc, msg(4000001, text, ctx("reason", text)))
	}
}

func msg(id int, text string, c map[string]any) Message {
	return Message{ID: id, Text: text, Type: "error", Context: c}
}

func ctx(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func rat(r *big.Rat) any {
	if r == nil {
		return nil
	}
	if r.IsInt() {
		return r.Num().Int64()
	}
	f, _ := r.Float64()
	return f
}

// Address is an address declared by the schema's verification, recovery or
// code extension.
type Address struct {
	Via   string
	Value string
}

// Extracted is what the extension declares for one set of traits.
type Extracted struct {
	// Identifiers per credential type (password, webauthn, code),
	// normalised (trimmed, lower-cased) and de-duplicated, in schema order.
	Identifiers   map[string][]string
	CodeAddresses []Address
	Verifiable    []Address
	Recovery      []Address
}

// Extract reads the extension's values out of valid traits.
func (s *Schema) Extract(traits json.RawMessage) Extracted {
	out := Extracted{Identifiers: map[string][]string{}}
	var doc any
	if err := json.Unmarshal(traits, &doc); err != nil {
		return out
	}
	for _, f := range s.Fields {
		for _, v := range valuesAt(doc, f.Path) {
			ident := NormalizeIdentifier(v)
			if ident == "" {
				continue
			}
			c := f.Ext.Credentials
			if c.Password != nil && c.Password.Identifier {
				out.Identifiers["password"] = appendUnique(out.Identifiers["password"], ident)
			}
			if c.WebAuthn != nil && c.WebAuthn.Identifier {
				out.Identifiers["webauthn"] = appendUnique(out.Identifiers["webauthn"], ident)
			}
			if c.Code != nil && c.Code.Identifier {
				via := c.Code.Via
				if via == "" {
					via = "email"
				}
				out.Identifiers["code"] = appendUnique(out.Identifiers["code"], ident)
				out.CodeAddresses = appendAddr(out.CodeAddresses, Address{Via: via, Value: NormalizeAddress(via, v)})
			}
			if f.Ext.Verification != nil {
				out.Verifiable = appendAddr(out.Verifiable, Address{Via: f.Ext.Verification.Via, Value: NormalizeAddress(f.Ext.Verification.Via, v)})
			}
			if f.Ext.Recovery != nil {
				out.Recovery = appendAddr(out.Recovery, Address{Via: f.Ext.Recovery.Via, Value: NormalizeAddress(f.Ext.Recovery.Via, v)})
			}
		}
	}
	return out
}

// NormalizeIdentifier trims and lower-cases a credential identifier, as
// Kratos does for password, webauthn and code identifiers.
func NormalizeIdentifier(v string) string { return strings.ToLower(strings.TrimSpace(v)) }

// NormalizeAddress lower-cases email addresses and trims every address.
func NormalizeAddress(via, v string) string {
	v = strings.TrimSpace(v)
	if via == "email" {
		return strings.ToLower(v)
	}
	return v
}

func valuesAt(doc any, path []string) []string {
	if len(path) == 0 {
		switch v := doc.(type) {
		case string:
			return []string{v}
		case float64, bool:
			return []string{fmt.Sprint(v)}
		}
		return nil
	}
	switch v := doc.(type) {
	case map[string]any:
		if path[0] == "*" {
			return nil
		}
		return valuesAt(v[path[0]], path[1:])
	case []any:
		if path[0] != "*" {
			return nil
		}
		var out []string
		for _, item := range v {
			out = append(out, valuesAt(item, path[1:])...)
		}
		return out
	}
	return nil
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func appendAddr(list []Address, a Address) []Address {
	if a.Value == "" {
		return list
	}
	for _, x := range list {
		if x == a {
			return list
		}
	}
	return append(list, a)
}
