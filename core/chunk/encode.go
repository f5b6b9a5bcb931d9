package chunk

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// MaxSamples is the largest number of samples one chunk may hold. It keeps
// every size computation far from overflow and bounds what Decode allocates.
const MaxSamples = 1<<16 - 1

const version = 1

// Value modes, stored in the high nibble of the value encoding byte.
const (
	modeDecFOR   = 0 // decimal integers, frame of reference on the values
	modeDecDelta = 1 // decimal integers, frame of reference on the deltas
	modeXOR      = 2 // Gorilla XOR of the raw bits
)

// maxExp is the largest decimal exponent tried; 10^9 covers nano-units and
// every power up to it is exact in float64.
const maxExp = 9

var pow10 = [maxExp + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// maxDecW bounds decimal field widths: |m| ≤ 2^53 makes value ranges < 2^55
// and delta ranges < 2^56, so a single 8-byte load always covers a field.
const maxDecW = 56

// Encode appends the encoded form of the samples to dst and returns it. ts
// must be strictly increasing; len(ts) == len(vs) must be in 1..MaxSamples.
// Violating that is a programming error and panics.
func Encode(dst []byte, ts []int64, vs []float64) []byte {
	n := len(ts)
	if n == 0 || n != len(vs) || n > MaxSamples {
		panic(fmt.Sprintf("chunk: Encode needs 1..%d samples with len(ts) == len(vs), got %d and %d", MaxSamples, len(ts), len(vs)))
	}
	tsMin, tsW := timestampParams(ts)
	p := planValues(vs)

	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.AppendVarint(dst, ts[0])
	dst = binary.AppendUvarint(dst, tsMin)
	dst = append(dst, byte(tsW), p.mode<<4|byte(p.exp))
	switch p.mode {
	case modeDecFOR:
		dst = binary.AppendVarint(dst, p.base)
		dst = append(dst, byte(p.w))
	case modeDecDelta:
		dst = binary.AppendVarint(dst, p.base)
		dst = binary.AppendVarint(dst, p.minDelta)
		dst = append(dst, byte(p.w))
	}

	w := bitWriter{buf: dst}
	if tsW > 0 {
		for i := 1; i < n; i++ {
			w.write(uint64(ts[i])-uint64(ts[i-1])-tsMin, tsW)
		}
	}
	w = bitWriter{buf: w.flush()}
	switch p.mode {
	case modeDecFOR:
		if p.w > 0 {
			for _, v := range vs {
				w.write(uint64(scaled(v, p.exp)-p.base), p.w)
			}
		}
	case modeDecDelta:
		if p.w > 0 {
			prev := p.base
			for _, v := range vs[1:] {
				m := scaled(v, p.exp)
				w.write(uint64(m-prev-p.minDelta), p.w)
				prev = m
			}
		}
	default:
		xorEncode(&w, vs)
	}
	return w.flush()
}

// timestampParams returns the smallest delta and the bit width of the
// largest residual. Deltas are computed in uint64: for strictly increasing
// int64 they lie in 1..2^64-1, so even MinInt64 → MaxInt64 does not wrap.
func timestampParams(ts []int64) (minDelta uint64, w uint) {
	if len(ts) == 1 {
		return 0, 0
	}
	minDelta, maxDelta := uint64(math.MaxUint64), uint64(0)
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			panic(fmt.Sprintf("chunk: Encode timestamps not strictly increasing at %d: %d after %d", i, ts[i], ts[i-1]))
		}
		d := uint64(ts[i]) - uint64(ts[i-1])
		minDelta = min(minDelta, d)
		maxDelta = max(maxDelta, d)
	}
	return minDelta, uint(bits.Len64(maxDelta - minDelta))
}

// valuePlan is the value encoding chosen for one chunk.
type valuePlan struct {
	mode     byte
	exp      int
	base     int64 // min (modeDecFOR) or first (modeDecDelta)
	minDelta int64 // modeDecDelta only
	w        uint
}

// planValues picks the smallest of the value modes. Ties go to the decimal
// modes because they decode faster than XOR.
func planValues(vs []float64) valuePlan {
	n := uint64(len(vs))
	best, bestSize := valuePlan{mode: modeXOR}, uint64(math.MaxUint64)
	if e, ok := decimalExponent(vs); ok {
		first := scaled(vs[0], e)
		lo, hi := first, first
		dlo, dhi := int64(math.MaxInt64), int64(math.MinInt64)
		prev := first
		for _, v := range vs[1:] {
			m := scaled(v, e)
			lo, hi = min(lo, m), max(hi, m)
			d := m - prev
			dlo, dhi = min(dlo, d), max(dhi, d)
			prev = m
		}
		w := uint(bits.Len64(uint64(hi - lo)))
		best = valuePlan{mode: modeDecFOR, exp: e, base: lo, w: w}
		bestSize = uint64(varintLen(lo)+1) + (n*uint64(w)+7)/8
		if n > 1 {
			w := uint(bits.Len64(uint64(dhi - dlo)))
			size := uint64(varintLen(first)+varintLen(dlo)+1) + ((n-1)*uint64(w)+7)/8
			if size < bestSize {
				best = valuePlan{mode: modeDecDelta, exp: e, base: first, minDelta: dlo, w: w}
				bestSize = size
			}
		}
	}
	// XOR needs at least 64 bits plus one per further value; only price it
	// when it could win.
	if bestSize > (64+n-1+7)/8 {
		dry := bitWriter{dry: true}
		xorEncode(&dry, vs)
		if size := (dry.total + 7) / 8; size < bestSize {
			best = valuePlan{mode: modeXOR}
		}
	}
	return best
}

// decimalExponent returns the smallest e in 0..maxExp such that every value
// is an integer m (|m| ≤ 2^53) divided by 10^e, bit-exactly.
//
// It raises a running e per value instead of scanning all values for every
// e. The running e never passes the answer (the answer works for every value,
// and each value stops at its first working e), but a raised e is not proven
// for the values before the raise, hence the check of that prefix.
func decimalExponent(vs []float64) (int, bool) {
	e, unproven := 0, 0 // vs[:unproven] were only checked with a smaller e
	for i, v := range vs {
		if decimalFits(v, e) {
			continue
		}
		for unproven = i; !decimalFits(v, e); {
			if e++; e > maxExp {
				return 0, false
			}
		}
	}
	for ; e <= maxExp; e++ {
		ok := true
		for _, v := range vs[:unproven] {
			if !decimalFits(v, e) {
				ok = false
				break
			}
		}
		if ok {
			return e, true
		}
		unproven = len(vs)
	}
	return 0, false
}

// decimalFits reports whether v == float64(m)/10^e bit-exactly for
// m = round(v*10^e) with |m| ≤ 2^53. NaN and ±Inf fail the range check and
// -0.0 fails the bit comparison (m = 0 decodes to +0.0).
func decimalFits(v float64, e int) bool {
	r := math.Round(v * pow10[e])
	if !(math.Abs(r) <= 1<<53) {
		return false
	}
	return math.Float64bits(float64(int64(r))/pow10[e]) == math.Float64bits(v)
}

// scaled returns the integer m of a value known to fit exponent e.
func scaled(v float64, e int) int64 {
	return int64(math.Round(v * pow10[e]))
}

func varintLen(x int64) int {
	var b [binary.MaxVarintLen64]byte
	return len(binary.AppendVarint(b[:0], x))
}
