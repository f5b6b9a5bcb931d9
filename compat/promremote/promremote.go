// Package promremote serves the Prometheus remote-write receiver, POST
// /api/v1/write (alias /api/v1/push), on the core store: remote write 1.0
// (prometheus.WriteRequest) and 2.0 (io.prometheus.write.v2.Request),
// negotiated by Content-Type, snappy block encoding only.
//
// Status rules (remote-write 2.0 spec and Prometheus' own receiver):
//
//   - 415 for a Content-Type other than application/x-protobuf (with no
//     proto parameter, proto=prometheus.WriteRequest or
//     proto=io.prometheus.write.v2.Request) and for a Content-Encoding other
//     than snappy (an empty one is read as snappy); 405 for methods other
//     than POST.
//   - 413 for a body over Options.MaxRequestBytes as sent; 400 when its
//     snappy header declares more than that (checked before anything is
//     allocated), for bad snappy and bad protobuf.
//   - 400 with a text body (so that senders do not retry) when any element
//     was not written: a series without __name__ or with an invalid label
//     set, native histograms (this store keeps float samples only),
//     exemplars (2.0; 1.0 exemplars are ignored, that protocol has no way to
//     report them), samples more than MaxAhead in the future, metrics not
//     configured under strict-metrics. Every valid sample of the request is
//     stored all the same (a partial write, as 2.0 specifies; Prometheus'
//     1.0 receiver rolls the whole request back instead).
//   - 500 when the WAL cannot log the batch (Commit fails): the sender
//     retries the request, and samples sent again overwrite themselves.
//   - 503 while the store is being restored (Options.Ready).
//   - 204 otherwise. Every answer to a 2.0 request carries the exact
//     X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written
//     counts; 1.0 answers carry them as 0, as Prometheus' receiver does.
//
// Samples keep their millisecond timestamps and the exact bits of their
// float64 values, stale markers included. Labels need not be sorted; UTF-8
// metric and label names are accepted; metadata and created timestamps are
// accepted and ignored. Out-of-order samples are stored in place, and a
// sample at an existing timestamp replaces it (the newest write wins, as
// everywhere in this store).
//
// Series are placed in the level tree by core/promlabels and read back with
// exactly the labels they were sent with.
package promremote

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Limits.
const (
	// DefaultMaxRequestBytes bounds a request body, as sent and after snappy
	// decoding, when Options.MaxRequestBytes is 0. It is client_golang's
	// receiver limit; Prometheus sends at most 2,000 samples (≈ 200 KB) per
	// request by default.
	DefaultMaxRequestBytes = 32 << 20
	// MaxAhead: samples further in the future are rejected, as Prometheus'
	// receiver does (its maxAheadTime), so that a sender with a wrong clock
	// cannot place data where it would shadow the real data later.
	MaxAhead = 10 * time.Minute
	// MaxLabelsPerSeries bounds the labels of one series; Prometheus has no
	// default limit, Mimir uses 30. Real series carry 5–20.
	MaxLabelsPerSeries = 256
	// MaxLabelNameBytes and MaxLabelValueBytes bound one label (Mimir's
	// defaults are 1,024 and 2,048; values may be longer here because long
	// values such as URLs or build strings are common).
	MaxLabelNameBytes  = 1 << 10
	MaxLabelValueBytes = 16 << 10
	// maxKeepBytes: buffers grown beyond this are not pooled.
	maxKeepBytes = 64 << 20
)

// Header names and values of the protocol.
const (
	headerSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	headerHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	headerExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
	contentTypeProtobuf     = "application/x-protobuf"
	protoV1                 = "prometheus.WriteRequest"
	protoV2                 = "io.prometheus.write.v2.Request"
)

