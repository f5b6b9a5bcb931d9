package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"
)

// errorType is the "errorType" of an error answer; each maps to one HTTP
// status (web/api/v1 getDefaultErrorCode).
type errorType string

const (
	errBadData     errorType = "bad_data"
	errExec        errorType = "execution"
	errTimeout     errorType = "timeout"
	errCanceled    errorType = "canceled"
	errInternal    errorType = "internal"
	errUnavailable errorType = "unavailable"
)

// statusClientClosedConnection is nginx's 499, Prometheus' answer for a
// query whose client went away.
const statusClientClosedConnection = 499

func (t errorType) status() int {
	switch t {
	case errBadData:
		return http.StatusBadRequest
	case errExec:
		return http.StatusUnprocessableEntity
	case errCanceled:
		return statusClientClosedConnection
	case errTimeout:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// apiError is an error answer.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

func badData(err error) *apiError { return &apiError{errBadData, err} }

// invalidParam is the answer for a parameter that does not parse.
func invalidParam(err error, name string) *apiError {
	return &apiError{errBadData, &paramError{name: name, err: err}}
}

type paramError struct {
	name string
	err  error
}

func (e *paramError) Error() string {
	return "invalid parameter " + strconv.Quote(e.name) + ": " + e.err.Error()
}
func (e *paramError) Unwrap() error { return e.err }

// execError classifies an evaluation error (web/api/v1 returnAPIError).
func execError(err error) *apiError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
		es  promql.ErrStorage
	)
	switch {
	case errors.As(err, &eqc):
		return &apiError{errCanceled, err}
	case errors.As(err, &eqt):
		return &apiError{errTimeout, err}
	case errors.As(err, &es):
		return &apiError{errInternal, err}
	case errors.Is(err, context.Canceled):
		return &apiError{errCanceled, err}
	}
	return &apiError{errExec, err}
}

// constructionError classifies an error of building a query
// (web/api/v1 queryConstructionError).
func constructionError(err error) *apiError {
	var (
		eqc promql.ErrQueryCanceled
		eqt promql.ErrQueryTimeout
	)
	if errors.As(err, &eqt) || errors.As(err, &eqc) {
		return execError(err)
	}
	return invalidParam(err, "query")
}

func (a *API) getBuf() *[]byte { return a.bufs.Get().(*[]byte) }

func (a *API) putBuf(b *[]byte) {
	if cap(*b) > maxResponseBufferBytes {
		return
	}
	*b = (*b)[:0]
	a.bufs.Put(b)
}

// flushFunc sends the bytes encoded so far and returns the buffer emptied.
// Encoders of large answers call it every flushBytes or so, so that an
// answer of many megabytes is streamed instead of held whole.
type flushFunc func(b []byte) []byte

// flushBytes is the chunk size of streamed answers.
const flushBytes = 256 << 10

// respond writes a success envelope whose "data" data appends.
// Annotations become "warnings" and "infos" (at most 10 each, as in
// Prometheus), with positions relative to query.
func (a *API) respond(c *gin.Context, annos annotations.Annotations, query string, data func(b []byte, flush flushFunc) []byte) {
	bp := a.getBuf()
	defer a.putBuf(bp)
	var sw *streamWriter
	flush := func(b []byte) []byte {
		if sw == nil {
			sw = a.startStream(c)
		}
		sw.write(b)
		return b[:0]
	}
	b := append((*bp)[:0], `{"status":"success","data":`...)
	b = data(b, flush)
	if len(annos) > 0 {
		warn, info := annos.AsStrings(query, 10, 10)
		if len(warn) > 0 {
			b = append(b, `,"warnings":`...)
			b = appendStrings(b, warn)
		}
		if len(info) > 0 {
			b = append(b, `,"infos":`...)
			b = appendStrings(b, info)
		}
	}
	b = append(b, '}')
	*bp = b
	if sw == nil {
		a.write(c, http.StatusOK, b)
		return
	}
	sw.write(b)
	sw.close()
}

// streamWriter sends a 200 answer in chunks, gzip-compressed when the
// client accepts it.
type streamWriter struct {
	c  *gin.Context
	zw *gzip.Writer
}

func (a *API) startStream(c *gin.Context) *streamWriter {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json")
	h.Add("Vary", "Accept-Encoding")
	sw := &streamWriter{c: c}
	if acceptsGzip(c.Request.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		sw.zw = gzipPool.Get().(*gzip.Writer)
		sw.zw.Reset(c.Writer)
	}
	c.Status(http.StatusOK)
	return sw
}

func (sw *streamWriter) write(b []byte) {
	if sw.zw != nil {
		_, _ = sw.zw.Write(b)
		return
	}
	_, _ = sw.c.Writer.Write(b)
}

func (sw *streamWriter) close() {
	if sw.zw != nil {
		_ = sw.zw.Close()
		sw.zw.Reset(nil)
		gzipPool.Put(sw.zw)
		sw.zw = nil
	}
}

// respondJSON answers with data marshalled by encoding/json.
func (a *API) respondJSON(c *gin.Context, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		a.respondError(c, &apiError{errInternal, err})
		return
	}
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte { return append(b, raw...) })
}

// respondError writes an error envelope with the status of its type.
func (a *API) respondError(c *gin.Context, e *apiError) {
	bp := a.getBuf()
	defer a.putBuf(bp)
	b := append((*bp)[:0], `{"status":"error","errorType":`...)
	b = appendString(b, string(e.typ))
	b = append(b, `,"error":`...)
	b = appendString(b, e.err.Error())
	b = append(b, '}')
	*bp = b
	a.write(c, e.typ.status(), b)
}

// minGzipBytes: smaller answers are sent as they are; compressing them
// costs more than it saves.
const minGzipBytes = 1024

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// write sends a JSON body, gzip-compressed when the client accepts it
// (Prometheus compresses every API answer; Grafana's client accepts gzip).
func (a *API) write(c *gin.Context, code int, body []byte) {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json")
	h.Add("Vary", "Accept-Encoding")
	if len(body) < minGzipBytes || !acceptsGzip(c.Request.Header.Get("Accept-Encoding")) {
		c.Status(code)
		_, _ = c.Writer.Write(body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	c.Status(code)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(c.Writer)
	_, _ = zw.Write(body)
	_ = zw.Close()
	zw.Reset(nil)
	gzipPool.Put(zw)
}

func acceptsGzip(h string) bool {
	for h != "" {
		var tok string
		tok, h, _ = strings.Cut(h, ",")
		tok, q, _ := strings.Cut(tok, ";")
		if strings.TrimSpace(tok) == "gzip" {
			q = strings.TrimSpace(q)
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// memLimit returns the Go memory limit (math.MaxInt64 when unset).
func memLimit() int64 { return debug.SetMemoryLimit(-1) }
