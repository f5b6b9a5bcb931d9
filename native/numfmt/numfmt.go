// Package numfmt formats float64 values in fixed-point notation, byte for
// byte like strconv.AppendFloat(dst, v, 'f', prec, 64), but several times
// faster for the values that metric data consists of.
//
// cc-metric-store writes query data with 3 decimals and statistics with 2
// (cc-lib schema.Float / FloatArray) and NaN as null. strconv's 'f' format
// with an explicit precision always takes its multi-precision path (about
// 35 ns per value), which dominates the encoding of large answers.
//
// # How the fast path stays exact
//
// Let a = |v| and P = 10^prec. strconv prints the integer N nearest to the
// exact product X = a·P (ties to even, since it works on the exact binary
// value), with the decimal point inserted prec digits from the right.
//
// If a < 2^52/P, the computed product x = fl(a·P) is below 2^52 (or exactly
// 2^52), so for n = ⌊x⌋ both x − n and the halfway point n + 0.5 are exact
// float64 values. IEEE multiplication rounds correctly, and rounding is
// monotonic, and n + 0.5 is representable, so:
//
//   - x < n + 0.5 implies X < n + 0.5, hence N = n;
//   - x > n + 0.5 implies X > n + 0.5, hence N = n + 1;
//   - x == n + 0.5 is the only ambiguous case: X is exactly halfway (e.g.
//     0.0625 at 3 decimals, which rounds to even) or within half an ulp of
//     it (e.g. 1.0005, whose binary value is just below 1.0005). Only these
//     values are handed to strconv, which decides on the exact binary value.
//
// The multiplication is written with an explicit float64 conversion so that
// the compiler cannot fuse it into an FMA with the later subtraction; the
// argument needs the correctly rounded product. Subnormal products are
// covered too: rounding is monotonic there as well and 0.5 is representable.
// In other words the "safe margin" around .5 is zero ulps, which is provably
// sufficient below 2^52; values at or above 2^52/P, NaN and Inf leave the
// fast path.
//
// The sign is written whenever the sign bit is set, so -0.0 and negative
// values that round to zero print as "-0.000", exactly like strconv.
package numfmt

import (
	"math"
	"math/bits"
	"strconv"
)

// Null is what AppendFixed writes for NaN and ±Inf.
const Null = "null"

// maxFastPrec is the largest precision handled by the fast path.
const maxFastPrec = 9

