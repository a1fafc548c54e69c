// Package openapitest checks recorded HTTP responses against Lanyard's
// OpenAPI document, so that handler tests fail when code and document
// drift apart.
package openapitest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/lanyard-id/lanyard/internal/openapi"
)

var (
	once    sync.Once
	doc     *openapi3.T
	router  routers.Router
	loadErr error
)

func load() {
	loader := openapi3.NewLoader()
	doc, loadErr = loader.LoadFromData(openapi.JSON())
	if loadErr != nil {
		return
	}
	if loadErr = doc.Validate(context.Background()); loadErr != nil {
		return
	}
	// Paths are matched without the server URL (host or /p/{slug}).
	doc.Servers = nil
	router, loadErr = legacy.NewRouter(doc)
}

// Document returns the parsed, validated document.
func Document(t testing.TB) *openapi3.T {
	t.Helper()
	once.Do(load)
	if loadErr != nil {
		t.Fatalf("openapitest: the OpenAPI document does not load: %v", loadErr)
	}
	return doc
}

var prefixRE = regexp.MustCompile(`^/p/[^/]+`)

// Check validates the response rec recorded for req (its status, headers
// and JSON body) against the operation the document declares for req's
// method and path. The /p/{slug} prefix is ignored. It fails t when the
// operation is not documented or the response does not match.
func Check(t testing.TB, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	CheckResponse(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
}

// CheckResponse is Check for a response given as its parts.
func CheckResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	Document(t)
	r := req.Clone(context.Background())
	r.URL.Path = prefixRE.ReplaceAllString(r.URL.Path, "")
	r.URL.RawPath = ""
	r.URL.Host, r.URL.Scheme, r.Host = "", "", ""
	route, params, err := router.FindRoute(r)
	if err != nil {
		t.Fatalf("openapitest: %s %s is not in the OpenAPI document: %v", req.Method, r.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("openapitest: %s %s → %d does not match the document: %v\nbody: %s", req.Method, r.URL.Path, status, err, truncate(body))
	}
}

// HasOperation reports whether the document declares method on a gin
// route path (":id" segments become "{id}").
func HasOperation(t testing.TB, method, ginPath string) bool {
	t.Helper()
	d := Document(t)
	parts := strings.Split(ginPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	item := d.Paths.Find(strings.Join(parts, "/"))
	return item != nil && item.GetOperation(method) != nil
}

func truncate(b []byte) []byte {
	if len(b) > 2000 {
		return append(bytes.Clone(b[:2000]), "…"...)
	}
	return b
}
