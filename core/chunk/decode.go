package chunk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// ErrCorrupt is wrapped by every error Decode and Len return.
var ErrCorrupt = errors.New("chunk: corrupt data")

// header is a parsed and length-checked chunk header.
type header struct {
	n      int
	t0     int64
	tsMin  uint64
	tsW    uint
	mode   byte
	exp    int
	base   int64
	vDelta int64 // modeDecDelta: minimum delta
	vW     uint
	tsSec  []byte
	valSec []byte
}

// cursor reads the header fields, remembering the first failure so the
// parser reads straight through and checks once per field group.
type cursor struct {
	b   []byte
	p   int
	err error
}

func (c *cursor) fail(what string) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: bad %s at offset %d", ErrCorrupt, what, c.p)
	}
}

func (c *cursor) u8(what string) byte {
	if c.err != nil || c.p >= len(c.b) {
		c.fail(what)
		return 0
	}
	c.p++
	return c.b[c.p-1]
}

func (c *cursor) uvarint(what string) uint64 {
	if c.err != nil {
		return 0
	}
	x, k := binary.Uvarint(c.b[c.p:])
	if k <= 0 {
		c.fail(what)
		return 0
	}
	c.p += k
	return x
}

func (c *cursor) varint(what string) int64 {
	if c.err != nil {
		return 0
	}
	x, k := binary.Varint(c.b[c.p:])
	if k <= 0 {
		c.fail(what)
		return 0
	}
	c.p += k
	return x
}

