package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/resample"
)

// queryRequest is cc-metric-store's APIQueryRequest.
type queryRequest struct {
	Cluster     string     `json:"cluster"`
	Queries     []apiQuery `json:"queries"`
	ForAllNodes []string   `json:"for-all-nodes"`
	From        int64      `json:"from"`
	To          int64      `json:"to"`
	WithStats   bool       `json:"with-stats"`
	WithData    bool       `json:"with-data"`
	WithPadding bool       `json:"with-padding"`
}

// apiQuery is one query; the field order is the echo order of the reference.
type apiQuery struct {
	Type       *string  `json:"type,omitempty"`
	SubType    *string  `json:"subtype,omitempty"`
	Metric     string   `json:"metric"`
	Host       string   `json:"host"`
	Resolution int64    `json:"resolution"`
	TypeIds    []string `json:"type-ids,omitempty"`
	SubTypeIds []string `json:"subtype-ids,omitempty"`
	ScaleBy    scale    `json:"scale-by,omitempty"`
	Aggregate  bool     `json:"aggreg"`
}

// scale decodes JSON null as NaN, as cc-metric-store's float type does.
type scale float64

func (s *scale) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = scale(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(s))
}

// task is one result entry to compute: query q, selector sel.
type task struct {
	q   *apiQuery
	sel []core.SelectorElem
}

// row is the encoded result row of one query, inside a worker's buffer.
type row struct {
	worker     int
	start, end int
	points     int
}

func (a *API) query(c *gin.Context) {
	body, err := a.readBody(c)
	defer a.releaseBody(body)
	if err != nil {
		a.bodyError(c, err)
		return
	}
	req := queryRequest{WithStats: true, WithData: true, WithPadding: true}
	if err := json.NewDecoder(bytes.NewReader(body.Bytes())).Decode(&req); err != nil {
		jsonError(c, http.StatusBadRequest, err.Error())
		return
	}
	var generated []apiQuery
	if req.ForAllNodes != nil {
		for _, host := range hostsOf(a.opt.Store, req.Cluster) {
			for _, m := range req.ForAllNodes {
				generated = append(generated, apiQuery{Metric: m, Host: host})
			}
		}
		req.Queries = append(req.Queries, generated...)
	}
	out, err := a.execute(&req)
	if err != nil {
		jsonError(c, http.StatusBadRequest, err.Error())
		return
	}
	defer out.release()
	a.opt.Metrics.Queries.Inc()
	a.opt.Metrics.QueryEntries.Add(float64(len(out.rows)))
	w := c.Writer
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	head := []byte(`{`)
	if len(generated) > 0 {
		qs, _ := json.Marshal(generated)
		head = append(append(append(head, `"queries":`...), qs...), ',')
	}
	head = append(head, `"results":[`...)
	w.Write(head)
	for i, r := range out.rows {
		if i > 0 {
			w.Write(comma)
		}
		w.Write(out.bufs[r.worker][r.start:r.end])
	}
	w.Write([]byte("]}\n"))
}

var comma = []byte{','}

// hostsOf lists the hosts of a cluster in natural order.
func hostsOf(st *core.Store, cluster string) []string {
	for _, c := range st.Root().Children() {
		if c.Name() == cluster {
			var hosts []string
			for _, h := range c.Children() {
				hosts = append(hosts, h.Name())
			}
			return hosts
		}
	}
	return nil
}

// expand turns a query into its selectors (reference section 1.2.3).
func expand(cluster string, q *apiQuery, dst []task) []task {
	base := []core.SelectorElem{{Name: cluster}, {Name: q.Host}}
	elem := func(prefix string, ids []string) core.SelectorElem {
		if len(ids) == 1 {
			return core.SelectorElem{Name: prefix + ids[0]}
		}
		g := make([]string, len(ids))
		for i, id := range ids {
			g[i] = prefix + id
		}
		return core.SelectorElem{Group: g, IsGroup: true}
	}
	if q.Aggregate || q.Type == nil {
		sel := base
		if q.Type != nil {
			sel = append(sel, elem(*q.Type, q.TypeIds))
			if q.SubType != nil {
				sel = append(sel, elem(*q.SubType, q.SubTypeIds))
			}
		}
		return append(dst, task{q: q, sel: sel})
	}
	for _, id := range q.TypeIds {
		sel := append(base[:2:2], core.SelectorElem{Name: *q.Type + id})
		if q.SubType == nil {
			dst = append(dst, task{q: q, sel: sel})
			continue
		}
		for _, sid := range q.SubTypeIds {
			dst = append(dst, task{q: q, sel: append(sel[:3:3], core.SelectorElem{Name: *q.SubType + sid})})
		}
	}
	return dst
}

// result holds the encoded rows of one answer.
type result struct {
	rows []row
	bufs [][]byte
}

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func (r *result) release() {
	for _, b := range r.bufs {
		if cap(b) <= 64<<20 {
			b := b[:0]
			bufPool.Put(&b)
		}
	}
}