// Options configure the remote-write receiver.
type Options struct {
	Store *core.Store
	// DefaultCluster is the cluster of series without a cluster label.
	DefaultCluster string
	// MaxRequestBytes bounds the body as sent and after snappy decoding;
	// 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Auth, when set, runs before the handler (nil: authentication off).
	Auth gin.HandlerFunc
	// Registerer, when set, receives the receiver's counters.
	Registerer prometheus.Registerer
	// Ready, when set, reports whether writes are accepted; until then the
	// receiver answers 503 (retried by senders). nil means always ready.
	Ready func() bool
	// MaxAge, when positive, rejects samples older than now − MaxAge (the
	// store's retention), with 400 so that senders drop them.
	MaxAge time.Duration
}

// API is the remote-write handler.
type API struct {
	opt  Options
	m    metrics
	bufs sync.Pool // *bytes.Buffer: request bodies as sent
	decs sync.Pool // *decoder
	now  func() time.Time
}

// New returns the receiver with defaults applied.
func New(opt Options) *API {
	if opt.MaxRequestBytes <= 0 {
		opt.MaxRequestBytes = DefaultMaxRequestBytes
	}
	a := &API{opt: opt, m: newMetrics(opt.Registerer), now: time.Now}
	a.bufs.New = func() any { return new(bytes.Buffer) }
	a.decs.New = func() any { return newDecoder() }
	return a
}

// Register adds POST /api/v1/write and /api/v1/push to r; other methods on
// those paths get 405.
func (a *API) Register(r gin.IRoutes) {
	write := []gin.HandlerFunc{a.write}
	if a.opt.Auth != nil {
		write = []gin.HandlerFunc{a.opt.Auth, a.write}
	}
	for _, p := range []string{"/api/v1/write", "/api/v1/push"} {
		r.POST(p, write...)
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			r.Handle(m, p, methodNotAllowed)
		}
	}
}

func methodNotAllowed(c *gin.Context) {
	c.Header("Allow", http.MethodPost)
	c.String(http.StatusMethodNotAllowed, "Method Not Allowed: remote write needs POST\n")
}

// version is the negotiated protocol.
type version uint8

const (
	v1 version = iota
	v2
)

func (v version) String() string { return [...]string{"1.0", "2.0"}[v] }

// parseContentType negotiates the protocol like client_golang's
// ParseProtoMsg (which Prometheus' receiver uses), tolerating the optional
// white space and quotes of RFC 9110: an empty type is 1.0; the media type
// must be application/x-protobuf; its proto parameter, if any, names the
// message.
func parseContentType(ct string) (version, error) {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return v1, nil
	}
	media, params, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(media), contentTypeProtobuf) {
		return 0, unsupportedf("Content-Type %q is not accepted: use %s (remote write 1.0) or %s;proto=%s (2.0)",
			ct, contentTypeProtobuf, contentTypeProtobuf, protoV2)
	}
	v := v1
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return 0, unsupportedf("Content-Type %q: malformed parameter %q", ct, p)
		}
		if !strings.EqualFold(strings.TrimSpace(k), "proto") {
			continue
		}
		switch strings.Trim(strings.TrimSpace(val), `"`) {
		case protoV1:
			v = v1
		case protoV2:
			v = v2
		default:
			return 0, unsupportedf("Content-Type %q: protobuf message %q is not accepted: use %s or %s", ct, val, protoV1, protoV2)
		}
	}
	return v, nil
}

func unsupportedf(format string, args ...any) error {
	return &statusError{code: http.StatusUnsupportedMediaType, msg: fmt.Sprintf(format, args...)}
}

// statusError carries an HTTP status and a message for the client.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

