// Package native serves cc-metric-store's HTTP API (version 1.5.4) on the
// core store: /api/query, /api/write, /api/free, /api/debug and
// /api/healthcheck, each with and without a trailing slash.
package native

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Default limits, overridable through Options.
const (
	// DefaultMaxRequestBytes bounds request bodies (line protocol batches of
	// a large cluster flush are a few MB; this leaves ample headroom).
	DefaultMaxRequestBytes = 256 << 20
	// DefaultMaxPointsPerSeries bounds one result entry, padding included:
	// a year at 30 s, far beyond any job, yet small enough to stop hostile
	// windows (from=0) that would produce billions of nulls.
	DefaultMaxPointsPerSeries = 1_000_000
	// DefaultMaxPointsPerRequest bounds the points of one query answer.
	DefaultMaxPointsPerRequest = 50_000_000
)

// Options configure the native API.
type Options struct {
	Store               *core.Store
	MaxRequestBytes     int64
	MaxPointsPerSeries  int
	MaxPointsPerRequest int
	// Auth, when set, guards every route (cc-metric-store wraps all ten),
	// except a healthcheck without a body.
	Auth gin.HandlerFunc
	// Health reports the server's own state for a healthcheck without a body.
	Health func() any
	// DefaultCluster is the cluster of lines that name none and come
	// without ?cluster= (config bridge.default-cluster).
	DefaultCluster string
	// Ready, when set, reports whether restore has finished; until then data
	// routes answer 503 and the bodiless healthcheck says not ready.
	Ready func() bool
	// Metrics, when set, counts requests and samples for /metrics.
	Metrics *Metrics
}

// Metrics are the native API's Prometheus counters.
type Metrics struct {
	Samples      prometheus.Counter
	Skipped      prometheus.Counter
	WriteErrors  prometheus.Counter
	Queries      prometheus.Counter
	QueryEntries prometheus.Counter
}

// NewMetrics registers the native API's counters with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Samples:      f.NewCounter(prometheus.CounterOpts{Name: "ccmb_native_samples_written_total", Help: "Samples stored through /api/write."}),
		Skipped:      f.NewCounter(prometheus.CounterOpts{Name: "ccmb_native_samples_skipped_total", Help: "Samples of unknown metrics skipped by /api/write (strict-metrics)."}),
		WriteErrors:  f.NewCounter(prometheus.CounterOpts{Name: "ccmb_native_write_errors_total", Help: "/api/write requests answered with an error."}),
		Queries:      f.NewCounter(prometheus.CounterOpts{Name: "ccmb_native_queries_total", Help: "/api/query requests answered."}),
		QueryEntries: f.NewCounter(prometheus.CounterOpts{Name: "ccmb_native_query_rows_total", Help: "Query rows (one per query object) answered by /api/query."}),
	}
}

// API is the native handler set.
type API struct {
	opt Options
	buf sync.Pool // *bytes.Buffer for request bodies
}

// New returns the native API with defaults applied.
func New(opt Options) *API {
	if opt.MaxRequestBytes <= 0 {
		opt.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opt.MaxPointsPerSeries <= 0 {
		opt.MaxPointsPerSeries = DefaultMaxPointsPerSeries
	}
	if opt.MaxPointsPerRequest <= 0 {
		opt.MaxPointsPerRequest = DefaultMaxPointsPerRequest
	}
	if opt.Metrics == nil {
		opt.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return &API{opt: opt, buf: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// Register adds the routes to r. Callers should create r with
// NewEngine so that 404 and 405 answers match cc-metric-store.
func (a *API) Register(r gin.IRoutes) {
	handlers := func(h gin.HandlerFunc) []gin.HandlerFunc {
		if a.opt.Auth != nil {
			return []gin.HandlerFunc{a.opt.Auth, a.requireReady, h}
		}
		return []gin.HandlerFunc{a.requireReady, h}
	}
	for _, p := range []string{"/api/query", "/api/query/"} {
		// cc-backend up to 1.3 POSTs queries; 1.4+ sends GET with a body.
		r.GET(p, handlers(a.query)...)
		r.HEAD(p, handlers(a.query)...)
		r.POST(p, handlers(a.query)...)
	}
	for _, p := range []string{"/api/write", "/api/write/"} {
		r.POST(p, handlers(a.write)...)
	}
	for _, p := range []string{"/api/free", "/api/free/"} {
		r.POST(p, handlers(a.free)...)
	}
	for _, p := range []string{"/api/debug", "/api/debug/"} {
		r.GET(p, handlers(a.debug)...)
		r.HEAD(p, handlers(a.debug)...)
	}
	// The healthcheck authenticates itself: without a body (load balancers,
	// monitors) it stays open; with cc-backend's node query it needs a token.
	for _, p := range []string{"/api/healthcheck", "/api/healthcheck/"} {
		r.GET(p, a.healthcheck)
		r.HEAD(p, a.healthcheck)
	}
}

// NewEngine returns a gin engine whose 404 and 405 answers are those of Go's
// ServeMux, which cc-metric-store uses, and which serves /x and /x/ alike
// instead of redirecting.
func NewEngine() *gin.Engine {
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) { c.String(http.StatusNotFound, "404 page not found\n") })
	r.NoMethod(func(c *gin.Context) { c.String(http.StatusMethodNotAllowed, "Method Not Allowed\n") })
	r.Use(gin.Recovery())
	return r
}

// requireReady answers 503 while the store is being restored.
func (a *API) requireReady(c *gin.Context) {
	if a.opt.Ready != nil && !a.opt.Ready() {
		c.Header("Retry-After", "5")
		jsonError(c, http.StatusServiceUnavailable, "restoring data: not ready yet")
		c.Abort()
	}
}

var errTooLarge = errors.New("request body too large")

// readBody reads the whole request body into a pooled buffer, refusing
// bodies over the limit. Callers release the buffer with a.buf.Put.
func (a *API) readBody(c *gin.Context) (*bytes.Buffer, error) {
	b := a.buf.Get().(*bytes.Buffer)
	b.Reset()
	if c.Request.ContentLength > a.opt.MaxRequestBytes {
		return b, errTooLarge
	}
	r := io.LimitReader(c.Request.Body, a.opt.MaxRequestBytes+1)
	if _, err := b.ReadFrom(r); err != nil {
		return b, err
	}
	if int64(b.Len()) > a.opt.MaxRequestBytes {
		return b, errTooLarge
	}
	return b, nil
}

// releaseBody returns a body buffer to the pool unless it grew huge.
func (a *API) releaseBody(b *bytes.Buffer) {
	if b.Cap() <= 64<<20 {
		a.buf.Put(b)
	}
}

// jsonError answers with cc-metric-store's error shape:
// {"status":"<status text>","error":"<message>"} and a newline.
func jsonError(c *gin.Context, code int, msg string) {
	out := append([]byte(`{"status":`), quote(http.StatusText(code))...)
	out = append(out, `,"error":`...)
	out = append(out, quote(msg)...)
	out = append(out, "}\n"...)
	c.Data(code, "application/json", out)
}

// bodyError answers a body read failure: 413 over the limit, else 400.
func (a *API) bodyError(c *gin.Context, err error) {
	if errors.Is(err, errTooLarge) {
		jsonError(c, http.StatusRequestEntityTooLarge, "request body exceeds the limit of "+itoa(a.opt.MaxRequestBytes)+" bytes (bridge.max-request-bytes)")
		return
	}
	jsonError(c, http.StatusBadRequest, "cannot read request body: "+err.Error())
}
