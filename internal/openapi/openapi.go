// Package openapi holds the OpenAPI 3.1 document of the project API and
// serves it as JSON at /.well-known/openapi.json. Every endpoint the
// project API serves is in it; handler tests check responses against it
// (see openapitest).
//
// openapi.yaml is the source; the binary embeds it as compressed JSON,
// openapi.json.gz. After changing openapi.yaml, run
// `go test ./internal/openapi -update`; `make test` fails while the two
// differ.
package openapi

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.json.gz
var compressed []byte

var document = mustGunzip(compressed)

// JSON returns the document as JSON.
func JSON() []byte { return document }

// Handler serves the document.
func Handler(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", document)
}

func mustGunzip(b []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic(fmt.Sprintf("openapi: openapi.json.gz: %v", err))
	}
	out, err := io.ReadAll(r)
	if err != nil {
		panic(fmt.Sprintf("openapi: openapi.json.gz: %v", err))
	}
	return out
}
