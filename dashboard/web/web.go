// Package web serves the dashboard's React app (sdk/js/dashboard), built by
// Vite into dist and embedded into the binary. Until the app is built
// (make web), dist holds only .gitkeep and the handler answers with a short
// page that says so, so the Go build never depends on the JavaScript one.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed all:dist
var dist embed.FS

// files is the built app: the contents of dist.
var files = func() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	return sub
}()

// Reserved lists the path prefixes the app never answers: the platform
// API, the console project's flows, sessions and schemas, health and
// metrics. A request there that no route took is the API's 404.
var Reserved = []string{"/api/", "/self-service/", "/sessions/", "/schemas", "/health/", "/metrics", "/.well-known/", "/admin/"}

// Placeholder is the page served when the app was not built into this
// binary.
const Placeholder = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lanyard</title></head>
<body><h1>Lanyard</h1><p>The dashboard is not built into this binary yet. Projects are managed with
<code>lanyard project create|list|delete</code>.</p></body></html>`

// Built reports whether the app is embedded (dist holds an index.html).
func Built() bool { return built(files) }

func built(f fs.FS) bool {
	st, err := fs.Stat(f, "index.html")
	return err == nil && !st.IsDir()
}

// Handler serves the embedded app: files under /assets/ (content-hashed
// names) with a year-long immutable cache, index.html and other files with
// no-cache, and index.html for every other GET or HEAD path so that the
// app's own routes (/projects/..., /login, ...) load on a reload. Requests
// it does not answer — other methods, Reserved prefixes, a missing asset —
// get a plain 404 from ServeHTTP; Serve lets the caller answer them.
func Handler() *App { return newApp(files) }

// App serves the app's files; see Handler.
type App struct {
	fs    fs.FS
	built bool
	mu    sync.Mutex
	cache map[string]*file
}

// file is one served file, read once: its body, gzipped body (for text
// types) and ETag.
type file struct {
	body, gz    []byte
	etag, ctype string
}

func newApp(f fs.FS) *App {
	return &App{fs: f, built: built(f), cache: map[string]*file{}}
}

// ServeHTTP serves the app, with a plain 404 for what it does not serve.
func (h *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.Serve(w, r, func() { http.NotFound(w, r) })
}

// Serve serves the app and calls notFound for the requests it does not
// answer (see Handler).
func (h *App) Serve(w http.ResponseWriter, r *http.Request, notFound func()) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		notFound()
		return
	}
	p := path.Clean("/" + r.URL.Path)
	for _, pre := range Reserved {
		if strings.HasPrefix(p+"/", pre) || strings.HasPrefix(p, pre) {
			notFound()
			return
		}
	}
	if !h.built {
		if isAsset(p) {
			notFound()
			return
		}
		pageHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(Placeholder))
		}
		return
	}
	name := strings.TrimPrefix(p, "/")
	if strings.HasPrefix(path.Base(p), ".") {
		// .gitkeep and other dot files are not the app's.
		notFound()
		return
	}
	if name != "" && name != "index.html" {
		if f, ok := h.load(name); ok {
			cache := "no-cache"
			if isAsset(p) {
				cache = "public, max-age=31536000, immutable"
			}
			h.serve(w, r, f, cache)
			return
		}
		if isAsset(p) || path.Ext(p) != "" {
			// A missing file (an old asset after a deploy, a typo): not the
			// app's page, whose HTML would be read as script or style.
			notFound()
			return
		}
	}
	f, ok := h.load("index.html")
	if !ok {
		notFound()
		return
	}
	pageHeaders(w)
	h.serve(w, r, f, "no-cache")
}

func isAsset(p string) bool { return p == "/assets" || strings.HasPrefix(p, "/assets/") }

// pageHeaders are the headers of the app's HTML page.
func pageHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'; object-src 'none'; base-uri 'self'")
	w.Header().Set("Referrer-Policy", "strict-origin-when-cross-origin")
}

func (h *App) load(name string) (*file, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f, ok := h.cache[name]; ok {
		return f, f != nil
	}
	body, err := fs.ReadFile(h.fs, name)
	var gz []byte
	if err != nil {
		// The build stores the app's larger text files gzipped only
		// (name.gz), which keeps the binary small; the plain body is
		// made once for the clients that do not take gzip.
		if gz, err = fs.ReadFile(h.fs, name+".gz"); err == nil {
			body, err = gunzip(gz)
		}
	}
	if err != nil {
		// Directories and missing files; not cached, so that the map
		// cannot grow with arbitrary request paths.
		return nil, false
	}
	sum := sha256.Sum256(body)
	f := &file{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
	if f.ctype == "" {
		f.ctype = http.DetectContentType(body)
	}
	if gz != nil {
		f.gz = gz
	} else if compressible(f.ctype) && len(body) > 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if b.Len() < len(body) {
			f.gz = b.Bytes()
		}
	}
	h.cache[name] = f
	return f, true
}

func gunzip(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

func compressible(ctype string) bool {
	for _, t := range []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json"} {
		if strings.HasPrefix(ctype, t) {
			return true
		}
	}
	return false
}

func (h *App) serve(w http.ResponseWriter, r *http.Request, f *file, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", cache)
	hd.Set("ETag", f.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if f.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}
