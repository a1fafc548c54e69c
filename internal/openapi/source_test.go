package openapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lanyard-id/lanyard/internal/openapi"
)

var update = flag.Bool("update", false, "write openapi.json.gz from openapi.yaml")

// The embedded document is openapi.yaml as JSON. -update rewrites it.
func TestEmbeddedDocumentMatchesSource(t *testing.T) {
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	want, err := json.Marshal(normalize(v))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := w.Write(want); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("openapi.json.gz", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(openapi.JSON(), want) {
		t.Fatal("openapi.json.gz is not openapi.yaml: run go test ./internal/openapi -update")
	}
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
