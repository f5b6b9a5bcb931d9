// Package influx serves the InfluxDB write APIs on the core store, so that
// Telegraf (outputs.influxdb and outputs.influxdb_v2) and other Influx
// clients can write without changes:
//
//   - POST /write: InfluxDB 1.x (db, rp, precision n/u/ms/s/m/h, u/p). Good
//     lines are stored even when others are bad; the 400 answer says
//     "partial write" and names the bad lines, as InfluxDB 1.x does.
//   - POST /api/v2/write: InfluxDB 2.x (org, bucket, precision ns/us/ms/s).
//     A body with a bad line is rejected whole, as InfluxDB 2.x OSS does.
//   - GET|HEAD /ping, /health, /ready: open status endpoints.
//   - GET|POST /query: a stub that answers what clients send on their own
//     (CREATE DATABASE, SHOW DATABASES, ...) without an error.
//
// Every route is also served under the /influx/ prefix (VictoriaMetrics'
// convention), so that one server can put Influx clients on a sub-path.
//
// Lines are decoded by core/lineproto in Influx mode (see its package
// documentation and DESIGN.md for the mapping of measurement, fields and
// tags to the level tree) and appended through a pooled core.Appender, the
// same path as the native /api/write.
package influx

import (
	"bytes"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cc-metric-bridge/cc-metric-bridge/auth"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

// Limits and reported values.
const (
	// DefaultMaxRequestBytes bounds a request body after decompression when
	// Options.MaxRequestBytes is 0; it equals the config default
	// (bridge.max-request-bytes). Telegraf batches are far smaller
	// (1000 lines ≈ 200 KB).
	DefaultMaxRequestBytes = 256 << 20
	// MaxReportedErrors bounds the bad lines named in one error answer
	// (InfluxDB Cloud reports up to 100 as well); further bad lines are
	// still skipped and counted.
	MaxReportedErrors = 100
	// MaxQuotedLineBytes bounds how much of a bad line an error answer
	// quotes, so that a body of long bad lines cannot inflate the answer.
	MaxQuotedLineBytes = 256
	// maxQueryBytes bounds a /query form body: clients send one statement.
	maxQueryBytes = 1 << 20
	// maxKeepBufferBytes: body buffers grown beyond this are not pooled.
	maxKeepBufferBytes = 64 << 20
)

// Version is the InfluxDB version reported in X-Influxdb-Version, /ping
// and /health. Clients use it only to tell 1.x from 2.x APIs; both are
// served.
const Version = "1.8.10"

// Options configure the Influx API.
type Options struct {
	Store *core.Store
	// DefaultCluster is the cluster of lines without a cluster tag when the
	// request has no ?cluster= (and ClusterFromDB does not apply).
	DefaultCluster string
	// ClusterFromDB uses the v1 db or the v2 bucket as the cluster of lines
	// without a cluster tag when the request has no ?cluster=. Off by
	// default: Telegraf's default database is "telegraf".
	ClusterFromDB bool
	// MaxRequestBytes bounds request bodies after decompression (and before
	// it); 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// MaxLineBytes bounds one line; 0 means lineproto.DefaultMaxLineBytes.
	MaxLineBytes int
	// Verifier, when set, requires a valid JWT on the write and query
	// routes, in any of Influx's credential forms (see credential). nil
	// means authentication is off. /ping, /health and /ready stay open.
	Verifier *auth.Verifier
	// Metrics, when set, receives the API's counters.
	Metrics prometheus.Registerer
}

// API is the Influx handler set.
type API struct {
	opt     Options
	started time.Time
	m       metrics
	bufs    sync.Pool // *bytes.Buffer for request bodies
	gzips   sync.Pool // *gzipReader
}

// New returns the Influx API with defaults applied.
func New(opt Options) *API {
	if opt.MaxRequestBytes <= 0 {
		opt.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = lineproto.DefaultMaxLineBytes
	}
	a := &API{opt: opt, started: time.Now(), m: newMetrics(opt.Metrics)}
	a.bufs.New = func() any { return new(bytes.Buffer) }
	a.gzips.New = func() any { return new(gzipReader) }
	return a
}

// Register adds the routes to r, each also under /influx. The write and
// query routes check credentials themselves when a Verifier is set, so do
// not put the Bearer-only auth middleware in front of them.
func (a *API) Register(r gin.IRoutes) {
	for _, p := range []string{"", "/influx"} {
		r.POST(p+"/write", a.headers, a.writeV1)
		r.OPTIONS(p+"/write", a.headers, a.preflight)
		r.POST(p+"/api/v2/write", a.headers, a.writeV2)
		r.GET(p+"/query", a.headers, a.query)
		r.POST(p+"/query", a.headers, a.query)
		r.OPTIONS(p+"/query", a.headers, a.preflight)
		r.GET(p+"/ping", a.headers, a.ping)
		r.HEAD(p+"/ping", a.headers, a.ping)
		r.GET(p+"/health", a.headers, a.health)
		r.HEAD(p+"/health", a.headers, a.health)
		r.GET(p+"/ready", a.headers, a.ready)
		r.HEAD(p+"/ready", a.headers, a.ready)
	}
}

// headers sets what InfluxDB sends with every answer.
func (a *API) headers(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Influxdb-Version", Version)
	h.Set("X-Influxdb-Build", "OSS")
}

// preflight answers CORS preflight requests as InfluxDB 1.x does.
func (a *API) preflight(c *gin.Context) { c.Status(204) }

// metrics are the API's Prometheus counters, by API version.
type metrics struct {
	samples  [2]prometheus.Counter
	skipped  [2]prometheus.Counter
	rejected [2]prometheus.Counter
	errors   [2]prometheus.Counter
}

// apiVersion indexes metrics and selects error shapes.
type apiVersion int

const (
	v1 apiVersion = iota
	v2
)

func (v apiVersion) String() string { return [...]string{"v1", "v2"}[v] }

func newMetrics(reg prometheus.Registerer) metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"api"})
		if reg != nil {
			reg.MustRegister(cv)
		}
		return cv
	}
	samples := vec("ccmb_influx_samples_written_total", "Samples stored through the Influx write APIs.")
	skipped := vec("ccmb_influx_samples_skipped_total", "Samples not stored without failing the request: string fields, and unknown metrics with strict-metrics.")
	rejected := vec("ccmb_influx_lines_rejected_total", "Lines rejected by the Influx write APIs (unparseable, or not storable).")
	errs := vec("ccmb_influx_write_errors_total", "Influx write requests answered with an error status.")
	var m metrics
	for _, v := range []apiVersion{v1, v2} {
		m.samples[v] = samples.WithLabelValues(v.String())
		m.skipped[v] = skipped.WithLabelValues(v.String())
		m.rejected[v] = rejected.WithLabelValues(v.String())
		m.errors[v] = errs.WithLabelValues(v.String())
	}
	return m
}
