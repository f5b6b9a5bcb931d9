package influx

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

// decoders is this package's own pool: a Decoder caches series per mode and
// default cluster, so sharing one pool with Native-mode users would keep
// emptying those caches.
var decoders = sync.Pool{New: func() any { return lineproto.NewDecoder() }}

// writeV1 serves POST /write with InfluxDB 1.x semantics: every good line
// is stored; bad lines make the answer 400 "partial write: ...".
func (a *API) writeV1(c *gin.Context) {
	if !a.authorize(c, v1) {
		return
	}
	prec, ok := v1Precision(c.Query("precision"))
	if !ok {
		a.fail(c, v1, http.StatusBadRequest, "", `invalid precision "`+c.Query("precision")+`" (valid: n, u, ms, s, m, h)`)
		return
	}
	switch c.Query("consistency") {
	case "", "any", "one", "quorum", "all":
	default:
		a.fail(c, v1, http.StatusBadRequest, "", "invalid consistency level")
		return
	}
	body, err := a.readBody(c)
	defer a.releaseBody(body)
	if err != nil {
		a.bodyError(c, v1, err)
		return
	}
	var res ingestResult
	werr, err := a.store(body.Bytes(), a.decodeOptions(c, prec, c.Query("db")), v1, &res)
	switch {
	case err != nil:
		a.fail(c, v1, http.StatusInternalServerError, "", err.Error())
	case werr != nil:
		// Stored in memory but not logged: not acknowledged, so that the
		// client retries (a 5xx makes Telegraf keep the batch).
		a.fail(c, v1, http.StatusInternalServerError, "", werr.Error())
	case res.rejected() == 0:
		c.Status(http.StatusNoContent)
	case res.dropped == 0 && res.stats.Lines == 0:
		// Nothing was parseable: InfluxDB 1.x answers without "partial".
		a.fail(c, v1, http.StatusBadRequest, "", res.message())
	default:
		a.fail(c, v1, http.StatusBadRequest, "", "partial write: "+res.message()+" dropped="+strconv.Itoa(res.dropped))
	}
}

// writeV2 serves POST /api/v2/write with InfluxDB 2.x OSS semantics: a body
// with an unparseable line is rejected whole (400, nothing stored).
func (a *API) writeV2(c *gin.Context) {
	if !a.authorize(c, v2) {
		return
	}
	prec, ok := v2Precision(c.Query("precision"))
	if !ok {
		a.fail(c, v2, http.StatusBadRequest, "invalid", "invalid precision; valid precision units are ns, us, ms, and s")
		return
	}
	bucket := c.Query("bucket")
	if bucket == "" {
		a.fail(c, v2, http.StatusNotFound, "not found", "bucket not found")
		return
	}
	body, err := a.readBody(c)
	defer a.releaseBody(body)
	if err != nil {
		a.bodyError(c, v2, err)
		return
	}
	if body.Len() == 0 {
		a.fail(c, v2, http.StatusBadRequest, "invalid", "writing requires points")
		return
	}
	var res ingestResult
	werr, err := a.store(body.Bytes(), a.decodeOptions(c, prec, bucket), v2, &res)
	switch {
	case err != nil:
		a.fail(c, v2, http.StatusInternalServerError, "internal error", err.Error())
	case res.bad > 0:
		a.failLine(c, res.message(), res.firstLine)
	case werr != nil:
		a.fail(c, v2, http.StatusInternalServerError, "internal error", werr.Error())
	case res.dropped > 0:
		a.fail(c, v2, http.StatusUnprocessableEntity, "unprocessable entity",
			"failure writing points to database: partial write: "+res.message()+" dropped="+strconv.Itoa(res.dropped))
	default:
		c.Status(http.StatusNoContent)
	}
}

// store decodes body into the store. v2 first validates the whole body
// without storing (a second decode pass: parsing is cheap next to a
// rejected batch that is half stored) and stores nothing if a line is bad.
// werr is the store's commit (WAL) error; err an unexpected decoder error.
func (a *API) store(body []byte, opt lineproto.Options, ver apiVersion, res *ingestResult) (werr, err error) {
	dec := decoders.Get().(*lineproto.Decoder)
	defer decoders.Put(dec)
	if ver == v2 {
		if err := ingest(dec, body, opt, a.opt.MaxLineBytes, discard{}, res); err != nil {
			return nil, err
		}
		if res.bad > 0 {
			a.m.rejected[ver].Add(float64(res.bad))
			return nil, nil
		}
		*res = ingestResult{}
	}
	app := a.opt.Store.Appender()
	func() {
		// Commit even on a panic: the appender holds a series lock.
		defer func() { werr = app.Commit() }()
		err = ingest(dec, body, opt, a.opt.MaxLineBytes, app, res)
	}()
	a.m.samples[ver].Add(float64(res.stats.Samples))
	a.m.skipped[ver].Add(float64(res.stats.Skipped))
	a.m.rejected[ver].Add(float64(res.rejected()))
	return werr, err
}

