// Package promapi serves the Prometheus HTTP query API on the core store,
// so that Grafana's Prometheus datasource, promtool and the PromQL
// compliance tester work against cc-metric-bridge:
//
//   - GET|POST /api/v1/query, /api/v1/query_range: the real PromQL engine
//     (github.com/prometheus/prometheus/promql) over a storage.Queryable of
//     the store that reads exact samples (never the native slot view).
//   - GET|POST /api/v1/series, /api/v1/labels, /api/v1/label/<name>/values
//     (match[], start, end, limit; U__-escaped names).
//   - GET /api/v1/metadata, /api/v1/status/buildinfo, /status/runtimeinfo,
//     /api/v1/rules, /api/v1/alerts; GET|POST /api/v1/query_exemplars
//     (always empty), /api/v1/format_query, /api/v1/parse_query.
//   - GET|HEAD /-/healthy, /-/ready.
//
// Parameters come from the URL and from form bodies (the body wins), in
// every time and duration format Prometheus accepts; answers use its
// envelope, error types and status codes, and its number formatting
// ("NaN", "+Inf", timestamps as seconds with millisecond decimals). Series
// written over line protocol or the native API carry the mapped labels
// (__name__, cluster, hostname, type, type_id, stype, stype_id and their
// other tags); remote-write series carry exactly the labels they were sent
// with (see DESIGN.md and package core/promlabels).
//
// Not served: admin, targets, config, flags (a 404 keeps Grafana's alerting
// UI from classifying the server as Thanos), remote read, OPTIONS/CORS.
package promapi

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// PrometheusVersion is the Prometheus release whose query API and engine
// (module v0.316.0) this package serves; /api/v1/status/buildinfo reports it
// as "version" because Grafana compares it as semver (label matchers on the
// labels API need >= 2.24.0). The bridge's own version goes to "revision".
const PrometheusVersion = "3.16.0"

// Options configure the API. Zero limits take Prometheus' defaults.
type Options struct {
	Store *core.Store
	// MaxSamples bounds the samples a query may hold at once
	// (DefaultMaxSamples when 0).
	MaxSamples int
	// Timeout bounds the evaluation of one query (DefaultTimeout when 0).
	Timeout time.Duration
	// MaxConcurrent bounds queries evaluated at once (DefaultMaxConcurrent
	// when 0).
	MaxConcurrent int
	// LookbackDelta is the default lookback of instant selectors
	// (DefaultLookbackDelta when 0).
	LookbackDelta time.Duration
	// Auth, when set, runs before every data route. /-/healthy, /-/ready
	// and /api/v1/status/buildinfo stay open.
	Auth gin.HandlerFunc
	// Version is the bridge's version, reported as buildinfo "revision".
	Version string
	// Ready, when set, reports whether the store is restored; until then
	// /-/ready and the data routes answer 503 as a starting Prometheus does.
	Ready func() bool
	// Now returns the server time (default time.Now); tests pin it.
	Now func() time.Time
}

// API is the Prometheus query API handler set.
type API struct {
	opt     Options
	engine  *promql.Engine
	parser  parser.Parser
	q       *queryable
	slots   slots // the engine's query tracker
	started time.Time
	bufs    sync.Pool // *[]byte response buffers
}

// New returns the API with defaults applied.
func New(opt Options) (*API, error) {
	if opt.Store == nil {
		return nil, fmt.Errorf("cannot create Prometheus API: no store")
	}
	if opt.MaxSamples <= 0 {
		opt.MaxSamples = DefaultMaxSamples
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = DefaultMaxConcurrent
	}
	if opt.LookbackDelta <= 0 {
		opt.LookbackDelta = DefaultLookbackDelta
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	// The parser options and engine flags are those of a default
	// Prometheus 3.16 server: @ and negative offsets on, experimental
	// functions and delayed name removal off.
	p := parser.NewParser(parser.Options{})
	sl := make(slots, opt.MaxConcurrent)
	a := &API{
		opt:    opt,
		parser: p,
		q:      &queryable{ix: newIndexer(opt.Store)},
		slots:  sl,
		engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples:               opt.MaxSamples,
			Timeout:                  opt.Timeout,
			LookbackDelta:            opt.LookbackDelta,
			ActiveQueryTracker:       sl,
			NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
			Parser:                   p,
		}),
		started: time.Now(),
	}
	a.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	return a, nil
}

// Queryable returns the storage adapter the engine reads (for tests and
// embedding).
func (a *API) Queryable() storage.Queryable { return a.q }

