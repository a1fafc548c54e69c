package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var builtFS = fstest.MapFS{
	"index.html":               {Data: []byte(`<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`)},
	"assets/index-abc123.js":   {Data: []byte(strings.Repeat("console.log('lanyard');\n", 100))},
	"assets/index-abc123.css":  {Data: []byte("body{margin:0}")},
	".gitkeep":                 {Data: nil},
	"robots.txt":               {Data: []byte("User-agent: *\nDisallow: /\n")},
	"assets/nested/chunk-1.js": {Data: []byte("export{}")},
}

type answer struct {
	code     int
	header   http.Header
	body     string
	notFound bool
}

func get(t *testing.T, a *App, method, path string, hdr map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	nf := false
	a.Serve(rec, req, func() {
		nf = true
		rec.WriteHeader(http.StatusNotFound)
	})
	return answer{code: rec.Code, header: rec.Header(), body: rec.Body.String(), notFound: nf}
}

func TestWebServesTheAppWithSPAFallback(t *testing.T) {
	a := newApp(builtFS)
	for _, p := range []string{"/", "/login", "/projects/6f1c2f52-4a8e-4c55-9f61-1f0c1c8f1a11/users", "/w/x/billing", "/index.html", "/verification?flow=abc"} {
		r := get(t, a, "GET", p, nil)
		if r.code != 200 || r.notFound || !strings.Contains(r.body, `<div id="root">`) {
			t.Fatalf("GET %s: %d notFound=%v %q, want the app's page", p, r.code, r.notFound, r.body)
		}
		if got, want := r.header.Get("Cache-Control"), "no-cache"; got != want {
			t.Errorf("GET %s: Cache-Control %q, want %q", p, got, want)
		}
		if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, got)
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: the page may be framed: %v", p, r.header)
		}
	}
	if r := get(t, a, "HEAD", "/projects", nil); r.code != 200 || r.body != "" {
		t.Errorf("HEAD: %d %q", r.code, r.body)
	}
}

func TestWebAssetsAreImmutableAndGzipped(t *testing.T) {
	a := newApp(builtFS)
	r := get(t, a, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if r.code != 200 || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("asset: %d, Cache-Control %q", r.code, r.header.Get("Cache-Control"))
	}
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q, want JavaScript", ct)
	}
	if r.header.Get("Content-Encoding") != "gzip" || !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("not gzipped: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != string(builtFS["assets/index-abc123.js"].Data) {
		t.Fatalf("gunzipped body differs")
	}
	// Without Accept-Encoding: the plain file; with its ETag: 304.
	r = get(t, a, "GET", "/assets/index-abc123.js", nil)
	if r.header.Get("Content-Encoding") != "" || r.body != string(builtFS["assets/index-abc123.js"].Data) {
		t.Fatalf("plain answer: %v", r.header)
	}
	etag := r.header.Get("ETag")
	if r2 := get(t, a, "GET", "/assets/index-abc123.js", map[string]string{"If-None-Match": etag}); etag == "" || r2.code != 304 || r2.body != "" {
		t.Fatalf("If-None-Match %q: %d", etag, r2.code)
	}
	if r := get(t, a, "GET", "/assets/nested/chunk-1.js", nil); r.code != 200 || r.body != "export{}" {
		t.Fatalf("nested asset: %d %q", r.code, r.body)
	}
	// A file outside /assets/ is served but not cached for long.
	if r := get(t, a, "GET", "/robots.txt", nil); r.code != 200 || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("robots.txt: %d %v", r.code, r.header)
	}
}

func TestWebLeavesAPIPathsAndMissingFilesToTheRouter(t *testing.T) {
	a := newApp(builtFS)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/nope"},
		{"GET", "/api/v1"},
		{"GET", "/self-service/login/nope"},
		{"GET", "/sessions/whoami/x"},
		{"GET", "/sessions"},
		{"GET", "/schemas/x/y"},
		{"GET", "/health/nope"},
		{"GET", "/metrics"},
		{"GET", "/.well-known/x"},
		{"GET", "/assets/index-old.js"},
		{"GET", "/assets/"},
		{"GET", "/favicon.ico"},
		{"GET", "/.gitkeep"},
		{"GET", "/../api/v1/me"},
		{"POST", "/"},
		{"PUT", "/projects"},
		{"DELETE", "/login"},
	} {
		if r := get(t, a, c.method, c.path, nil); !r.notFound || strings.Contains(r.body, "root") {
			t.Errorf("%s %s: served %d %q, want it left to the router", c.method, c.path, r.code, r.body)
		}
	}
}

func TestWebPlaceholderWhenNotBuilt(t *testing.T) {
	a := newApp(fstest.MapFS{".gitkeep": {Data: nil}})
	for _, p := range []string{"/", "/projects"} {
		r := get(t, a, "GET", p, nil)
		if r.code != 200 || !strings.Contains(r.body, "The dashboard is not built into this binary yet") {
			t.Fatalf("GET %s: %d %q, want the placeholder", p, r.code, r.body)
		}
	}
	if r := get(t, a, "GET", "/assets/index.js", nil); !r.notFound {
		t.Fatalf("an asset of an app that was not built: %d", r.code)
	}
	if r := get(t, a, "GET", "/api/v1/me", nil); !r.notFound {
		t.Fatalf("API path: %d", r.code)
	}
	if built(fstest.MapFS{".gitkeep": {}}) || !built(builtFS) {
		t.Fatal("built() is wrong")
	}
}

// The build stores larger text assets gzipped only (name.gz): they are
// served as name, gzipped to clients that take it and plain to others.
func TestWebServesPrecompressedAssets(t *testing.T) {
	js := strings.Repeat("export const lanyard = 'dashboard';\n", 50)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(js))
	_ = zw.Close()
	a := newApp(fstest.MapFS{
		"index.html":                {Data: []byte(`<!doctype html><div id="root"></div>`)},
		"assets/index-def456.js.gz": {Data: gz.Bytes()},
	})
	r := get(t, a, "GET", "/assets/index-def456.js", map[string]string{"Accept-Encoding": "gzip"})
	if r.code != 200 || r.header.Get("Content-Encoding") != "gzip" || r.body != gz.String() || !strings.Contains(r.header.Get("Content-Type"), "javascript") {
		t.Fatalf("gzip client: %d %v", r.code, r.header)
	}
	r = get(t, a, "GET", "/assets/index-def456.js", nil)
	if r.code != 200 || r.header.Get("Content-Encoding") != "" || r.body != js {
		t.Fatalf("plain client: %d %v %q", r.code, r.header, r.body)
	}
	if r := get(t, a, "GET", "/assets/missing.js", nil); !r.notFound {
		t.Fatalf("a missing asset: %d", r.code)
	}
}