// decodeOptions are the decoder options of one request.
func (a *API) decodeOptions(c *gin.Context, prec lineproto.Precision, db string) lineproto.Options {
	return lineproto.Options{
		Mode:           lineproto.Influx,
		DefaultCluster: a.cluster(c, db),
		Now:            time.Now().UnixMilli(),
		Precision:      prec,
	}
}

// cluster is the cluster of lines without a cluster tag: ?cluster=, else
// the db/bucket if so configured, else the configured default.
func (a *API) cluster(c *gin.Context, db string) []byte {
	if v := c.Query("cluster"); v != "" {
		return []byte(v)
	}
	if a.opt.ClusterFromDB && db != "" {
		return []byte(db)
	}
	return []byte(a.opt.DefaultCluster)
}

// v1Precision parses InfluxDB 1.x's precision values. 1.x itself reads
// anything unknown as nanoseconds; a typo is better reported than
// silently misread, and ns/us are accepted as the 2.x spellings.
func v1Precision(s string) (lineproto.Precision, bool) {
	p, err := lineproto.ParsePrecision(s)
	return p, err == nil
}

// v2Precision parses InfluxDB 2.x's precision values.
func v2Precision(s string) (lineproto.Precision, bool) {
	switch s {
	case "", "ns":
		return lineproto.Nanosecond, true
	case "us":
		return lineproto.Microsecond, true
	case "ms":
		return lineproto.Millisecond, true
	case "s":
		return lineproto.Second, true
	}
	return 0, false
}

// bodyError answers a body read failure.
func (a *API) bodyError(c *gin.Context, ver apiVersion, err error) {
	switch {
	case errors.Is(err, errTooLarge):
		if ver == v1 {
			a.fail(c, v1, http.StatusRequestEntityTooLarge, "", "Request Entity Too Large")
			return
		}
		a.m.errors[v2].Inc()
		c.Header("X-Platform-Error-Code", "request too large")
		a.writeJSON(c, http.StatusRequestEntityTooLarge, v2Error{
			Code:      "request too large",
			Message:   "unable to read data: points batch is too large",
			MaxLength: a.opt.MaxRequestBytes,
		})
	case ver == v2 && errors.Is(err, gzip.ErrHeader):
		a.fail(c, v2, http.StatusBadRequest, "invalid", "gzipped HTTP body contains an invalid header")
	case ver == v2:
		a.fail(c, v2, http.StatusBadRequest, "invalid", "unable to read data: "+err.Error())
	default:
		a.fail(c, v1, http.StatusBadRequest, "", err.Error())
	}
}

// v1Error is InfluxDB 1.x's error body.
type v1Error struct {
	Error string `json:"error"`
}

// v2Error is InfluxDB 2.x's error body.
type v2Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Line      int    `json:"line,omitempty"`
	MaxLength int64  `json:"maxLength,omitempty"`
}

// maxErrorHeaderBytes bounds X-Influxdb-Error, as InfluxDB 1.x does.
const maxErrorHeaderBytes = 1024

// fail answers an error in the shape of ver: {"error":msg} for v1,
// {"code":code,"message":msg} for v2.
func (a *API) fail(c *gin.Context, ver apiVersion, status int, code, msg string) {
	a.m.errors[ver].Inc()
	if ver == v2 {
		c.Header("X-Platform-Error-Code", code)
		a.writeJSON(c, status, v2Error{Code: code, Message: msg})
		return
	}
	h := []byte(msg)
	if len(h) > maxErrorHeaderBytes {
		h = appendClipped(nil, h, maxErrorHeaderBytes-3)
	}
	// Header values cannot hold line breaks (bad lines are joined by '\n').
	h = bytes.ReplaceAll(h, []byte{'\n'}, []byte{' '})
	h = bytes.ReplaceAll(h, []byte{'\r'}, []byte{' '})
	c.Header("X-Influxdb-Error", string(h))
	a.writeJSON(c, status, v1Error{Error: msg})
}

// failLine answers a v2 parse error naming the first bad line.
func (a *API) failLine(c *gin.Context, msg string, line int) {
	a.m.errors[v2].Inc()
	c.Header("X-Platform-Error-Code", "invalid")
	a.writeJSON(c, http.StatusBadRequest, v2Error{Code: "invalid", Message: msg, Line: line})
}
