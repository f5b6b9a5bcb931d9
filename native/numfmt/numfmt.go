// Package numfmt formats float64 values in fixed-point notation, byte for
// byte like strconv.AppendFloat(dst, v, 'f', prec, 64), but 2-3 times
// faster for the values that metric data consists of.
//
// cc-metric-store writes query data with 3 decimals and statistics with 2
// (cc-lib schema.Float / FloatArray) and NaN as null. strconv's 'f' format
// with an explicit precision costs roughly 25-50 ns per value, which
// dominates the encoding of large answers (921,600 points and more).
//
// # How the fast path stays exact
//
// Let a = |v| and P = 10^prec. strconv prints the integer N nearest to the
// exact product X = a·P (ties to even, since it works on the exact binary
// value), with the decimal point inserted prec digits from the right.
//
// If a < 2^51/P, the computed product x = fl(a·P) is at most 2^51, so for
// n = ⌊x⌋ both x − n and the halfway point n + 0.5 are exact float64 values.
// IEEE multiplication rounds correctly, rounding is monotonic, and n + 0.5
// is representable, so:
//
//   - x < n + 0.5 implies X < n + 0.5, hence N = n;
//   - x > n + 0.5 implies X > n + 0.5, hence N = n + 1;
//   - x == n + 0.5 is the only ambiguous case: X is exactly halfway (e.g.
//     0.0625 at 3 decimals, which rounds to even) or within half an ulp of
//     it (e.g. 1.0005, whose binary value is just below 1.0005). Only these
//     values are handed to strconv, which decides on the exact binary value.
//
// In other words the "safe margin" around .5 is zero ulps, which is provably
// sufficient while x < 2^52. NaN, ±Inf, values at or above 2^51/P (the
// bound also keeps the rounding trick below exact) and precisions outside
// 0..7 go to strconv as well.
//
// The rounding itself is done by adding 2^52: for 0 <= x <= 2^51 the sum
// t = x + 2^52 lies in [2^52, 2^53), where float64 spacing is 1, so t is x
// rounded to the nearest integer and n is read off t's mantissa bits. The
// difference x − (t − 2^52) is exact (Sterbenz) and equals ±0.5 exactly in
// the ambiguous case. The multiplication and the addition carry explicit
// float64 conversions so that the compiler cannot fuse them into an FMA
// (it may on arm64, ppc64le, s390x, riscv64); the argument needs the
// correctly rounded product. Subnormal products are covered too: rounding is
// monotonic there as well and 0.5 is representable.
//
// Digits are produced eight at a time with SWAR arithmetic (multiply-shift
// reciprocals working on several digits per 64-bit word) and written with
// 8-byte stores, so no per-digit loop is left.
//
// The sign is written whenever the sign bit is set, so -0.0 and negative
// values that round to zero print as "-0.000", exactly like strconv.
package numfmt

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
)

// Null is what AppendFixed writes for NaN and ±Inf.
const Null = "null"

// maxFastPrec is the largest precision handled by the fast path.
const maxFastPrec = 7

var pow10 = [maxFastPrec + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7}

// limit[p] = 2^51 / 10^p: below it the scaled value x is at most 2^51
// (after rounding), where x−⌊x⌋ and ⌊x⌋+0.5 are exact and x+2^52 stays
// below 2^53. limit[p] is the float64 nearest to the quotient; if it is
// slightly above it, the product of a value in between still rounds to at
// most 2^51.
var limit = [maxFastPrec + 1]float64{
	0x1p51 / 1, 0x1p51 / 1e1, 0x1p51 / 1e2, 0x1p51 / 1e3,
	0x1p51 / 1e4, 0x1p51 / 1e5, 0x1p51 / 1e6, 0x1p51 / 1e7,
}

const (
	ascii0 = 0x3030303030303030 // '0' in every byte
	// scratch is the spare capacity AppendFixed writes into directly. The
	// longest fast-path text is 1+16+1 = 18 bytes; the 8-byte stores reach
	// at most byte 24.
	scratch = 32
)

