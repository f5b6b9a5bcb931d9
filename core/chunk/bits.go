package chunk

import "encoding/binary"

// bitWriter appends an LSB-first bit stream to buf. Bits collect in a uint64
// so that a field costs a shift and an OR; whole words go out 8 bytes at a
// time.
//
// With dry set it only counts, which lets the encoder price the XOR stream
// with the very same code that writes it.
type bitWriter struct {
	buf   []byte
	acc   uint64 // pending bits, the oldest in bit 0
	n     uint   // pending bit count, always < 64
	total uint64 // bits written so far
	dry   bool
}

// write appends the low n bits of v (n ≤ 64). v must have no bits set at or
// above n; callers guarantee that, so we do not pay for a mask here.
func (w *bitWriter) write(v uint64, n uint) {
	w.total += uint64(n)
	if w.dry {
		return
	}
	w.acc |= v << w.n
	w.n += n
	if w.n >= 64 {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, w.acc)
		w.n -= 64
		// The bits of v that did not fit; Go defines v>>64 as 0, which is
		// exactly right when v was consumed whole.
		w.acc = v >> (n - w.n)
	}
}

// flush pads the stream to a byte boundary and returns the buffer.
func (w *bitWriter) flush() []byte {
	for ; w.n > 0; w.n -= min(w.n, 8) {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
	}
	return w.buf
}

// Packed sections are read by random access: field i of width w starts at
// bit i*w. For w ≤ 56 a single unaligned 8-byte load covers any field
// (off&7 + w ≤ 63), as long as the load stays inside the section. Decoders
// split a section in two: the fields that load can read in place, and the
// few in the last 7 bytes, which they read from a zero-padded copy. Both
// halves then run the same tight loop.

// fastFields returns how many of the first count fields of width w ≤ 56 can
// be read with load from a section of secLen bytes.
func fastFields(secLen int, w uint, count int) int {
	if w == 0 || secLen < 8 {
		return 0
	}
	// load(i*w) is in bounds iff i*w < (secLen-7)*8.
	return min(count, ((secLen-7)*8+int(w)-1)/int(w))
}

// paddedTail copies the bytes of sec from bit offset off on, which are
// fewer than 8 when off is past the fastFields prefix, into a zero-padded
// buffer, and returns it with the matching bit offset.
func paddedTail(sec []byte, off uint64) ([16]byte, uint64) {
	var pad [16]byte
	if p := off >> 3; p < uint64(len(sec)) {
		copy(pad[:], sec[p:])
	}
	return pad, off & 7
}

// load returns the w-bit field at bit offset off, mask = 1<<w - 1; see
// fastFields for when it may be used.
func load(sec []byte, off uint64, mask uint64) uint64 {
	// The full slice expression has a constant length, which keeps the
	// compiler down to a single bounds check.
	p := off >> 3
	return binary.LittleEndian.Uint64(sec[p:p+8:p+8]) >> (off & 7) & mask
}

// fieldSlow reads a field of any width w ≤ 64 byte by byte. It serves the
// rare timestamp sections with huge gaps, where fields may span 9 bytes.
func fieldSlow(sec []byte, off uint64, w uint) uint64 {
	var v uint64
	for got := uint(0); got < w; {
		sh := uint(off & 7)
		take := min(8-sh, w-got)
		v |= (uint64(sec[off>>3]) >> sh) & (1<<take - 1) << got
		got += take
		off += uint64(take)
	}
	return v
}
