package chunk

import (
	"fmt"
	"math"
	"math/bits"
)

// The XOR mode follows Gorilla (Pelkonen et al., VLDB 2015). Every value
// after the first is XOR-ed with its predecessor and written as
//
//	0                       the value repeats
//	1 0 <window bits>       the set bits fit the previous window
//	1 1 <5 lead> <6 len> <len bits>   a new window
//
// (bits in stream order; len 64 is written as 0). The window starts as the
// full 64 bits, so "1 0" is well defined even before the first new window
// and a decoder never meets an undefined state.

// newWindowCost is the overhead of opening a window beyond reusing one: the
// 5-bit lead and 6-bit length fields.
const newWindowCost = 11

// xorEncode writes vs as an XOR stream. It is also run with a dry writer to
// price the mode, so the sizing can never disagree with the real output.
func xorEncode(w *bitWriter, vs []float64) {
	prev := math.Float64bits(vs[0])
	w.write(prev, 64)
	lead, trail := uint(0), uint(0)
	for _, v := range vs[1:] {
		cur := math.Float64bits(v)
		x := cur ^ prev
		prev = cur
		if x == 0 {
			w.write(0, 1)
			continue
		}
		// 5 bits hold at most 31 leading zeros; a smaller lead only widens
		// the window, it stays lossless.
		l := min(uint(bits.LeadingZeros64(x)), 31)
		t := uint(bits.TrailingZeros64(x))
		oldLen, newLen := 64-lead-trail, 64-l-t
		// Reuse the window when x fits it and that is not much dearer than
		// a fresh, tighter one: a stale wide window would otherwise bleed
		// bits on every following value.
		if l >= lead && t >= trail && oldLen <= newLen+newWindowCost {
			w.write(0b01, 2) // '1' then '0'
			w.write(x>>trail, oldLen)
			continue
		}
		lead, trail = l, t
		w.write(0b11|uint64(l)<<2|uint64(newLen&63)<<7, 13)
		w.write(x>>t, newLen)
	}
}

// xorDecode fills dst (len ≥ 1) from the XOR stream sec, which must be
// consumed exactly.
func xorDecode(dst []float64, sec []byte) error {
	r := bitReader{b: sec}
	if !r.fill(32) {
		return errXORTruncated
	}
	prev := r.take(32)
	if !r.fill(32) {
		return errXORTruncated
	}
	prev |= r.take(32) << 32
	dst[0] = math.Float64frombits(prev)
	mlen, trail := uint(64), uint(0)
	for i := 1; i < len(dst); i++ {
		// Best effort: near the end fewer bits may remain, and the cases
		// below check for the ones they need. Bits past the end read as 0.
		r.fill(13)
		ctrl := r.acc & 3
		switch {
		case r.n < 1:
			return errXORTruncated
		case ctrl&1 == 0: // '0': repeat
			r.take(1)
			dst[i] = math.Float64frombits(prev)
			continue
		case ctrl == 0b01: // '1' '0': reuse the window
			if r.n < 2 {
				return errXORTruncated
			}
			r.take(2)
		default: // '1' '1': new window
			if r.n < 13 {
				return errXORTruncated
			}
			hdr := r.take(13) >> 2
			lead := uint(hdr & 31)
			mlen = uint(hdr>>5) & 63
			if mlen == 0 {
				mlen = 64
			}
			if lead+mlen > 64 {
				return fmt.Errorf("%w: xor window lead %d + length %d exceeds 64 at sample %d", ErrCorrupt, lead, mlen, i)
			}
			trail = 64 - lead - mlen
		}
		var x uint64
		if mlen <= 56 {
			if !r.fill(mlen) {
				return errXORTruncated
			}
			x = r.take(mlen)
		} else {
			if !r.fill(32) {
				return errXORTruncated
			}
			x = r.take(32)
			if !r.fill(mlen - 32) {
				return errXORTruncated
			}
			x |= r.take(mlen-32) << 32
		}
		prev ^= x << trail
		dst[i] = math.Float64frombits(prev)
	}
	if c := r.consumed(); c != len(sec) {
		return fmt.Errorf("%w: xor stream has %d trailing bytes", ErrCorrupt, len(sec)-c)
	}
	return nil
}

var errXORTruncated = fmt.Errorf("%w: xor stream truncated", ErrCorrupt)