// write is the handler of POST /api/v1/write.
func (a *API) write(c *gin.Context) {
	req := c.Request
	ver, err := parseContentType(req.Header.Get("Content-Type"))
	if err != nil {
		a.fail(c, ver, err)
		return
	}
	if enc := strings.TrimSpace(req.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "snappy") {
		a.fail(c, ver, unsupportedf("Content-Encoding %q is not accepted: only snappy (block format)", enc))
		return
	}
	if a.opt.Ready != nil && !a.opt.Ready() {
		c.Header("Retry-After", "5")
		a.fail(c, ver, &statusError{code: http.StatusServiceUnavailable, msg: "restoring data: not ready yet"})
		return
	}
	body := a.bufs.Get().(*bytes.Buffer)
	defer a.releaseBody(body)
	if err := a.readBody(c, body); err != nil {
		a.fail(c, ver, err)
		return
	}

	d := a.decs.Get().(*decoder)
	defer a.releaseDecoder(d)
	now := a.now()
	d.reset(a.opt.DefaultCluster, now.Add(MaxAhead).UnixMilli(), a.minTime(now))
	app := a.opt.Store.Appender()
	d.app = app
	derr := d.decode(body.Bytes(), ver, a.opt.MaxRequestBytes)
	d.app = nil
	if werr := app.Commit(); werr != nil {
		// Stored in memory but not logged, so not acknowledged: the sender
		// retries and the same samples overwrite themselves.
		a.m.walErrors.Inc()
		a.fail(c, ver, &statusError{code: http.StatusInternalServerError, msg: "cannot store samples: " + werr.Error()})
		return
	}
	a.m.add(ver, &d.st)
	if derr == nil {
		derr = d.st.err()
	}
	a.writtenHeaders(c, ver, &d.st)
	if derr != nil {
		a.fail(c, ver, derr)
		return
	}
	a.m.requests[ver][codeIndex(http.StatusNoContent)].Inc()
	c.Status(http.StatusNoContent)
}

// minTime is the oldest timestamp accepted (ms).
func (a *API) minTime(now time.Time) int64 {
	if a.opt.MaxAge <= 0 {
		return minInt64
	}
	return now.Add(-a.opt.MaxAge).UnixMilli()
}

const minInt64 = -1 << 63

// writtenHeaders sets the 2.0 written counts (0 for 1.0 requests).
func (a *API) writtenHeaders(c *gin.Context, ver version, st *stats) {
	h := c.Writer.Header()
	if ver == v1 {
		h.Set(headerSamplesWritten, "0")
		h.Set(headerHistogramsWritten, "0")
		h.Set(headerExemplarsWritten, "0")
		return
	}
	h.Set(headerSamplesWritten, strconv.Itoa(st.samples))
	h.Set(headerHistogramsWritten, strconv.Itoa(st.histograms))
	h.Set(headerExemplarsWritten, strconv.Itoa(st.exemplars))
}

// fail answers err as text: its statusError code, else 400. A 2.0 answer
// without written counts yet gets zeros, so that every 2.0 answer has them.
func (a *API) fail(c *gin.Context, ver version, err error) {
	code := http.StatusBadRequest
	var se *statusError
	if errors.As(err, &se) {
		code = se.code
	}
	h := c.Writer.Header()
	if h.Get(headerSamplesWritten) == "" {
		a.writtenHeaders(c, ver, &stats{})
	}
	a.m.requests[ver][codeIndex(code)].Inc()
	c.Data(code, "text/plain; charset=utf-8", append([]byte(err.Error()), '\n'))
}

// readBody reads the body as sent into b, bounded by MaxRequestBytes.
func (a *API) readBody(c *gin.Context, b *bytes.Buffer) error {
	limit := a.opt.MaxRequestBytes
	req := c.Request
	tooLarge := &statusError{code: http.StatusRequestEntityTooLarge,
		msg: "request body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
	if req.ContentLength > limit {
		return tooLarge
	}
	b.Reset()
	if req.ContentLength > 0 {
		b.Grow(int(req.ContentLength))
	}
	// MaxBytesReader also makes the server close the connection instead of
	// draining the rest of an oversized body.
	_, err := b.ReadFrom(http.MaxBytesReader(c.Writer, req.Body, limit))
	var maxErr *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &maxErr):
		return tooLarge
	}
	return &statusError{code: http.StatusBadRequest, msg: "cannot read request body: " + err.Error()}
}

func (a *API) releaseBody(b *bytes.Buffer) {
	if b.Cap() <= maxKeepBytes {
		b.Reset()
		a.bufs.Put(b)
	}
}

func (a *API) releaseDecoder(d *decoder) {
	if d.big() {
		return
	}
	a.decs.Put(d)
}
