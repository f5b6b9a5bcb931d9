package core

import (
	"math"
	"sort"
	"sync"

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
	n          int
	data       []byte
}

// Series holds the samples of one metric at one level, with exact
// timestamps (ms) and float64 values: sealed chunks in time order followed
// by the head, all non-overlapping and strictly increasing in time.
type Series struct {
	// key is the canonical identity (see appendCanonical); labels is its
	// extra-label part.
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
	headT    []int64
	headV    []float64
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
	n := len(s.headT)
	lastSealed := int64(math.MinInt64)
	if k := len(s.chunks); k > 0 {
		lastSealed = s.chunks[k-1].maxt
	}
	switch {
	case n > 0 && t > s.headT[n-1]:
		// in order: the common case
	case t <= lastSealed:
		s.insertSealed(t, v)
		return
	case n > 0:
		i := sort.Search(n, func(i int) bool { return s.headT[i] >= t })
		if s.headT[i] == t {
			s.headV[i] = v
			return
		}
		s.headT = append(s.headT, 0)
		s.headV = append(s.headV, 0)
		copy(s.headT[i+1:], s.headT[i:])
		copy(s.headV[i+1:], s.headV[i:])
		s.headT[i], s.headV[i] = t, v
		s.maybeSeal()
		return
	}
	s.headT = append(s.headT, t)
	s.headV = append(s.headV, v)
	s.maybeSeal()
}

func (s *Series) maybeSeal() {
	if len(s.headT) < headCap {
		return
	}
	sc := getScratch()
	defer putScratch(sc)
	s.chunks = append(s.chunks, encodeSealed(sc, s.headT, s.headV))
	s.headT, s.headV = s.headT[:0], s.headV[:0]
	// Merge like a binary counter: equal-sized neighbours combine until
	// maxChunkSamples, so each sample is re-encoded only a few times.
	for k := len(s.chunks); k >= 2; k = len(s.chunks) {
		a, b := s.chunks[k-2], s.chunks[k-1]
		if a.n > b.n || a.n+b.n > maxChunkSamples {
			break
		}
		sc.reset()
		sc.ts, sc.vs = decodeInto(sc.ts, sc.vs, a)
		sc.ts, sc.vs = decodeInto(sc.ts, sc.vs, b)
		s.chunks = append(s.chunks[:k-2], encodeSealed(sc, sc.ts, sc.vs))
	}
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
	case len(s.headT) > 0:
		first = s.headT[0]
	default:
		return 0, 0, false
	}
	if n := len(s.headT); n > 0 {
		last = s.headT[n-1]
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
	lo := sort.Search(len(s.headT), func(i int) bool { return s.headT[i] >= mint })
	hi := sort.Search(len(s.headT), func(i int) bool { return s.headT[i] >= maxt })
	ts = append(ts, s.headT[lo:hi]...)
	vs = append(vs, s.headV[lo:hi]...)
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
	if len(s.chunks) == 0 && len(s.headT) > 0 && s.headT[len(s.headT)-1] < t {
		s.headT, s.headV = nil, nil
		freed++
	}
	return freed
}

// empty reports whether the series holds no samples. Caller holds s.mu.
func (s *Series) empty() bool { return len(s.chunks) == 0 && len(s.headT) == 0 }

// numSamples counts the samples held. Caller holds s.mu.
func (s *Series) numSamples() int {
	n := len(s.headT)
	for _, c := range s.chunks {
		n += c.n
	}
	return n
}

func encodeSealed(sc *scratch, ts []int64, vs []float64) sealed {
	sc.enc = chunk.Encode(sc.enc[:0], ts, vs)
	return sealed{mint: ts[0], maxt: ts[len(ts)-1], n: len(ts), data: append([]byte(nil), sc.enc...)}
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
