package core

import (
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/chunk"
)

const (
	// headCap is the number of samples kept uncompressed before the head is
	// sealed. Small, because the head costs 16 B per sample while sealed
	// chunks cost 1–8 B.
	headCap = 64
	// maxChunkSamples bounds merged chunks: long enough to amortise the chunk
	// header, short enough that a late write re-encodes little.
	maxChunkSamples = 512
)

// sealed is one compressed, immutable run of samples.
type sealed struct {
	mint, maxt int64
	data       []byte
}

// len returns the number of samples in c.
func (c sealed) len() int {
	n, err := chunk.Len(c.data)
	if err != nil {
		panic("core: corrupt sealed chunk: " + err.Error())
	}
	return n
}

// Series holds the samples of one metric at one level, with exact
// timestamps (ms) and float64 values: sealed chunks in time order followed
// by the head, all non-overlapping and strictly increasing in time.
type Series struct {
	// id is unique within the process (WAL records refer to it); key is the
	// canonical identity (see appendCanonical); labels is its extra-label part.
	id     uint64
	walSeg atomic.Uint64 // WAL segment that last defined this series, +1
	key    string
	labels string
	metric *Metric
	level  *Level

	mu sync.RWMutex
	// anchor is the start of the native slot grid (ms), fixed by the first
	// sample ever written: first − ⌊f/2⌋ s, as cc-metric-store places it.
	anchor   int64
	anchored bool
	deleted  bool
	chunks   []sealed
	// hd is the uncompressed head, noHead when empty (buffers are pooled).
	hd *head
}

// Metric returns the series' metric.
func (s *Series) Metric() *Metric { return s.metric }

// Labels returns the canonical extra labels (see Key.Labels).
func (s *Series) Labels() string { return s.labels }

// Level returns the level that owns the series.
func (s *Series) Level() *Level { return s.level }

// append stores one sample. A sample with the timestamp of an existing one
// replaces it (the newest write wins, as in cc-metric-store); older samples
// are inserted in place, sealed chunks included. Caller holds s.mu.
func (s *Series) append(t int64, v float64) {
	if !s.anchored {
		s.anchor = t - (s.metric.Frequency/2)*1000
		s.anchored = true
	}
	n := len(s.hd.t)
	lastSealed := int64(math.MinInt64)
	if k := len(s.chunks); k > 0 {
		lastSealed = s.chunks[k-1].maxt
	}
	switch {
	case n > 0 && t > s.hd.t[n-1]:
		// in order: the common case
	case t <= lastSealed:
		s.insertSealed(t, v)
		return
	case n > 0:
		i := sort.Search(n, func(i int) bool { return s.hd.t[i] >= t })
		if s.hd.t[i] == t {
			s.hd.v[i] = v
			return
		}
		s.hd.t = append(s.hd.t, 0)
		s.hd.v = append(s.hd.v, 0)
		copy(s.hd.t[i+1:], s.hd.t[i:])
		copy(s.hd.v[i+1:], s.hd.v[i:])
		s.hd.t[i], s.hd.v[i] = t, v
		s.maybeSeal()
		return
	}
	if s.hd == noHead {
		s.hd = headPool.Get().(*head)
	}
	s.hd.t = append(s.hd.t, t)
	s.hd.v = append(s.hd.v, v)
	s.maybeSeal()
}

// head is a pair of head buffers. A sealed head hands its buffers back,
// so only series with unsealed samples hold one (16 B × headCap).
type head struct {
	t []int64
	v []float64
}

var headPool = sync.Pool{New: func() any {
	return &head{t: make([]int64, 0, headCap), v: make([]float64, 0, headCap)}
}}

// noHead stands for an empty head; it is never appended to.
var noHead = &head{}

// releaseHead returns the head buffers to the pool. Caller holds s.mu.
func (s *Series) releaseHead() {
	if h := s.hd; h != noHead && cap(h.t) == headCap && cap(h.v) == headCap {
		h.t, h.v = h.t[:0], h.v[:0]
		headPool.Put(h)
	}
	s.hd = noHead
}

func (s *Series) maybeSeal() {
	if len(s.hd.t) < headCap {
		return
	}
	sc := getScratch()
	defer putScratch(sc)
	if len(s.chunks) == cap(s.chunks) {
		// Grow by a quarter, not double: a series holds this slice for
		// its whole life.
		s.chunks = slices.Grow(s.chunks, len(s.chunks)/4+2)
	}
	s.chunks = append(s.chunks, encodeSealed(sc, s.hd.t, s.hd.v))
	s.releaseHead()
	// Once the small chunks at the end add up to a full chunk, merge them in
	// one step: each sample is re-encoded once, and the only sizes allocated
	// are small and full chunks, which keeps heap fragmentation low.
	first, total := len(s.chunks), 0
	for first > 0 && s.chunks[first-1].len() < maxChunkSamples {
		first--
		total += s.chunks[first].len()
	}
	if total < maxChunkSamples || len(s.chunks)-first < 2 {
		return
	}
	sc.reset()
	for _, c := range s.chunks[first:] {
		sc.ts, sc.vs = decodeInto(sc.ts, sc.vs, c)
	}
	clear(s.chunks[first+1:])
	s.chunks = append(s.chunks[:first], encodeSealed(sc, sc.ts, sc.vs))
}

