package promapi

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// timeRange reads the optional start/end of the metadata endpoints.
func timeRange(c *gin.Context) (mint, maxt int64, aerr *apiError) {
	start, err := parseTimeParam(c.Request, "start", minTime)
	if err != nil {
		return 0, 0, invalidParam(err, "start")
	}
	end, err := parseTimeParam(c.Request, "end", maxTime)
	if err != nil {
		return 0, 0, invalidParam(err, "end")
	}
	return toMillis(start), toMillis(end), nil
}

func (a *API) labelNames(c *gin.Context) {
	a.labelList(c, func(q storage.Querier, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, error) {
		names, _, err := q.LabelNames(c.Request.Context(), h, ms...)
		return names, err
	})
}

func (a *API) labelValues(c *gin.Context) {
	name, err := labelNameParam(c.Param("name"))
	if err != nil {
		a.respondError(c, badData(err))
		return
	}
	a.labelList(c, func(q storage.Querier, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, error) {
		vals, _, err := q.LabelValues(c.Request.Context(), name, h, ms...)
		return vals, err
	})
}

// labelList answers a label name or value list: get runs once per match[]
// set (or once without matchers) over the request's time range, and the
// union is sorted and truncated to limit.
func (a *API) labelList(c *gin.Context, get func(storage.Querier, *storage.LabelHints, ...*labels.Matcher) ([]string, error)) {
	r := c.Request
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		a.respondError(c, invalidParam(err, "limit"))
		return
	}
	mint, maxt, aerr := timeRange(c)
	if aerr != nil {
		a.respondError(c, aerr)
		return
	}
	sets, err := a.parseMatchers(r.Form["match[]"])
	if err != nil {
		a.respondError(c, badData(err))
		return
	}
	q, _ := a.q.Querier(mint, maxt)
	defer q.Close()
	hints := &storage.LabelHints{Limit: hintLimit(limit)}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	var list []string
	for _, ms := range sets {
		got, err := get(q, hints, ms...)
		if err != nil {
			a.respondError(c, execError(err))
			return
		}
		list = append(list, got...)
	}
	if len(sets) > 1 {
		list = sortedUnique(list)
	}
	a.respondList(c, list, limit)
}

// respondList answers a sorted list, truncated to limit with a warning.
func (a *API) respondList(c *gin.Context, list []string, limit int) {
	var warnings annotations.Annotations
	if limit > 0 && len(list) > limit {
		list = list[:limit]
		warnings.Add(errTruncated)
	}
	a.respond(c, warnings, "", func(b []byte, _ flushFunc) []byte { return appendStrings(b, list) })
}

func (a *API) series(c *gin.Context) {
	r := c.Request
	if err := r.ParseForm(); err != nil {
		a.respondError(c, badData(fmt.Errorf("error parsing form values: %w", err)))
		return
	}
	if len(r.Form["match[]"]) == 0 {
		a.respondError(c, badData(errors.New("no match[] parameter provided")))
		return
	}
	limit, err := parseLimit(r.FormValue("limit"))
	if err != nil {
		a.respondError(c, invalidParam(err, "limit"))
		return
	}
	mint, maxt, aerr := timeRange(c)
	if aerr != nil {
		a.respondError(c, aerr)
		return
	}
	sets, err := a.parseMatchers(r.Form["match[]"])
	if err != nil {
		a.respondError(c, invalidParam(err, "match[]"))
		return
	}
	q, _ := a.q.Querier(mint, maxt)
	defer q.Close()
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: hintLimit(limit)}
	var set storage.SeriesSet
	if len(sets) == 1 {
		set = q.Select(r.Context(), false, hints, sets[0]...)
	} else {
		ss := make([]storage.SeriesSet, 0, len(sets))
		for _, ms := range sets {
			ss = append(ss, q.Select(r.Context(), true, hints, ms...))
		}
		set = storage.NewMergeSeriesSet(ss, 0, storage.ChainedSeriesMerge)
	}
	var (
		out      []labels.Labels
		warnings annotations.Annotations
	)
	for set.Next() {
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) > limit {
			out = out[:limit]
			warnings.Add(errTruncated)
			break
		}
	}
	if err := set.Err(); err != nil {
		a.respondError(c, execError(err))
		return
	}
	a.respond(c, warnings, "", func(b []byte, flush flushFunc) []byte {
		b = append(b, '[')
		for i, ls := range out {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLabels(b, ls)
			if len(b) >= flushBytes {
				b = flush(b)
			}
		}
		return append(b, ']')
	})
}

// metadata describes the registered metrics. The store keeps no metric
// types: metrics from the configuration are ClusterCockpit gauges, others
// are "unknown" (a safe answer: Grafana then suggests no function).
func (a *API) metadata(c *gin.Context) {
	r := c.Request
	limit := -1
	if s := r.FormValue("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil {
			a.respondError(c, badData(errors.New("limit must be a number")))
			return
		}
	}
	if s := r.FormValue("limit_per_metric"); s != "" {
		if _, err := strconv.Atoi(s); err != nil {
			a.respondError(c, badData(errors.New("limit_per_metric must be a number")))
			return
		}
	}
	metric := r.FormValue("metric")
	var ms []*core.Metric
	for _, m := range a.opt.Store.Metrics() {
		if metric == "" || m.Name == metric {
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	if limit >= 0 && len(ms) > limit {
		ms = ms[:limit]
	}
	a.respond(c, nil, "", func(b []byte, _ flushFunc) []byte {
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			typ := "unknown"
			if m.Configured {
				typ = "gauge"
			}
			b = appendString(b, m.Name)
			b = append(b, `:[{"type":`...)
			b = appendString(b, typ)
			b = append(b, `,"help":`...)
			b = appendString(b, fmt.Sprintf("cc-metric-store metric: frequency %ds, aggregation %s", m.Frequency, m.Aggregation))
			b = append(b, `,"unit":""}]`...)
		}
		return append(b, '}')
	})
}
