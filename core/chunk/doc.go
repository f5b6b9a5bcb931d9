// Package chunk encodes sealed runs of (timestamp, float64) samples into
// small, lossless, fast-to-scan byte chunks.
//
// A chunk is laid out as follows (varints are encoding/binary varints):
//
//	byte     format version (1)
//	uvarint  n, the sample count (1..MaxSamples)
//	varint   first timestamp
//	uvarint  tsMin, the smallest timestamp delta (≥ 1 unless n == 1)
//	byte     tsW, bit width of the delta residuals (0..64)
//	byte     value encoding: mode<<4 | exponent
//	...      value parameters (depend on mode, see below)
//	...      timestamp section: n-1 fields of tsW bits, delta-tsMin,
//	         padded to a byte
//	...      value section, padded to a byte; it ends the chunk exactly
//
// Timestamps are frame-of-reference packed deltas, so a perfectly regular
// series costs no bits per sample and jitter costs log2(jitter range) bits.
//
// Values use one of three modes, chosen per chunk as the smallest:
//
//	modeDecFOR    varint min, byte w; n fields of w bits: m-min
//	modeDecDelta  varint first, varint minDelta, byte w;
//	              n-1 fields of w bits: (m[i]-m[i-1])-minDelta
//	modeXOR       Gorilla XOR stream (see xor.go); exponent is 0
//
// The decimal modes store integers m with v == float64(m)/10^exponent
// bit-exactly. Division by an exact power of ten is correctly rounded, which
// is what makes the decoded value equal to the parsed decimal literal.
//
// All bit streams are LSB-first: the first field occupies the lowest bits of
// the first byte. That lets the decoder fetch any fixed-width field with one
// unaligned 8-byte little-endian load, a shift and a mask.
package chunk
