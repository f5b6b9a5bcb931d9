package core

import (
	"errors"
	"math"
	"slices"
)

// Errors of the native read path.
var (
	// ErrNotFound: no series matched (cc-metric-store omits such entries).
	ErrNotFound = errors.New("host or metric not found")
	// ErrInvalidTimeRange: from > to.
	ErrInvalidTimeRange = errors.New("invalid time range")
	// ErrInvalidAggregation: several series matched a metric without aggregation.
	ErrInvalidAggregation = errors.New("invalid aggregation")
	// ErrTooManyPoints: the answer would exceed the caller's point limit.
	ErrTooManyPoints = errors.New("too many points")
)

// SelectorElem is one step of a selector below the root: a single child
// name, or a group of names visited in order (missing ones are skipped; an
// empty group matches nothing).
type SelectorElem struct {
	Name    string
	Group   []string
	IsGroup bool
}

// NativeQuery asks for one metric below one selector, in Unix seconds,
// with the end exclusive.
type NativeQuery struct {
	Selector []SelectorElem
	Metric   string
	From, To int64
	// MaxPoints bounds len(Data); 0 means no bound.
	MaxPoints int
}

// NativeResult is a slot-aligned view: Data[k] is the value of the slot that
// contains From + k·Frequency (NaN when empty), as cc-metric-store answers.
type NativeResult struct {
	Data      []float64
	From, To  int64
	Frequency int64
}

// Reader holds the scratch space of native reads; reuse one per goroutine.
type Reader struct {
	series []*Series
	ts     []int64
	vs     []float64
	tmp    []float64
	ks     []int
	views  []view
}

type view struct {
	s           *Series
	first, last int64
	anchor      int64
}

// ReadNative answers q with cc-metric-store's semantics on exact samples
// (see DESIGN.md, "Native query semantics"): the window starts at q.From,
// raised to the first sample; it ends at q.To or after the newest slot
// written. Several matched series are combined slot by slot with the
// metric's aggregation (a NaN in any of them makes the slot NaN). The result
// data is written into dst[:0].
func (st *Store) ReadNative(rd *Reader, q *NativeQuery, dst []float64) (NativeResult, error) {
	if q.From > q.To {
		return NativeResult{}, ErrInvalidTimeRange
	}
	m := st.reg.lookup([]byte(q.Metric))
	if m == nil {
		return NativeResult{}, ErrUnknownMetric
	}
	rd.series = collect(rd.series[:0], st.root, q.Selector, m)
	rd.views = rd.views[:0]
	earliest := int64(math.MaxInt64)
	for _, s := range rd.series {
		s.mu.RLock()
		first, last, ok := s.bounds()
		anchor := s.anchor
		s.mu.RUnlock()
		if ok {
			rd.views = append(rd.views, view{s: s, first: first, last: last, anchor: anchor})
			earliest = min(earliest, ceilDiv(first, 1000))
		}
	}
	if len(rd.views) == 0 {
		return NativeResult{}, ErrNotFound
	}
	if len(rd.views) > 1 && m.Aggregation == AggNone {
		return NativeResult{}, ErrInvalidAggregation
	}
	f := m.Frequency
	fms := f * 1000
	from := max(q.From, earliest)
	n := int64(0)
	for _, v := range rd.views {
		if from > v.last/1000+f {
			continue // window starts after this series ends
		}
		s0 := floorDiv(from*1000-v.anchor, fms)
		n = max(n, floorDiv(v.last-v.anchor, fms)-s0+1)
	}
	if q.To > from {
		n = min(n, ceilDiv(q.To-from, f))
	} else {
		n = 0
	}
	if q.MaxPoints > 0 && n > int64(q.MaxPoints) {
		return NativeResult{}, ErrTooManyPoints
	}
	res := NativeResult{From: from, To: from + n*f, Frequency: f}
	data := fillNaN(dst, int(n))
	if n > 0 {
		for i, v := range rd.views {
			dense := rd.load(v, from, fms, int(n))
			switch {
			case i == 0 || dense:
				// A series with exactly one sample in every slot cannot
				// poison the sum with NaN, so it is added in place.
				rd.apply(data, i > 0)
			default:
				rd.tmp = fillNaN(rd.tmp, int(n))
				rd.apply(rd.tmp, false)
				for k, x := range rd.tmp {
					data[k] += x
				}
			}
		}
		if m.Aggregation == AggAvg && len(rd.views) > 1 {
			norm := 1 / float64(len(rd.views))
			for k := range data {
				data[k] *= norm
			}
		}
	}
	res.Data = data
	clear(rd.series)
	return res, nil
}

// load reads the samples of v that fall in the n slots starting with the
// one that contains from (seconds), and computes each sample's slot in
// rd.ks. It reports whether every slot got exactly one sample.
func (rd *Reader) load(v view, from, fms int64, n int) (dense bool) {
	s0 := floorDiv(from*1000-v.anchor, fms)
	start := v.anchor + s0*fms
	v.s.mu.RLock()
	rd.ts, rd.vs = v.s.appendRange(rd.ts[:0], rd.vs[:0], start, start+int64(n)*fms)
	v.s.mu.RUnlock()
	rd.ks = slices.Grow(rd.ks[:0], len(rd.ts))[:len(rd.ts)]
	dense = len(rd.ts) == n
	// Samples usually sit one per slot: step the slot bounds instead of
	// dividing for every sample.
	k, lo, hi := int64(-2), int64(math.MinInt64), int64(math.MinInt64)
	for i, t := range rd.ts {
		switch {
		case t >= hi && t < hi+fms:
			k, lo, hi = k+1, hi, hi+fms
		case t >= lo && t < hi:
		default:
			k = (t - start) / fms
			lo = start + k*fms
			hi = lo + fms
		}
		rd.ks[i] = int(k)
		dense = dense && k == int64(i)
	}
	return dense
}

// apply writes (or adds) the loaded samples into their slots of out. When
// several samples share a slot the latest one wins.
func (rd *Reader) apply(out []float64, add bool) {
	if add {
		for i, k := range rd.ks {
			out[k] += rd.vs[i]
		}
		return
	}
	for i, k := range rd.ks {
		out[k] = rd.vs[i]
	}
}

// collect appends the series selected by sel below l, following
// cc-metric-store: once the selector is used up, a level's own series win;
// otherwise every child is searched (in natural order) and on each path the
// first level with a series of m is taken.
func collect(dst []*Series, l *Level, sel []SelectorElem, m *Metric) []*Series {
	if len(sel) == 0 {
		if own := l.seriesFor(dst, m); len(own) > len(dst) {
			return own
		}
		for _, c := range l.Children() {
			dst = collect(dst, c, nil, m)
		}
		return dst
	}
	e := sel[0]
	if !e.IsGroup {
		if c := l.child([]byte(e.Name)); c != nil {
			dst = collect(dst, c, sel[1:], m)
		}
		return dst
	}
	for _, name := range e.Group {
		if c := l.child([]byte(name)); c != nil {
			dst = collect(dst, c, sel[1:], m)
		}
	}
	return dst
}

func fillNaN(dst []float64, n int) []float64 {
	dst = slices.Grow(dst[:0], n)[:n]
	nan := math.NaN()
	for i := range dst {
		dst[i] = nan
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
