package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/chunk"
)

// ErrCorruptSnapshot wraps every failure to load a series snapshot.
var ErrCorruptSnapshot = errors.New("corrupt series snapshot")

// AppendSnapshot appends the complete state of s, lossless: its metric (so
// that auto-registered metrics come back with their frequency), key, slot
// anchor, compressed chunks as they are, and head samples.
func (s *Series) AppendSnapshot(dst []byte) []byte {
	m := s.metric
	dst = appendString(dst, m.Name)
	dst = binary.AppendUvarint(dst, uint64(m.Frequency))
	dst = append(dst, byte(m.Aggregation))
	dst = appendString(dst, s.key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	dst = binary.AppendVarint(dst, s.anchor)
	dst = binary.AppendUvarint(dst, uint64(len(s.chunks)))
	for _, c := range s.chunks {
		dst = binary.AppendVarint(dst, c.mint)
		dst = binary.AppendVarint(dst, c.maxt)
		dst = appendString(dst, string(c.data))
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.hd.t)))
	for i, t := range s.hd.t {
		dst = binary.AppendVarint(dst, t)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(s.hd.v[i]))
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// LoadSnapshot restores one series from AppendSnapshot's bytes. Into an
// empty series the chunks are taken over as they are, sharing b's memory
// (b must not change afterwards); samples already held (from another
// source) are merged sample by sample, the snapshot winning on equal
// timestamps. Every chunk is decoded once to validate it.
func (st *Store) LoadSnapshot(b []byte) error {
	r := reader{b: b}
	name := r.str()
	freq := int64(r.uvarint())
	agg := Aggregation(r.byte())
	key := r.str()
	anchor := r.varint()
	nChunks := r.uvarint()
	if r.err != nil || freq <= 0 || agg > AggAvg || nChunks > uint64(len(b)) {
		return fmt.Errorf("%w: bad header", ErrCorruptSnapshot)
	}
	chunks := make([]sealed, 0, nChunks)
	sc := getScratch()
	defer putScratch(sc)
	ts, vs := sc.ts, sc.vs
	defer func() { sc.ts, sc.vs = ts[:0], vs[:0] }() // keep grown buffers pooled
	last := int64(math.MinInt64)
	for i := uint64(0); i < nChunks; i++ {
		c := sealed{mint: r.varint(), maxt: r.varint(), data: r.bytes()}
		if r.err != nil {
			return fmt.Errorf("%w: truncated chunk", ErrCorruptSnapshot)
		}
		var err error
		if ts, vs, err = chunk.Decode(c.data, ts[:0], vs[:0]); err != nil {
			return fmt.Errorf("%w: %w", ErrCorruptSnapshot, err)
		}
		if ts[0] != c.mint || ts[len(ts)-1] != c.maxt || c.mint <= last {
			return fmt.Errorf("%w: chunk bounds", ErrCorruptSnapshot)
		}
		last = c.maxt
		chunks = append(chunks, c)
	}
	nHead := r.uvarint()
	if r.err != nil || nHead > uint64(len(b)) {
		return fmt.Errorf("%w: bad head", ErrCorruptSnapshot)
	}
	ht, hv := make([]int64, 0, nHead), make([]float64, 0, nHead)
	for i := uint64(0); i < nHead; i++ {
		t := r.varint()
		v := math.Float64frombits(r.u64())
		if r.err != nil || t <= last {
			return fmt.Errorf("%w: head samples", ErrCorruptSnapshot)
		}
		last = t
		ht, hv = append(ht, t), append(hv, v)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorruptSnapshot, len(r.b))
	}

	st.RegisterMetric(name, freq, agg)
	var k Key
	if err := ParseKey([]byte(key), &k); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptSnapshot, err)
	}
	if string(k.Metric) != name {
		return fmt.Errorf("%w: metric %q does not match key", ErrCorruptSnapshot, name)
	}
	s, err := st.resolve(&k, []byte(key))
	if err != nil {
		return fmt.Errorf("cannot restore series: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.empty() && !s.anchored {
		s.anchor, s.anchored = anchor, true
		s.chunks = chunks
		for i := range ht {
			s.append(ht[i], hv[i])
		}
		return nil
	}
	for _, c := range chunks {
		ts, vs, _ = chunk.Decode(c.data, ts[:0], vs[:0])
		for i := range ts {
			s.append(ts[i], vs[i])
		}
	}
	for i := range ht {
		s.append(ht[i], hv[i])
	}
	return nil
}

// reader decodes snapshot fields, remembering the first error.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("short input")

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// bytes returns the next length-prefixed field, aliasing the input.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
	r.b = nil
}