var pow10 = [maxFastPrec + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

var ipow10 = [16]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// limit[p] = 2^52 / 10^p: below it the scaled value x is < 2^52 (at most
// 2^52 after rounding), where x−⌊x⌋ and ⌊x⌋+0.5 are exact. limit[p] is the
// float64 nearest to the quotient; if it is slightly above it, the product
// of a value in between is below 2^52+0.5 and rounds to 2^52, so the result
// is still right.
var limit = [maxFastPrec + 1]float64{
	0x1p52 / 1, 0x1p52 / 1e1, 0x1p52 / 1e2, 0x1p52 / 1e3, 0x1p52 / 1e4,
	0x1p52 / 1e5, 0x1p52 / 1e6, 0x1p52 / 1e7, 0x1p52 / 1e8, 0x1p52 / 1e9,
}

const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// AppendFixed appends v formatted with exactly prec decimals and returns the
// extended buffer. For every finite v the bytes are identical to
// strconv.AppendFloat(dst, v, 'f', prec, 64), for any prec (precisions 0..9
// use the fast path, others, including negative ones, go straight to
// strconv). NaN appends "null", the JSON encoding cc-metric-store uses for
// missing values.
//
// ±Inf also append "null". strconv would write "+Inf"/"-Inf", which is not
// JSON; the reference (cc-lib schema.Float) cannot encode infinities at all
// and fails the whole response, so "null" is the closest well-formed answer.
//
// AppendFixed does not allocate when dst has room for the result.
func AppendFixed(dst []byte, v float64, prec int) []byte {
	bits := math.Float64bits(v)
	a := math.Float64frombits(bits &^ (1 << 63))
	if uint(prec) <= maxFastPrec && a < limit[prec] { // false for NaN and Inf
		x := float64(a * pow10[prec]) // conversion forbids FMA fusion below
		n := int64(x)                 // x <= 2^52: signed conversion is exact and cheaper
		if f := x - float64(n); f > 0.5 {
			n++
		} else if f == 0.5 {
			// X is halfway or within half an ulp of it.
			return strconv.AppendFloat(dst, v, 'f', prec, 64)
		}
		neg := bits>>63 != 0
		if l := len(dst); cap(dst)-l >= 32 {
			// Write in place; the fixed-size view lets the compiler drop
			// bounds checks.
			k := formatScaled((*[32]byte)(dst[l:l+32]), uint64(n), prec, neg)
			return dst[:l+k]
		}
		return appendScaled(dst, uint64(n), prec, neg)
	}
	if a != a || a > math.MaxFloat64 {
		return append(dst, Null...)
	}
	return strconv.AppendFloat(dst, v, 'f', prec, 64)
}

// appendScaled writes n/10^prec with prec decimals (0 <= prec <= 9),
// preceded by '-' if neg, for a dst with little spare capacity.
func appendScaled(dst []byte, n uint64, prec int, neg bool) []byte {
	var buf [32]byte
	k := formatScaled(&buf, n, prec, neg)
	return append(dst, buf[:k]...)
}

// formatScaled writes n/10^prec with prec decimals (0 <= prec <= 9),
// preceded by '-' if neg, to the start of b and returns its length.
// n <= 2^52+1, so the integer part has at most 16 digits and the whole text
// at most 1+16+1+9 = 27 bytes.
func formatScaled(b *[32]byte, n uint64, prec int, neg bool) int {
	var ip, fp uint64
	switch prec {
	case 3:
		ip = n / 1000
		fp = n - ip*1000
	case 2:
		ip = n / 100
		fp = n - ip*100
	default:
		p := ipow10[prec&15]
		ip = n / p
		fp = n - ip*p
	}
	var s uint
	if neg {
		b[0] = '-'
		s = 1
	}
	end := s + uint(decimalLen(ip))

	// Integer part, right to left, ending at end. The low 8 digits of
	// large values are split off so that the loops use 32-bit division.
	i := end
	if ip >= 1e8 {
		hi := ip / 1e8
		lo := uint32(ip - hi*1e8)
		for range 4 {
			q := lo / 100
			d := lo - q*100
			i -= 2
			b[(i+1)&31] = digitPairs[2*d+1]
			b[i&31] = digitPairs[2*d]
			lo = q
		}
		ip = hi
	}
	u := uint32(ip)
	for u >= 100 {
		q := u / 100
		d := u - q*100
		i -= 2
		b[(i+1)&31] = digitPairs[2*d+1]
		b[i&31] = digitPairs[2*d]
		u = q
	}
	if u >= 10 {
		b[(i-1)&31] = digitPairs[2*u+1]
		b[(i-2)&31] = digitPairs[2*u]
	} else {
		b[(i-1)&31] = byte('0' + u)
	}

	// Fraction.
	switch prec {
	case 0:
		return int(end)
	case 3:
		q := fp / 100
		r := fp - q*100
		b[end&31] = '.'
		b[(end+1)&31] = byte('0' + q)
		b[(end+2)&31] = digitPairs[2*r]
		b[(end+3)&31] = digitPairs[2*r+1]
	case 2:
		b[end&31] = '.'
		b[(end+1)&31] = digitPairs[2*fp]
		b[(end+2)&31] = digitPairs[2*fp+1]
	default:
		b[end&31] = '.'
		for j := end + uint(prec); j > end; j-- {
			q := fp / 10
			b[j&31] = byte('0' + fp - q*10)
			fp = q
		}
	}
	return int(end) + 1 + prec
}

// decimalLen returns the number of decimal digits of u (1 for 0).
func decimalLen(u uint64) int {
	// bits.Len64 * log10(2), then correct by one table look-up.
	n := (bits.Len64(u|1) * 1233) >> 12
	if u|1 >= ipow10all[n] {
		n++
	}
	return n
}

var ipow10all = [...]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}
