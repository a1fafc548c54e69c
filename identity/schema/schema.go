// Package schema compiles identity schemas (JSON Schema draft-07 or 2020-12
// with the Kratos "ory.sh/kratos" extension), validates traits against them
// with Kratos message ids, and extracts what the extension declares:
// credential identifiers, verifiable and recovery addresses.
//
// Errors: Compile returns errx.Invalid (id "invalid_identity_schema") with
// the reason; ValidateTraits returns errx.Invalid wrapping *ValidationError.
package schema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// Schema is a compiled identity schema.
type Schema struct {
	ID  string
	Raw json.RawMessage
	// Fields are the trait properties that carry the extension, in schema
	// order; Path is relative to traits and may hold "*" for array items.
	Fields   []Field
	compiled *jsonschema.Schema
}

// Field is one trait property with an "ory.sh/kratos" extension.
type Field struct {
	Path   []string
	Format string
	Ext    Extension
}

// ErrInvalidSchema is the code and id of a schema that was refused.
var ErrInvalidSchema = errx.New(errx.Invalid, "").WithID("invalid_identity_schema")

func refuse(format string, args ...any) error {
	e := *ErrInvalidSchema
	e.Reason = "The identity schema is invalid: " + fmt.Sprintf(format, args...)
	return &e
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external references are not allowed (%s)", url)
}

var telRE = regexp.MustCompile(`^\+?[0-9][0-9 ().\-]{4,22}$`)

var (
	telFormat = &jsonschema.Format{Name: "tel", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		if !telRE.MatchString(s) {
			return errors.New("not a phone number")
		}
		return nil
	}}
	noValidate = &jsonschema.Format{Name: "no-validate", Validate: func(any) error { return nil }}
)

// Compile validates raw as an identity schema and compiles it. It refuses
// (errx.Invalid) a document that is not a JSON object, not a valid draft-07
// or 2020-12 JSON Schema, has no object "traits" property with at least one
// property, references external documents, or carries extension keys that
// are wrong.
func Compile(id string, raw []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, refuse("not valid JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, refuse("the schema must be a JSON object")
	}
	if s, ok := obj["$schema"]; ok {
		switch s {
		case "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema",
			"https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#":
		default:
			return nil, refuse("$schema must be draft-07 (http://json-schema.org/draft-07/schema#) or 2020-12 (https://json-schema.org/draft/2020-12/schema)")
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	c.RegisterFormat(telFormat)
	c.RegisterFormat(noValidate)
	url := "https://schemas.lanyard.invalid/" + hex.EncodeToString(sum(raw)) + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, refuse("%v", err)
	}
	compiled, err := c.Compile(url)
	if err != nil {
		return nil, refuse("%s", compileReason(err))
	}
	s := &Schema{ID: id, Raw: json.RawMessage(raw), compiled: compiled}
	if err := s.walkTraits(obj); err != nil {
		return nil, err
	}
	return s, nil
}

func compileReason(err error) string {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			return "not a valid JSON Schema: " + strings.Join(leafTexts(ve), "; ")
		}
		return "not a valid JSON Schema: " + sve.Err.Error()
	}
	return err.Error()
}

func leafTexts(ve *jsonschema.ValidationError) []string {
	if len(ve.Causes) == 0 {
		loc := "/" + strings.Join(ve.InstanceLocation, "/")
		return []string{"at " + loc + ": " + ve.ErrorKind.LocalizedString(printer)}
	}
	var out []string
	for _, c := range ve.Causes {
		out = append(out, leafTexts(c)...)
	}
	return out
}

func sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// walkTraits checks the traits property and collects extension fields.
func (s *Schema) walkTraits(root map[string]any) error {
	props, _ := root["properties"].(map[string]any)
	traits, ok := props["traits"].(map[string]any)
	if !ok {
		return refuse(`properties.traits must be an object schema`)
	}
	traits = resolve(root, traits, 0)
	if t, _ := traits["type"].(string); t != "object" {
		return refuse(`properties.traits must have "type": "object"`)
	}
	if tp, _ := traits["properties"].(map[string]any); len(tp) == 0 {
		return refuse(`properties.traits must declare at least one property`)
	}
	return s.walk(root, traits, nil, 0)
}

// resolve follows local $refs ("#/definitions/x", "#/$defs/x").
func resolve(root, node map[string]any, depth int) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok || depth > 16 || !strings.HasPrefix(ref, "#/") {
		return node
	}
	var cur any = root
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return node
		}
		cur = m[tok]
	}
	if m, ok := cur.(map[string]any); ok {
		return resolve(root, m, depth+1)
	}
	return node
}

func (s *Schema) walk(root, node map[string]any, path []string, depth int) error {
	if depth > 32 {
		return nil
	}
	node = resolve(root, node, 0)
	if raw, ok := node[ExtensionKey]; ok {
		ext, err := parseExtension(raw, path)
		if err != nil {
			return err
		}
		format, _ := node["format"].(string)
		if ext.Verification != nil || ext.Recovery != nil {
			switch format {
			case "email", "tel", "date", "time", "date-time", "no-validate":
			default:
				return refuse(`traits.%s: a field with verification or recovery must have "format" email, tel, date, time, date-time or no-validate`, strings.Join(path, "."))
			}
		}
		s.Fields = append(s.Fields, Field{Path: append([]string(nil), path...), Format: format, Ext: ext})
	}
	if props, ok := node["properties"].(map[string]any); ok {
		for _, name := range sortedKeys(props) {
			if child, ok := props[name].(map[string]any); ok {
				if err := s.walk(root, child, append(path, name), depth+1); err != nil {
					return err
				}
			}
		}
	}
	if items, ok := node["items"].(map[string]any); ok {
		if err := s.walk(root, items, append(path, "*"), depth+1); err != nil {
			return err
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := node[kw].([]any); ok {
			for _, sub := range list {
				if m, ok := sub.(map[string]any); ok {
					if err := s.walk(root, m, path, depth+1); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Cache keeps compiled schemas by content, so that a schema is compiled
// once per process however many projects share it.
type Cache struct {
	mu sync.Mutex
	m  map[string]*Schema
}

// Get returns the compiled schema for (id, raw), compiling it on first use.
func (c *Cache) Get(id string, raw []byte) (*Schema, error) {
	key := id + "\x00" + string(sum(raw))
	c.mu.Lock()
	s, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := Compile(id, raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 4096 {
		c.m = map[string]*Schema{}
	}
	c.m[key] = s
	c.mu.Unlock()
	return s, nil
}

// printer renders the library's error texts in English.
var printer = message.NewPrinter(language.English)
