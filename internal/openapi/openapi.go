// Package openapi holds the OpenAPI 3.1 document of the project API
// (openapi.yaml, embedded) and serves it as JSON at
// /.well-known/openapi.json. Every endpoint the project API serves is in
// it; handler tests check responses against it (see openapitest).
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var source []byte

var document = mustJSON(source)

// JSON returns the document as JSON.
func JSON() []byte { return document }

// Handler serves the document.
func Handler(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", document)
}

func mustJSON(y []byte) []byte {
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		panic(fmt.Sprintf("openapi: openapi.yaml: %v", err))
	}
	b, err := json.Marshal(normalize(v))
	if err != nil {
		panic(fmt.Sprintf("openapi: openapi.yaml: %v", err))
	}
	return b
}

// normalize turns YAML maps with non-string keys into JSON objects.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
	}
	return v
}