// insertSealed writes a late sample into the sealed region: the chunk that
// covers t (or the first one after it) is decoded, changed and re-encoded.
func (s *Series) insertSealed(t int64, v float64) {
	i := sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].maxt >= t })
	sc := getScratch()
	defer putScratch(sc)
	sc.ts, sc.vs = decodeInto(sc.ts, sc.vs, s.chunks[i])
	j := sort.Search(len(sc.ts), func(j int) bool { return sc.ts[j] >= t })
	if j < len(sc.ts) && sc.ts[j] == t {
		sc.vs[j] = v
	} else {
		sc.ts = append(sc.ts, 0)
		sc.vs = append(sc.vs, 0)
		copy(sc.ts[j+1:], sc.ts[j:])
		copy(sc.vs[j+1:], sc.vs[j:])
		sc.ts[j], sc.vs[j] = t, v
	}
	if len(sc.ts) <= 2*maxChunkSamples {
		s.chunks[i] = encodeSealed(sc, sc.ts, sc.vs)
		return
	}
	half := len(sc.ts) / 2
	a := encodeSealed(sc, sc.ts[:half], sc.vs[:half])
	b := encodeSealed(sc, sc.ts[half:], sc.vs[half:])
	s.chunks = append(s.chunks, sealed{})
	copy(s.chunks[i+2:], s.chunks[i+1:])
	s.chunks[i], s.chunks[i+1] = a, b
}

// bounds returns the first and last timestamps; ok is false when empty.
// Caller holds s.mu.
func (s *Series) bounds() (first, last int64, ok bool) {
	switch {
	case len(s.chunks) > 0:
		first = s.chunks[0].mint
	case len(s.hd.t) > 0:
		first = s.hd.t[0]
	default:
		return 0, 0, false
	}
	if n := len(s.hd.t); n > 0 {
		last = s.hd.t[n-1]
	} else {
		last = s.chunks[len(s.chunks)-1].maxt
	}
	return first, last, true
}

// appendRange appends the samples with mint <= t < maxt to ts and vs.
// Caller holds s.mu (read).
func (s *Series) appendRange(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64) {
	if mint >= maxt {
		return ts, vs
	}
	i := sort.Search(len(s.chunks), func(i int) bool { return s.chunks[i].maxt >= mint })
	for ; i < len(s.chunks) && s.chunks[i].mint < maxt; i++ {
		c := s.chunks[i]
		start := len(ts)
		ts, vs = decodeInto(ts, vs, c)
		if c.mint < mint || c.maxt >= maxt {
			ts, vs = trim(ts, vs, start, mint, maxt)
		}
	}
	lo := sort.Search(len(s.hd.t), func(i int) bool { return s.hd.t[i] >= mint })
	hi := sort.Search(len(s.hd.t), func(i int) bool { return s.hd.t[i] >= maxt })
	ts = append(ts, s.hd.t[lo:hi]...)
	vs = append(vs, s.hd.v[lo:hi]...)
	return ts, vs
}

// trim drops the samples of ts[start:] outside [mint, maxt).
func trim(ts []int64, vs []float64, start int, mint, maxt int64) ([]int64, []float64) {
	part := ts[start:]
	lo := sort.Search(len(part), func(i int) bool { return part[i] >= mint })
	hi := sort.Search(len(part), func(i int) bool { return part[i] >= maxt })
	n := copy(ts[start:], part[lo:hi])
	copy(vs[start:], vs[start+lo:start+hi])
	return ts[:start+n], vs[:start+n]
}

// dropBefore frees every sealed chunk that ends before t and the head too
// when all of it is older; it returns the number of chunks freed. Like
// cc-metric-store it frees whole chunks only. Caller holds s.mu.
func (s *Series) dropBefore(t int64) int {
	i := 0
	for i < len(s.chunks) && s.chunks[i].maxt < t {
		i++
	}
	freed := i
	if i > 0 {
		s.chunks = append(s.chunks[:0:0], s.chunks[i:]...)
	}
	if len(s.chunks) == 0 && len(s.hd.t) > 0 && s.hd.t[len(s.hd.t)-1] < t {
		s.releaseHead()
		freed++
	}
	return freed
}

// empty reports whether the series holds no samples. Caller holds s.mu.
func (s *Series) empty() bool { return len(s.chunks) == 0 && len(s.hd.t) == 0 }

// numSamples counts the samples held. Caller holds s.mu.
func (s *Series) numSamples() int {
	n := len(s.hd.t)
	for _, c := range s.chunks {
		n += c.len()
	}
	return n
}

func encodeSealed(sc *scratch, ts []int64, vs []float64) sealed {
	sc.enc = chunk.Encode(sc.enc[:0], ts, vs)
	return sealed{mint: ts[0], maxt: ts[len(ts)-1], data: append([]byte(nil), sc.enc...)}
}

func decodeInto(ts []int64, vs []float64, c sealed) ([]int64, []float64) {
	ts, vs, err := chunk.Decode(c.data, ts, vs)
	if err != nil {
		// Sealed chunks are produced in process and never change; a decode
		// failure is memory corruption, not bad input.
		panic("core: corrupt sealed chunk: " + err.Error())
	}
	return ts, vs
}

// scratch holds reusable buffers for encoding and decoding chunks.
type scratch struct {
	ts  []int64
	vs  []float64
	enc []byte
}

func (sc *scratch) reset() { sc.ts, sc.vs = sc.ts[:0], sc.vs[:0] }

var scratchPool = sync.Pool{New: func() any {
	return &scratch{ts: make([]int64, 0, 2*maxChunkSamples+1), vs: make([]float64, 0, 2*maxChunkSamples+1)}
}}

func getScratch() *scratch   { sc := scratchPool.Get().(*scratch); sc.reset(); return sc }
func putScratch(sc *scratch) { scratchPool.Put(sc) }

// AppendRange appends the samples with mint <= t < maxt (ms) to ts and vs.
func (s *Series) AppendRange(ts []int64, vs []float64, mint, maxt int64) ([]int64, []float64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.appendRange(ts, vs, mint, maxt)
}
