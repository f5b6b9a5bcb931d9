package chunk

import (
	"encoding/binary"
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
// consumed exactly. parseHeader has checked that sec holds at least 64 bits.
//
// Rather than shifting bits through a buffer, the decoder keeps only a bit
// position and fetches each field with an unaligned 8-byte load (see load),
// which leaves no state in memory between fields. That needs 16 bytes of
// slack after the position, so the last few values are decoded from a
// zero-padded copy of the stream's tail.
func xorDecode(dst []float64, sec []byte) error {
	s := xorState{prev: binary.LittleEndian.Uint64(sec), mlen: 64}
	dst[0] = math.Float64frombits(s.prev)
	i, p := 1, uint64(64)
	if len(sec) >= xorSlack {
		k, q, err := s.run(dst[i:], sec, p, uint64(len(sec)-xorSlack+1)*8)
		if err != nil {
			return err
		}
		i, p = i+k, q
	}
	if i < len(dst) {
		// Fewer than xorSlack bytes are left after p; see run's bounds.
		var pad [2 * xorSlack]byte
		base := p >> 3
		tail := copy(pad[:], sec[base:])
		k, q, err := s.run(dst[i:], pad[:], p&7, uint64(tail)*8)
		if err != nil {
			return err
		}
		i, p = i+k, base*8+q
	}
	if i < len(dst) || p > uint64(len(sec))*8 {
		return fmt.Errorf("%w: xor stream truncated", ErrCorrupt)
	}
	if c := int((p + 7) / 8); c != len(sec) {
		return fmt.Errorf("%w: xor stream has %d trailing bytes", ErrCorrupt, len(sec)-c)
	}
	return nil
}

// xorSlack bounds the bytes one value touches from the byte holding its
// first bit: the last 8-byte load (the high half of a 64-bit window, 45 bits
// in) starts at most 6 bytes further, so a value reads at most 14 bytes.
const xorSlack = 16

// xorState is what the decoder carries from one value to the next.
type xorState struct {
	prev        uint64
	mlen, trail uint // the current window
}

// run decodes values into dst while the bit position p is below end, and
// returns how many it decoded and the new position. Each value starts below
// end and reads at most xorSlack bytes from there, so sec must extend
// xorSlack-1 bytes past end/8.
func (s *xorState) run(dst []float64, sec []byte, p, end uint64) (int, uint64, error) {
	prev, mlen, trail := s.prev, s.mlen, s.trail
	i := 0
	for ; i < len(dst) && p < end; i++ {
		ctrl := load(sec, p, 1<<13-1) // control bits and a possible window
		switch {
		case ctrl&1 == 0: // '0': repeat
			p++
			dst[i] = math.Float64frombits(prev)
			continue
		case ctrl&2 == 0: // '1' '0': reuse the window
			p += 2
		default: // '1' '1': new window
			lead := uint(ctrl>>2) & 31
			mlen = uint(ctrl>>7) & 63
			if mlen == 0 {
				mlen = 64
			}
			if lead+mlen > 64 {
				return i, p, fmt.Errorf("%w: xor window lead %d + length %d exceeds 64", ErrCorrupt, lead, mlen)
			}
			trail = 64 - lead - mlen
			p += 13
		}
		var x uint64
		if mlen <= 56 {
			x = load(sec, p, 1<<mlen-1)
		} else {
			x = load(sec, p, 1<<32-1) | load(sec, p+32, 1<<(mlen-32)-1)<<32
		}
		p += uint64(mlen)
		prev ^= x << trail
		dst[i] = math.Float64frombits(prev)
	}
	s.prev, s.mlen, s.trail = prev, mlen, trail
	return i, p, nil
}