// count reads the version byte and the sample count.
func (c *cursor) count() int {
	if v := c.u8("version"); c.err == nil && v != version {
		c.err = fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	n := c.uvarint("sample count")
	if c.err == nil && (n == 0 || n > MaxSamples) {
		c.err = fmt.Errorf("%w: sample count %d outside 1..%d", ErrCorrupt, n, MaxSamples)
	}
	return int(n)
}

// Len returns the number of samples in b without decoding it.
func Len(b []byte) (int, error) {
	c := cursor{b: b}
	n := c.count()
	return n, c.err
}

// parseHeader checks everything that can be checked without decoding the
// sample data, in particular that the sections exactly fill b. Decode calls
// it before growing any slice, so a short or inconsistent input cannot make
// it allocate.
func parseHeader(b []byte) (header, error) {
	c := cursor{b: b}
	var h header
	h.n = c.count()
	h.t0 = c.varint("first timestamp")
	h.tsMin = c.uvarint("timestamp delta")
	h.tsW = uint(c.u8("timestamp width"))
	enc := c.u8("value encoding")
	h.mode, h.exp = enc>>4, int(enc&15)
	switch h.mode {
	case modeDecFOR:
		h.base = c.varint("value base")
		h.vW = uint(c.u8("value width"))
	case modeDecDelta:
		h.base = c.varint("first value")
		h.vDelta = c.varint("value delta")
		h.vW = uint(c.u8("value width"))
	}
	if c.err != nil {
		return h, c.err
	}
	switch {
	case h.tsW > 64:
		return h, fmt.Errorf("%w: timestamp width %d", ErrCorrupt, h.tsW)
	case h.n > 1 && h.tsMin == 0:
		return h, fmt.Errorf("%w: zero timestamp delta", ErrCorrupt)
	case h.mode > modeXOR:
		return h, fmt.Errorf("%w: unknown value mode %d", ErrCorrupt, h.mode)
	case h.exp > maxExp || h.mode == modeXOR && h.exp != 0:
		return h, fmt.Errorf("%w: value exponent %d", ErrCorrupt, h.exp)
	case h.vW > maxDecW:
		return h, fmt.Errorf("%w: value width %d", ErrCorrupt, h.vW)
	}

	// n ≤ 2^16 and widths ≤ 64 keep these products far from overflow.
	rest := b[c.p:]
	tsLen := ((h.n-1)*int(h.tsW) + 7) / 8
	if tsLen > len(rest) {
		return h, fmt.Errorf("%w: timestamp section needs %d bytes, have %d", ErrCorrupt, tsLen, len(rest))
	}
	h.tsSec, h.valSec = rest[:tsLen], rest[tsLen:]
	want := -1
	switch h.mode {
	case modeDecFOR:
		want = (h.n*int(h.vW) + 7) / 8
	case modeDecDelta:
		want = ((h.n-1)*int(h.vW) + 7) / 8
	default:
		// Every value after the first takes at least one bit.
		if need := (64 + h.n - 1 + 7) / 8; len(h.valSec) < need {
			return h, fmt.Errorf("%w: xor section of %d bytes cannot hold %d values", ErrCorrupt, len(h.valSec), h.n)
		}
	}
	if want >= 0 && want != len(h.valSec) {
		return h, fmt.Errorf("%w: value section is %d bytes, want %d", ErrCorrupt, len(h.valSec), want)
	}
	return h, nil
}

// Decode appends the samples of chunk b to ts and vs and returns them. On
// error it returns ts and vs with their original lengths.
//
// It allocates only when ts or vs lacks room for the samples, and only after
// checking the declared count against the section sizes: every sample then
// costs at least one bit of input, except in chunks whose fields are all
// zero bits wide (a constant value at a fixed interval), which are capped by
// MaxSamples, i.e. 1 MiB of output.
func Decode(b []byte, ts []int64, vs []float64) ([]int64, []float64, error) {
	h, err := parseHeader(b)
	if err != nil {
		return ts, vs, err
	}
	nt, nv := len(ts), len(vs)
	ts = slices.Grow(ts, h.n)[:nt+h.n]
	vs = slices.Grow(vs, h.n)[:nv+h.n]
	if err := decodeTimestamps(ts[nt:], &h); err != nil {
		return ts[:nt], vs[:nv], err
	}
	if h.mode == modeXOR {
		err = xorDecode(vs[nv:], h.valSec)
	} else {
		decodeDecimal(vs[nv:], &h)
	}
	if err != nil {
		return ts[:nt], vs[:nv], err
	}
	return ts, vs, nil
}

const signBit = 1 << 63

// decodeTimestamps fills dst from the header and timestamp section and
// proves the result strictly increasing. Timestamps are tracked as
// t ^ signBit, which maps int64 order onto uint64 order, so "increasing"
// just means "no unsigned carry".
func decodeTimestamps(dst []int64, h *header) error {
	dst[0] = h.t0
	w, sec, tsMin := h.tsW, h.tsSec, h.tsMin
	if u := uint64(h.t0) ^ signBit; w > 56 || !cannotWrap(u, uint64(len(dst)-1), tsMin, w) {
		// Rare (huge gaps or corrupt data): check every step.
		for i := 1; i < len(dst); i++ {
			d, c1 := bits.Add64(tsMin, fieldSlow(sec, uint64(i-1)*uint64(w), w), 0)
			var c2 uint64
			u, c2 = bits.Add64(u, d, 0)
			if c1|c2 != 0 {
				return fmt.Errorf("%w: timestamp overflow at sample %d", ErrCorrupt, i)
			}
			dst[i] = int64(u ^ signBit)
		}
		return nil
	}
	rest := dst[1:]
	if w == 0 {
		t := h.t0
		for i := range rest {
			t += int64(tsMin)
			rest[i] = t
		}
		return nil
	}
	k := fastFields(len(sec), w, len(rest))
	t := unpackTimestamps(rest[:k], sec, 0, w, h.t0, tsMin)
	pad, off := paddedTail(sec, uint64(k)*uint64(w))
	unpackTimestamps(rest[k:], pad[:], off, w, t, tsMin)
	return nil
}

// unpackTimestamps is the hot loop of decodeTimestamps: dst[i] is t plus
// the first i+1 deltas tsMin + field. It returns the last timestamp.
func unpackTimestamps(dst []int64, sec []byte, off uint64, w uint, t int64, tsMin uint64) int64 {
	mask := uint64(1)<<w - 1
	for i := range dst {
		t += int64(tsMin + load(sec, off, mask))
		dst[i] = t
		off += uint64(w)
	}
	return t
}

// cannotWrap reports whether k deltas of at most tsMin + 2^w - 1 added to u
// are sure to stay below 2^64; then the hot loop needs no per-step check.
func cannotWrap(u, k, tsMin uint64, w uint) bool {
	maxD, c := bits.Add64(tsMin, 1<<w-1, 0)
	hi, lo := bits.Mul64(k, maxD)
	_, c2 := bits.Add64(u, lo, 0)
	return c|hi|c2 == 0
}

// decodeDecimal fills dst from a decimal value section.
func decodeDecimal(dst []float64, h *header) {
	w, sec, scale := h.vW, h.valSec, pow10[h.exp]
	if h.mode == modeDecFOR {
		if w == 0 {
			v := float64(h.base) / scale
			for i := range dst {
				dst[i] = v
			}
			return
		}
		k := fastFields(len(sec), w, len(dst))
		unpackFOR(dst[:k], sec, 0, w, h.base, scale)
		pad, off := paddedTail(sec, uint64(k)*uint64(w))
		unpackFOR(dst[k:], pad[:], off, w, h.base, scale)
		return
	}
	dst[0] = float64(h.base) / scale
	rest := dst[1:]
	k := fastFields(len(sec), w, len(rest))
	m := unpackDelta(rest[:k], sec, 0, w, h.base, h.vDelta, scale)
	pad, off := paddedTail(sec, uint64(k)*uint64(w))
	unpackDelta(rest[k:], pad[:], off, w, m, h.vDelta, scale)
}

// unpackFOR is the hot loop of modeDecFOR. Dividing by the exact power of
// ten, rather than multiplying by its inexact inverse, is what makes the
// result bit-exact. The divisions are independent of each other and
// pipeline; in measurements a separate pass that skipped them for exponent 0
// was no faster for integers and clearly slower for decimals.
func unpackFOR(dst []float64, sec []byte, off uint64, w uint, base int64, scale float64) {
	mask := uint64(1)<<w - 1
	for i := range dst {
		dst[i] = float64(base+int64(load(sec, off, mask))) / scale
		off += uint64(w)
	}
}

// unpackDelta is the hot loop of modeDecDelta; m is the previous integer,
// and the last one is returned. w may be 0 here (constant steps).
func unpackDelta(dst []float64, sec []byte, off uint64, w uint, m, minDelta int64, scale float64) int64 {
	mask := uint64(1)<<w - 1
	for i := range dst {
		m += minDelta + int64(load(sec, off, mask))
		dst[i] = float64(m) / scale
		off += uint64(w)
	}
	return m
}