// AppendFixed appends v formatted with exactly prec decimals and returns the
// extended buffer. For every finite v the bytes are identical to
// strconv.AppendFloat(dst, v, 'f', prec, 64), for any prec. NaN appends
// "null", the JSON encoding cc-metric-store uses for missing values.
//
// ±Inf also append "null". strconv would write "+Inf"/"-Inf", which is not
// JSON; the reference (cc-lib schema.Float) cannot encode infinities at all
// and fails the whole response, so "null" is the closest well-formed answer.
//
// The fast path needs 0 <= prec <= 7, |v| < 2^51/10^prec and at least 32
// bytes of spare capacity in dst (cap(dst)-len(dst) >= 32); it then formats
// in place and may leave scratch bytes in dst[len(result):len(dst)+32].
// Everything else is handed to strconv, which gives the same bytes, slower.
// Like any append, AppendFixed never touches dst[:len(dst)], and it does not
// allocate when dst has room for the result.
func AppendFixed(dst []byte, v float64, prec int) []byte {
	u := math.Float64bits(v)
	a := math.Float64frombits(u &^ (1 << 63))
	l := len(dst)
	// NaN and ±Inf fail a < limit.
	if uint(prec) > maxFastPrec || !(a < limit[prec]) || cap(dst)-l < scratch {
		return appendSlow(dst, v, prec)
	}
	x := float64(a * pow10[prec])
	t := float64(x + 0x1p52)
	if d := x - (t - 0x1p52); d == 0.5 || d == -0.5 {
		// X = a·10^prec is halfway between two integers or within half an
		// ulp of it: let strconv decide on the exact binary value.
		return strconv.AppendFloat(dst, v, 'f', prec, 64)
	}
	n := math.Float64bits(t) - math.Float64bits(0x1p52) // x rounded, < 10^16

	b := (*[scratch]byte)(dst[l : l+scratch])
	b[0] = '-'         // overwritten below when positive
	s := uint(u >> 63) // 1 if negative, including -0 and values rounding to 0
	if prec == 0 {
		return dst[:l+int(putInt(b, s, n))]
	}
	// The last prec digits of n are the fraction. Write the integer part
	// and, after it, '.' and the fraction.
	var e uint // end of the integer part
	var w uint64
	if n < 1e8 {
		// One SWAR block of 8 digits, the integer part being its first
		// 8-prec; strip leading zeros but keep at least one integer digit.
		w = digits8(uint32(n))
		z := min(uint(bits.TrailingZeros64(w|1<<56))>>3, 7-uint(prec))
		binary.LittleEndian.PutUint64(b[s:], w>>(8*z)|ascii0)
		e = s + 8 - uint(prec) - z
	} else {
		hi := n / 1e8 // < 2^51/10^8, at most 8 digits
		wh := digits8(uint32(hi))
		z := uint(bits.TrailingZeros64(wh|1<<56)) >> 3
		binary.LittleEndian.PutUint64(b[s:], wh>>(8*z)|ascii0)
		p := s + 8 - z
		w = digits8(uint32(n - hi*1e8))
		binary.LittleEndian.PutUint64(b[p:], w|ascii0)
		e = p + 8 - uint(prec)
	}
	f := w >> ((64 - 8*uint(prec)) & 63) // the last prec digits
	binary.LittleEndian.PutUint64(b[e:], (f|ascii0)<<8|'.')
	return dst[:l+int(e)+1+prec]
}

// putInt writes the decimal digits of n < 10^16 to b[s:] and returns the
// end position.
func putInt(b *[scratch]byte, s uint, n uint64) uint {
	if n < 1e8 {
		w := digits8(uint32(n))
		z := min(uint(bits.TrailingZeros64(w))>>3, 7)
		binary.LittleEndian.PutUint64(b[s:], w>>(8*z)|ascii0)
		return s + 8 - z
	}
	hi := n / 1e8
	wh := digits8(uint32(hi))
	z := uint(bits.TrailingZeros64(wh)) >> 3
	binary.LittleEndian.PutUint64(b[s:], wh>>(8*z)|ascii0)
	p := s + 8 - z
	binary.LittleEndian.PutUint64(b[p:], digits8(uint32(n-hi*1e8))|ascii0)
	return p + 8
}

// appendSlow handles what the fast path does not: NaN, ±Inf, large values,
// precisions outside 0..7 and destinations with little spare capacity.
func appendSlow(dst []byte, v float64, prec int) []byte {
	if v != v || math.IsInf(v, 0) {
		return append(dst, Null...)
	}
	return strconv.AppendFloat(dst, v, 'f', prec, 64)
}

// digits8 returns the 8 decimal digits of u < 10^8 (with leading zeros) as
// byte values 0..9 packed in a uint64, the most significant digit in the
// lowest byte, so that a little-endian store writes them in reading order.
// SWAR: split into two 4-digit lanes of 32 bits, each into two 2-digit lanes
// of 16 bits, each into two 1-digit lanes of 8 bits. The divisions by 100
// and 10 use multiply-shift reciprocals that are exact in the lanes' ranges
// (x*10486>>20 = x/100 for x < 10^4, x*103>>10 = x/10 for x < 100) and whose
// products never carry into the next lane.
func digits8(u uint32) uint64 {
	x := uint64(u/10000) | uint64(u%10000)<<32
	y := x * 10486 >> 20 & 0x0000007f0000007f
	x = y | (x-y*100)<<16
	y = x * 103 >> 10 & 0x000f000f000f000f
	return y | (x-y*10)<<8
}
