package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-id/lanyard/internal/errx"
)

const (
	requestIDKey = "lanyard.request_id"
	loggerKey    = "lanyard.logger"
	// HeaderRequestID is honoured when a client or proxy sends it.
	HeaderRequestID = "X-Request-Id"
)

// RequestID returns the request id of c.
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// SetLogAttrs adds attributes (e.g. project id) to the request logger.
func SetLogAttrs(c *gin.Context, args ...any) {
	if v, ok := c.Get(loggerKey); ok {
		r := v.(*reqLogger)
		r.attrs = append(r.attrs, args...)
		r.built.Store(nil)
		return
	}
	c.Set(loggerKey, &reqLogger{base: Logger(c), attrs: args})
}

// reqLogger is the request-scoped logger, built on first use: most
// requests log nothing below the configured level, and slog's With formats
// its attributes at once, which is a measurable part of a whoami.
// SetLogAttrs runs in middleware, before any handler reads the logger.
type reqLogger struct {
	base  *slog.Logger
	attrs []any
	built atomic.Pointer[slog.Logger]
}

func (r *reqLogger) logger() *slog.Logger {
	if l := r.built.Load(); l != nil {
		return l
	}
	l := r.base.With(r.attrs...)
	r.built.Store(l)
	return l
}

// validRequestID accepts ids a client may choose: short, printable, no spaces.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// Base is the first middleware of every role: request id, request logger,
// panic recovery into a 500 envelope and an access log line.
func Base(log *slog.Logger, role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if !validRequestID(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDKey, id)
		c.Header(HeaderRequestID, id)
		rl := &reqLogger{base: log, attrs: make([]any, 0, 8)}
		rl.attrs = append(rl.attrs, "request_id", id, "role", role)
		c.Set(loggerKey, rl)
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				WriteError(c, errx.New(errx.Internal, "").Wrap(fmt.Errorf("panic: %v", r)))
			}
			status := c.Writer.Status()
			lvl := slog.LevelInfo
			if status >= 500 {
				lvl = slog.LevelError
			}
			if !log.Enabled(c.Request.Context(), lvl) {
				return
			}
			Logger(c).Log(c.Request.Context(), lvl, "request",
				"method", c.Request.Method, "path", c.Request.URL.Path, "status", status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes", c.Writer.Size())
		}()
		c.Next()
	}
}

// BodyLimit refuses bodies over limit bytes with 413: at once when the
// Content-Length says so, and while reading otherwise.
func BodyLimit(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			WriteError(c, errx.New(errx.TooLarge, "The request body exceeds the configured limit."))
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}

// NoCache sets the Cache-Control header Kratos sets on every route.
func NoCache(c *gin.Context) {
	c.Header("Cache-Control", "private, no-cache, no-store, must-revalidate")
	c.Next()
}

// Metrics holds the HTTP metrics of one role.
type Metrics struct {
	requests *prometheus.HistogramVec

	mu        sync.RWMutex
	observers map[metricKey]prometheus.Observer // label lookups, by key
}

type metricKey struct {
	role, route, method string
	status              int
}

// observer returns the histogram of k, looked up in the vector once.
func (m *Metrics) observer(k metricKey) prometheus.Observer {
	m.mu.RLock()
	o, ok := m.observers[k]
	m.mu.RUnlock()
	if ok {
		return o
	}
	o = m.requests.WithLabelValues(k.role, k.route, k.method, strconv.Itoa(k.status))
	m.mu.Lock()
	if m.observers == nil {
		m.observers = map[metricKey]prometheus.Observer{}
	}
	m.observers[k] = o
	m.mu.Unlock()
	return o
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lanyard_http_request_duration_seconds",
		Help:    "HTTP request latency by role, route and status.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"role", "route", "method", "status"})}
	reg.MustRegister(m.requests)
	return m
}

// Middleware records latency by matched route (never the raw path, so that
// cardinality stays bounded).
func (m *Metrics) Middleware(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.observer(metricKey{role, route, c.Request.Method, c.Writer.Status()}).Observe(time.Since(start).Seconds())
	}
}

// NotFound renders gin's 404 and 405 as the envelope.
func NotFound(c *gin.Context) {
	WriteError(c, errx.New(errx.NotFound, "The requested resource could not be found."))
}

// InternalOnly answers 404 unless the request addressed the process by IP
// address or as localhost, as in-cluster scrapers and probes do. Public
// host names (project hosts, the dashboard's domain) never see what it
// guards, such as /metrics.
func InternalOnly(c *gin.Context) {
	h := c.Request.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h != "localhost" && net.ParseIP(h) == nil {
		NotFound(c)
		return
	}
	c.Next()
}