// Engine returns the PromQL engine (for tests and embedding).
func (a *API) Engine() *promql.Engine { return a.engine }

// Register adds the routes to r.
func (a *API) Register(r gin.IRoutes) {
	data := func(h gin.HandlerFunc) []gin.HandlerFunc {
		if a.opt.Auth != nil {
			return []gin.HandlerFunc{a.opt.Auth, a.requireReady, h}
		}
		return []gin.HandlerFunc{a.requireReady, h}
	}
	both := func(path string, h gin.HandlerFunc) {
		r.GET(path, data(h)...)
		r.POST(path, data(h)...)
	}
	const v1 = "/api/v1"
	both(v1+"/query", a.query)
	both(v1+"/query_range", a.queryRange)
	both(v1+"/query_exemplars", a.queryExemplars)
	both(v1+"/format_query", a.formatQuery)
	both(v1+"/parse_query", a.parseQuery)
	both(v1+"/labels", a.labelNames)
	both(v1+"/series", a.series)
	// Prometheus serves GET only; Grafana's suggestion resource may POST.
	both(v1+"/label/:name/values", a.labelValues)
	r.GET(v1+"/metadata", data(a.metadata)...)
	r.GET(v1+"/rules", data(a.rules)...)
	r.GET(v1+"/alerts", data(a.alerts)...)
	r.GET(v1+"/status/runtimeinfo", data(a.runtimeInfo)...)
	r.GET(v1+"/status/buildinfo", a.buildInfo)

	r.GET("/-/healthy", a.healthy)
	r.HEAD("/-/healthy", a.healthy)
	r.GET("/-/ready", a.ready)
	r.HEAD("/-/ready", a.ready)
}

func (a *API) isReady() bool { return a.opt.Ready == nil || a.opt.Ready() }

// requireReady answers as Prometheus' web handler does before the TSDB is
// open.
func (a *API) requireReady(c *gin.Context) {
	if a.isReady() {
		return
	}
	c.Header("X-Prometheus-Stopping", "false")
	c.String(http.StatusServiceUnavailable, "Service Unavailable")
	c.Abort()
}

func (a *API) healthy(c *gin.Context) {
	if c.Request.Method == http.MethodHead {
		c.Status(http.StatusOK)
		return
	}
	c.String(http.StatusOK, "Prometheus Server is Healthy.\n")
}

func (a *API) ready(c *gin.Context) {
	if !a.isReady() {
		a.requireReady(c)
		return
	}
	if c.Request.Method == http.MethodHead {
		c.Status(http.StatusOK)
		return
	}
	c.String(http.StatusOK, "Prometheus Server is Ready.\n")
}

// buildInfo has no "features" key: with it, Grafana would take the server
// for Mimir and probe a ruler API.
func (a *API) buildInfo(c *gin.Context) {
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte {
		b = append(b, `{"version":`...)
		b = appendString(b, PrometheusVersion)
		b = append(b, `,"revision":`...)
		b = appendString(b, "cc-metric-bridge "+a.opt.Version)
		b = append(b, `,"branch":"cc-metric-bridge","buildUser":"","buildDate":"","goVersion":`...)
		b = appendString(b, runtime.Version())
		return append(b, '}')
	})
}

func (a *API) runtimeInfo(c *gin.Context) {
	host, _ := os.Hostname()
	cwd, _ := os.Getwd()
	info := map[string]any{
		"startTime":           a.started,
		"CWD":                 cwd,
		"hostname":            host,
		"serverTime":          a.opt.Now().UTC(),
		"reloadConfigSuccess": true,
		"lastConfigTime":      a.started,
		"corruptionCount":     0,
		"goroutineCount":      runtime.NumGoroutine(),
		"GOMAXPROCS":          runtime.GOMAXPROCS(0),
		"GOMEMLIMIT":          memLimit(),
		"GOGC":                os.Getenv("GOGC"),
		"GODEBUG":             os.Getenv("GODEBUG"),
		"storageRetention":    "",
		"timeSeriesCount":     a.opt.Store.NumSeries(),
	}
	a.respondJSON(c, info)
}

// rules and alerts: the bridge evaluates no rules. Grafana reads the rules
// at datasource start and ignores failures, but an answer avoids noise.
func (a *API) rules(c *gin.Context) {
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte { return append(b, `{"groups":[]}`...) })
}

func (a *API) alerts(c *gin.Context) {
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte { return append(b, `{"alerts":[]}`...) })
}