// execute computes every row, spreading queries over the cores; each worker
// encodes into its own buffer so that no row is copied twice.
func (a *API) execute(req *queryRequest) (*result, error) {
	workers := min(runtime.GOMAXPROCS(0), len(req.Queries), 8)
	res := &result{rows: make([]row, len(req.Queries)), bufs: make([][]byte, max(workers, 1))}
	var next, points atomic.Int64
	var tooMany atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := *bufPool.Get().(*[]byte)
			ex := executor{api: a, req: req}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(req.Queries) || tooMany.Load() {
					break
				}
				start := len(buf)
				var n int
				buf, n = ex.row(buf, &req.Queries[i])
				res.rows[i] = row{worker: w, start: start, end: len(buf), points: n}
				if points.Add(int64(n)) > int64(a.opt.MaxPointsPerRequest) {
					tooMany.Store(true)
				}
			}
			res.bufs[w] = buf
		}()
	}
	wg.Wait()
	if tooMany.Load() {
		res.release()
		return nil, errors.New("query answer would exceed " + itoa(int64(a.opt.MaxPointsPerRequest)) + " points (bridge.max-points-per-request): ask for fewer series or a shorter window")
	}
	return res, nil
}

// executor computes rows for one worker with reusable scratch space.
type executor struct {
	api   *API
	req   *queryRequest
	rd    core.Reader
	tasks []task
	data  []float64
	lttb  []float64
}

// row appends the encoded row of q ("[entry,...]") and the number of
// points it holds.
func (ex *executor) row(dst []byte, q *apiQuery) ([]byte, int) {
	ex.tasks = expand(ex.req.Cluster, q, ex.tasks[:0])
	dst = append(dst, '[')
	first := true
	points := 0
	for i := range ex.tasks {
		e, ok := ex.entry(&ex.tasks[i])
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = e.appendJSON(dst, ex.req.WithData)
		points += e.pad + len(e.data)
	}
	return append(dst, ']'), points
}

// entry runs the per-selector pipeline of reference section 1.2.4; ok is
// false when the entry is omitted (nothing matched).
func (ex *executor) entry(t *task) (e entry, ok bool) {
	q, req := t.q, ex.req
	maxPoints := ex.api.opt.MaxPointsPerSeries
	res, err := ex.api.opt.Store.ReadNative(&ex.rd, &core.NativeQuery{
		Selector: t.sel, Metric: q.Metric, From: req.From, To: req.To, MaxPoints: maxPoints,
	}, ex.data)
	if res.Data != nil {
		ex.data = res.Data[:0] // keep the grown buffer for the next entry
	}
	if errors.Is(err, core.ErrNotFound) {
		return e, false
	}
	if err != nil {
		return entry{err: readError(err, q.Metric, maxPoints)}, true
	}
	data, freq := res.Data, res.Frequency
	if q.Resolution > 0 {
		out, f, err := resample.LTTB(ex.lttb, data, res.Frequency, q.Resolution)
		if err != nil {
			return entry{err: err.Error()}, true
		}
		if f != res.Frequency { // resampled into ex.lttb; otherwise out is data
			ex.lttb, data, freq = out, out, f
		}
	}
	e = entry{data: data, from: res.From, to: res.To, resolution: freq}
	if req.WithStats {
		e.avg, e.min, e.max = stats(data)
	}
	if s := float64(q.ScaleBy); s != 0 && s != 1 {
		for i := range data {
			data[i] *= s
		}
		e.avg, e.min, e.max = e.avg*s, e.min*s, e.max*s
	}
	if req.WithPadding {
		// Native-frequency steps between the requested and the actual
		// start, counted on absolute time as the reference does.
		f := res.Frequency
		if req.From/f < res.From/f-int64(maxPoints-len(data)) {
			return entry{err: readError(core.ErrTooManyPoints, q.Metric, maxPoints)}, true
		}
		e.pad = int(res.From/f - req.From/f)
	}
	return e, true
}

// readError is the per-entry message for a read failure.
func readError(err error, metric string, maxPoints int) string {
	switch {
	case errors.Is(err, core.ErrUnknownMetric):
		return "[METRICSTORE]> unknown metric: " + metric
	case errors.Is(err, core.ErrInvalidTimeRange):
		return "[METRICSTORE]> invalid time range"
	case errors.Is(err, core.ErrInvalidAggregation):
		return "[METRICSTORE]> invalid aggregation"
	case errors.Is(err, core.ErrTooManyPoints):
		return "query window too large: more than " + itoa(int64(maxPoints)) + " points for one series (bridge.max-points-per-series)"
	}
	return err.Error()
}

// stats returns average, minimum and maximum of the non-NaN values, or NaN
// for all three when there are none.
func stats(data []float64) (avg, lo, hi float64) {
	n := 0
	sum := 0.0
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range data {
		if math.IsNaN(v) {
			continue
		}
		n++
		sum += v
		lo = min(lo, v)
		hi = max(hi, v)
	}
	if n == 0 {
		nan := math.NaN()
		return nan, nan, nan
	}
	return sum / float64(n), lo, hi
}
