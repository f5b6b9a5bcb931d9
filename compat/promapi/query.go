package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/stats"
)

// Values of the "stats" parameter; others behave like "true" with a
// deprecation warning.
const (
	statsTrue = "true"
	statsAll  = "all"
)

var errTruncated = errors.New("results truncated due to limit")

// queryTimeout reads the per-query "timeout"; 0 when absent.
func queryTimeout(r *http.Request) (time.Duration, *apiError) {
	v := r.FormValue("timeout")
	if v == "" {
		return 0, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, invalidParam(err, "timeout")
	}
	if d <= 0 {
		return 0, invalidParam(fmt.Errorf("timeout must be positive, got %s", d), "timeout")
	}
	return d, nil
}

// queryOpts reads "lookback_delta" and "stats".
func queryOpts(r *http.Request) (promql.QueryOpts, *apiError) {
	var lookback time.Duration
	if v := r.FormValue("lookback_delta"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, badData(fmt.Errorf("error parsing lookback delta duration: %w", err))
		}
		lookback = d
	}
	return promql.NewPrometheusQueryOpts(r.FormValue("stats") == statsAll, lookback, nil), nil
}

func statsParamWarning(s string) error {
	switch s {
	case "", statsTrue, statsAll:
		return nil
	}
	return fmt.Errorf("value %q for parameter \"stats\" is deprecated and will be rejected in the next major release, use %q or %q", s, statsTrue, statsAll)
}

func (a *API) query(c *gin.Context) {
	r := c.Request
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		a.respondError(c, invalidParam(err, "limit"))
		return
	}
	ts, err := parseTimeParam(r, "time", a.opt.Now())
	if err != nil {
		a.respondError(c, invalidParam(err, "time"))
		return
	}
	a.run(c, limit, func(ctx context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return a.engine.NewInstantQuery(ctx, a.q, opts, qs, ts)
	})
}

func (a *API) queryRange(c *gin.Context) {
	r := c.Request
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		a.respondError(c, invalidParam(err, "limit"))
		return
	}
	start, err := parseTime(r.FormValue("start"))
	if err != nil {
		a.respondError(c, invalidParam(err, "start"))
		return
	}
	end, err := parseTime(r.FormValue("end"))
	if err != nil {
		a.respondError(c, invalidParam(err, "end"))
		return
	}
	if end.Before(start) {
		a.respondError(c, invalidParam(errors.New("end timestamp must not be before start time"), "end"))
		return
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		a.respondError(c, invalidParam(err, "step"))
		return
	}
	if step <= 0 {
		a.respondError(c, invalidParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step"))
		return
	}
	// Prometheus' bound on points per series: a week at 60 s steps.
	if end.Sub(start)/step > maxPointsPerSeries {
		a.respondError(c, badData(errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")))
		return
	}
	a.run(c, limit, func(ctx context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return a.engine.NewRangeQuery(ctx, a.q, opts, qs, start, end, step)
	})
}

// run applies the request's timeout and query options, builds the query
// with newQuery and answers it.
func (a *API) run(c *gin.Context, limit int, newQuery func(context.Context, promql.QueryOpts, string) (promql.Query, error)) {
	r := c.Request
	timeout, aerr := queryTimeout(r)
	if aerr != nil {
		a.respondError(c, aerr)
		return
	}
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	opts, aerr := queryOpts(r)
	if aerr != nil {
		a.respondError(c, aerr)
		return
	}
	qs := r.FormValue("query")
	qry, err := newQuery(ctx, opts, qs)
	if err != nil {
		a.respondError(c, constructionError(err))
		return
	}
	a.exec(ctx, c, qry, qs, limit)
}

// exec runs a built query and writes its answer.
func (a *API) exec(ctx context.Context, c *gin.Context, qry promql.Query, qs string, limit int) {
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		a.respondError(c, execError(res.Err))
		return
	}
	warnings := res.Warnings
	if limit > 0 {
		switch v := res.Value.(type) {
		case promql.Matrix:
			if len(v) > limit {
				res.Value = v[:limit]
				warnings.Add(errTruncated)
			}
		case promql.Vector:
			if len(v) > limit {
				res.Value = v[:limit]
				warnings.Add(errTruncated)
			}
		}
	}
	sp := c.Request.FormValue("stats")
	if w := statsParamWarning(sp); w != nil {
		warnings.Add(w)
	}
	var st []byte
	if sp != "" {
		var err error
		if st, err = json.Marshal(stats.NewQueryStats(qry.Stats())); err != nil {
			a.respondError(c, &apiError{errInternal, err})
			return
		}
	}
	a.respond(c, warnings, qs, func(b []byte, flush flushFunc) []byte {
		b = append(b, `{"resultType":`...)
		b = appendString(b, string(res.Value.Type()))
		b = append(b, `,"result":`...)
		b = appendValue(b, res.Value, flush)
		if st != nil {
			b = append(b, `,"stats":`...)
			b = append(b, st...)
		}
		return append(b, '}')
	})
}

func (a *API) formatQuery(c *gin.Context) {
	expr, err := a.parser.ParseExpr(c.Request.FormValue("query"))
	if err != nil {
		a.respondError(c, invalidParam(err, "query"))
		return
	}
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte { return appendString(b, expr.Pretty(0)) })
}

func (a *API) parseQuery(c *gin.Context) {
	expr, err := a.parser.ParseExpr(c.Request.FormValue("query"))
	if err != nil {
		a.respondError(c, invalidParam(err, "query"))
		return
	}
	a.respondJSON(c, explain(expr))
}

// queryExemplars: the store keeps no exemplars. The answer is [] for an
// expression with a selector and 204 for one without, as in Prometheus;
// Grafana probes with start/end in milliseconds, which parse as far-future
// seconds and are accepted.
func (a *API) queryExemplars(c *gin.Context) {
	r := c.Request
	start, err := parseTimeParam(r, "start", minTime)
	if err != nil {
		a.respondError(c, invalidParam(err, "start"))
		return
	}
	end, err := parseTimeParam(r, "end", maxTime)
	if err != nil {
		a.respondError(c, invalidParam(err, "end"))
		return
	}
	if end.Before(start) {
		a.respondError(c, badData(errors.New("end timestamp must not be before start timestamp")))
		return
	}
	expr, err := a.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		a.respondError(c, badData(err))
		return
	}
	if len(parser.ExtractSelectors(expr)) == 0 {
		c.Status(http.StatusNoContent)
		return
	}
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte { return append(b, "[]"...) })
}
