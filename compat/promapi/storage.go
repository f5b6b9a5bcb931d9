package promapi

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// checkContextEvery is how many series a set or label walk visits between
// looks at the context (Prometheus' API checks every 128 series as well).
const checkContextEvery = 128

// queryable is the storage.Queryable of the PromQL engine over the store.
// It reads the exact samples of every series (DESIGN.md: PromQL never sees
// the native slot view) and maps tree positions to labels with the shared
// label mapping.
type queryable struct {
	ix *indexer
}

// Querier returns a querier for samples with mint <= t <= maxt (ms).
func (q *queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{ix: q.ix.get(), mint: mint, maxt: maxt}, nil
}

type querier struct {
	ix         *index
	mint, maxt int64
}

func (q *querier) Close() error { return nil }

// window returns the time range a select needs: the hints' when given, as
// Prometheus' TSDB querier does (hints may be narrower than the querier).
func (q *querier) window(h *storage.SelectHints) (mint, maxt int64) {
	if h != nil {
		return h.Start, h.End
	}
	return q.mint, q.maxt
}

// Select returns the series matching ms. The index is sorted by labels, so
// the result is sorted whether or not sortSeries asks for it. Series with
// no samples in the window are dropped when the caller wants series only
// (hints.Func == "series": /api/v1/series); the engine itself is served
// lazily and skips empty series on its own.
func (q *querier) Select(ctx context.Context, _ bool, h *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.window(h)
	set := &seriesSet{ctx: ctx, q: q, ms: ms, mint: mint, maxt: maxt, cur: -1}
	set.pos, set.all = q.ix.candidates(ms)
	if h != nil {
		set.limit = h.Limit
		set.check = h.Func == "series"
	}
	return set
}

// presence answers whether series have samples in a time range; it holds
// the scratch buffers of the check, one per walk (queriers may be used from
// several goroutines).
type presence struct {
	ts []int64
	vs []float64
}

// has reports whether one of ss has a sample in [mint, maxt].
func (p *presence) has(ss []*core.Series, mint, maxt int64) bool {
	if mint <= minTimeMillis && maxt >= maxTimeMillis {
		return true // every stored series holds at least one sample
	}
	for _, s := range ss {
		p.ts, p.vs = s.AppendRange(p.ts[:0], p.vs[:0], mint, endExclusive(maxt))
		if len(p.ts) > 0 {
			return true
		}
	}
	return false
}

var (
	minTimeMillis = toMillis(minTime)
	maxTimeMillis = toMillis(maxTime)
)

func endExclusive(maxt int64) int64 {
	if maxt == math.MaxInt64 {
		return maxt
	}
	return maxt + 1
}

// each calls f for every entry that matches ms and has samples in the
// querier's range, until f returns false.
func (q *querier) each(ctx context.Context, ms []*labels.Matcher, f func(e *entry) bool) error {
	var p presence
	pos, all := q.ix.candidates(ms)
	n := len(pos)
	if all {
		n = len(q.ix.entries)
	}
	for i := 0; i < n; i++ {
		if i%checkContextEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		j := i
		if !all {
			j = int(pos[i])
		}
		e := &q.ix.entries[j]
		if !matches(e.lset, ms) || !p.has(e.series, q.mint, q.maxt) {
			continue
		}
		if !f(e) {
			break
		}
	}
	return nil
}

