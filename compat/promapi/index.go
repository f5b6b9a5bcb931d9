package promapi

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

// indexMaxAge bounds how long a label index is trusted when the store's
// series count has not changed: a retention run that frees as many series
// as were created meanwhile leaves the count equal, so the index is rebuilt
// at least this often while queries come in. Rebuilding reuses the labels of
// known series, so it costs one tree walk.
const indexMaxAge = 10 * time.Second

// seriesLabels maps a stored series to its Prometheus labels.
var seriesLabels = promlabels.FromSeries

// entry is one Prometheus series: its labels and the stored series behind
// it (more than one only if two tree positions map to the same label set,
// which the mapping is meant to prevent; their samples are then merged).
type entry struct {
	lset   labels.Labels
	series []*core.Series
}

// index is an immutable snapshot of every series with its labels, sorted by
// labels, with postings by metric name.
type index struct {
	built     time.Time
	numSeries int64
	entries   []entry
	byName    map[string][]int32
	known     map[*core.Series]labels.Labels
}

// indexer keeps the current index of a store.
type indexer struct {
	st  *core.Store
	cur atomic.Pointer[index]
	mu  sync.Mutex // serialises rebuilds
	now func() time.Time
}

func newIndexer(st *core.Store) *indexer {
	return &indexer{st: st, now: time.Now}
}

// get returns an index that reflects the store as of now (see indexMaxAge).
func (x *indexer) get() *index {
	if ix := x.cur.Load(); ix != nil && x.fresh(ix) {
		return ix
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	ix := x.cur.Load()
	if ix != nil && x.fresh(ix) {
		return ix
	}
	ix = x.build(ix)
	x.cur.Store(ix)
	return ix
}

func (x *indexer) fresh(ix *index) bool {
	return ix.numSeries == x.st.NumSeries() && x.now().Sub(ix.built) < indexMaxAge
}

// build walks the tree. The series count is read first: a series created
// during the walk makes the next get rebuild again. With a previous index,
// known series keep their labels and their place in the sorted order; only
// new series are mapped and sorted, then merged in (a rebuild of 100,000
// series costs a tree walk, not a sort).
func (x *indexer) build(prev *index) *index {
	ix := &index{built: x.now(), numSeries: x.st.NumSeries()}
	n := int(ix.numSeries)
	ix.known = make(map[*core.Series]labels.Labels, n)
	var fresh []entry
	var sb labels.ScratchBuilder
	var walk func(l *core.Level)
	walk = func(l *core.Level) {
		for _, s := range l.Series() {
			if prev != nil {
				if ls, ok := prev.known[s]; ok {
					ix.known[s] = ls
					continue
				}
			}
			ls := seriesLabels(s, &sb)
			ix.known[s] = ls
			fresh = append(fresh, entry{lset: ls, series: []*core.Series{s}})
		}
		for _, c := range l.Children() {
			walk(c)
		}
	}
	walk(x.st.Root())
	slices.SortFunc(fresh, func(a, b entry) int { return labels.Compare(a.lset, b.lset) })

	// Merge the surviving entries of prev with the fresh ones; equal label
	// sets become one entry.
	ix.entries = make([]entry, 0, len(ix.known))
	add := func(e entry) {
		if k := len(ix.entries); k > 0 && labels.Equal(ix.entries[k-1].lset, e.lset) {
			ix.entries[k-1].series = append(slices.Clip(ix.entries[k-1].series), e.series...)
			return
		}
		ix.entries = append(ix.entries, e)
	}
	var old []entry
	if prev != nil {
		old = prev.entries
	}
	i, j := 0, 0
	for i < len(old) || j < len(fresh) {
		if i < len(old) {
			e := old[i]
			if !x.alive(ix, e.series) {
				e.series = slices.DeleteFunc(slices.Clone(e.series), func(s *core.Series) bool { _, ok := ix.known[s]; return !ok })
				if len(e.series) == 0 {
					i++
					continue
				}
			}
			if j == len(fresh) || labels.Compare(e.lset, fresh[j].lset) <= 0 {
				add(e)
				i++
				continue
			}
		}
		add(fresh[j])
		j++
	}
	ix.byName = make(map[string][]int32)
	for i, e := range ix.entries {
		name := e.lset.Get(labels.MetricName)
		ix.byName[name] = append(ix.byName[name], int32(i))
	}
	return ix
}

// alive reports whether every series of an entry is still in the tree.
func (x *indexer) alive(ix *index, ss []*core.Series) bool {
	for _, s := range ss {
		if _, ok := ix.known[s]; !ok {
			return false
		}
	}
	return true
}

// candidates returns the positions (ascending) of the entries that can
// match ms, using the metric-name postings when a matcher allows; nil with
// all=true means every entry.
func (ix *index) candidates(ms []*labels.Matcher) (pos []int32, all bool) {
	for _, m := range ms {
		if m.Name != labels.MetricName {
			continue
		}
		switch m.Type {
		case labels.MatchEqual:
			return ix.byName[m.Value], false
		case labels.MatchRegexp:
			set := m.SetMatches()
			if len(set) == 0 {
				continue
			}
			for _, v := range set {
				pos = append(pos, ix.byName[v]...)
			}
			slices.Sort(pos)
			return slices.Compact(pos), false
		}
	}
	return nil, true
}

// matches reports whether ls satisfies every matcher.
func matches(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// sortedUnique sorts ss and drops duplicates.
func sortedUnique(ss []string) []string {
	sort.Strings(ss)
	return slices.Compact(ss)
}
