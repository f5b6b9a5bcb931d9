package native

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

var decoders = sync.Pool{New: func() any { return new(lineproto.Decoder) }}

// write stores a line-protocol body. Lines before a bad line stay stored,
// as in the reference; the 400 names the line and the reason.
func (a *API) write(c *gin.Context) {
	body, err := a.readBody(c)
	defer a.releaseBody(body)
	if err != nil {
		a.bodyError(c, err)
		return
	}
	dec := decoders.Get().(*lineproto.Decoder)
	defer decoders.Put(dec)
	app := a.opt.Store.Appender()
	stats, err := dec.Decode(body.Bytes(), lineproto.Options{
		Mode:           lineproto.Native,
		DefaultCluster: a.defaultCluster(c.Request.URL.RawQuery),
		Now:            time.Now().UnixMilli(),
	}, app)
	if werr := app.Commit(); werr != nil {
		// Stored in memory but not logged: not acknowledged. The client
		// retries; samples it sends again overwrite the same timestamps.
		a.opt.Metrics.WriteErrors.Inc()
		jsonError(c, http.StatusInternalServerError, werr.Error())
		return
	}
	a.opt.Metrics.Samples.Add(float64(stats.Samples))
	a.opt.Metrics.Skipped.Add(float64(stats.Skipped))
	if err != nil {
		a.opt.Metrics.WriteErrors.Inc()
		jsonError(c, http.StatusBadRequest, err.Error())
		return
	}
	c.Data(http.StatusOK, "application/json", nil)
}

// defaultCluster is ?cluster= if present, else the configured default.
func (a *API) defaultCluster(rawQuery string) []byte {
	if v, ok := rawParam(rawQuery, "cluster"); ok {
		return v
	}
	return []byte(a.opt.DefaultCluster)
}

// rawParam returns the first value of name in a raw query string without
// URL-decoding it, as cc-metric-store reads ?cluster=.
func rawParam(rawQuery, name string) ([]byte, bool) {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(part, "=")
		if k == name {
			return []byte(v), true
		}
	}
	return nil, false
}