// LabelValues returns the sorted values of name among the matching series.
func (q *querier) LabelValues(ctx context.Context, name string, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	var vals []string
	err := q.each(ctx, ms, func(e *entry) bool {
		if v := e.lset.Get(name); v != "" {
			if _, ok := seen[v]; !ok {
				seen[v] = struct{}{}
				vals = append(vals, v)
			}
		}
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(vals)
	if h != nil && h.Limit > 0 && len(vals) > h.Limit {
		vals = vals[:h.Limit]
	}
	return vals, nil, nil
}

// LabelNames returns the sorted label names of the matching series.
func (q *querier) LabelNames(ctx context.Context, h *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]struct{}{}
	var names []string
	err := q.each(ctx, ms, func(e *entry) bool {
		e.lset.Range(func(l labels.Label) {
			if _, ok := seen[l.Name]; !ok {
				seen[l.Name] = struct{}{}
				names = append(names, l.Name)
			}
		})
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(names)
	if h != nil && h.Limit > 0 && len(names) > h.Limit {
		names = names[:h.Limit]
	}
	return names, nil, nil
}

// seriesSet walks the candidate entries of one Select.
type seriesSet struct {
	ctx        context.Context
	q          *querier
	ms         []*labels.Matcher
	pos        []int32
	all        bool
	mint, maxt int64
	limit      int
	check      bool
	p          presence
	cur        int // position in pos (or entries when all)
	n          int // series returned
	at         *series
	err        error
}

func (s *seriesSet) Next() bool {
	if s.err != nil || (s.limit > 0 && s.n >= s.limit) {
		return false
	}
	entries := s.q.ix.entries
	end := len(s.pos)
	if s.all {
		end = len(entries)
	}
	for s.cur+1 < end {
		s.cur++
		if s.cur%checkContextEvery == 0 {
			if err := s.ctx.Err(); err != nil {
				s.err = err
				return false
			}
		}
		j := s.cur
		if !s.all {
			j = int(s.pos[s.cur])
		}
		e := &entries[j]
		if !matches(e.lset, s.ms) {
			continue
		}
		if s.check && !s.p.has(e.series, s.mint, s.maxt) {
			continue
		}
		s.at = &series{e: e, mint: s.mint, maxt: s.maxt}
		s.n++
		return true
	}
	return false
}

func (s *seriesSet) At() storage.Series                { return s.at }
func (s *seriesSet) Err() error                        { return s.err }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// series is one selected series; its samples are read when iterated.
type series struct {
	e          *entry
	mint, maxt int64
}

func (s *series) Labels() labels.Labels { return s.e.lset }

func (s *series) Iterator(reuse chunkenc.Iterator) chunkenc.Iterator {
	it, ok := reuse.(*sampleIterator)
	if !ok {
		it = new(sampleIterator)
	}
	it.reset(s)
	return it
}

// sampleIterator iterates the exact samples of a series, read in one go
// into reused buffers on first use.
type sampleIterator struct {
	s      *series
	loaded bool
	ts     []int64
	vs     []float64
	i      int
	// merge scratch for entries with more than one stored series
	ts2 []int64
	vs2 []float64
}

func (it *sampleIterator) reset(s *series) {
	it.s, it.loaded, it.i = s, false, -1
	it.ts, it.vs = it.ts[:0], it.vs[:0]
}

func (it *sampleIterator) load() {
	it.loaded = true
	s := it.s
	ss := s.e.series
	end := endExclusive(s.maxt)
	it.ts, it.vs = ss[0].AppendRange(it.ts[:0], it.vs[:0], s.mint, end)
	for _, other := range ss[1:] {
		it.ts2, it.vs2 = other.AppendRange(it.ts2[:0], it.vs2[:0], s.mint, end)
		it.merge()
	}
}

// merge merges ts2/vs2 into ts/vs; on equal timestamps the sample already
// held wins.
func (it *sampleIterator) merge() {
	if len(it.ts2) == 0 {
		return
	}
	n := len(it.ts) + len(it.ts2)
	ts := make([]int64, 0, n)
	vs := make([]float64, 0, n)
	i, j := 0, 0
	for i < len(it.ts) || j < len(it.ts2) {
		switch {
		case j == len(it.ts2) || (i < len(it.ts) && it.ts[i] < it.ts2[j]):
			ts, vs = append(ts, it.ts[i]), append(vs, it.vs[i])
			i++
		case i == len(it.ts) || it.ts2[j] < it.ts[i]:
			ts, vs = append(ts, it.ts2[j]), append(vs, it.vs2[j])
			j++
		default:
			ts, vs = append(ts, it.ts[i]), append(vs, it.vs[i])
			i++
			j++
		}
	}
	it.ts, it.vs = ts, vs
}

func (it *sampleIterator) Next() chunkenc.ValueType {
	if !it.loaded {
		it.load()
	}
	if it.i+1 >= len(it.ts) {
		it.i = len(it.ts)
		return chunkenc.ValNone
	}
	it.i++
	return chunkenc.ValFloat
}

// millis is int64. Spelling Seek's parameter with the alias keeps go vet's
// stdmethods check, which takes every Seek(int64, …) for an io.Seeker, off
// chunkenc.Iterator's Seek.
type millis = int64

func (it *sampleIterator) Seek(t millis) chunkenc.ValueType {
	if !it.loaded {
		it.load()
	}
	if it.i >= len(it.ts) {
		return chunkenc.ValNone
	}
	if it.i >= 0 && it.ts[it.i] >= t {
		return chunkenc.ValFloat
	}
	from := max(it.i, 0)
	it.i = from + sort.Search(len(it.ts)-from, func(k int) bool { return it.ts[from+k] >= t })
	if it.i >= len(it.ts) {
		return chunkenc.ValNone
	}
	return chunkenc.ValFloat
}

func (it *sampleIterator) At() (int64, float64) { return it.ts[it.i], it.vs[it.i] }

func (it *sampleIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.ts[it.i], nil
}

func (it *sampleIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.ts[it.i], nil
}

func (it *sampleIterator) AtT() int64  { return it.ts[it.i] }
func (it *sampleIterator) AtST() int64 { return 0 }
func (it *sampleIterator) Err() error  { return nil }
