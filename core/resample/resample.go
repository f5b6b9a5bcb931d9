// Package resample downsamples metric time series the way cc-metric-store
// does it when a query asks for a coarser resolution.
//
// cc-metric-store 1.5.4 calls cc-lib's resampler.LargestTriangleThreeBucket
// (cc-lib v2.12.0) on the (aggregated) series of every query entry. LTTB
// here reproduces that function bit for bit, including its quirks, but works
// on plain float64 slices (NaN = missing value) and writes into a
// caller-supplied buffer so the query hot path does not allocate.
//
// # Behaviour of the reference, reproduced here
//
// Validation, in this order:
//
//  1. oldFreq == 0, newFreq == 0 or newFreq <= oldFreq: nothing is done.
//  2. newFreq % oldFreq != 0: error, message exactly
//     "new sampling frequency (X) must be a multiple of old frequency (Y)".
//     This is checked before the length rules, so short series fail too.
//  3. step = newFreq/oldFreq, newLen = len(data)/step (integer division).
//     Nothing is done when newLen == 0, len(data) < MinimumRequiredPoints or
//     newLen >= len(data).
//
// Bucketing: the first and the last input points are always kept. With
// n = len(data) and w = (n-2)/(newLen-2) (float64), bucket i (0-based, i <
// newLen-2) holds the candidate indices [e(i), e(i+1)) where e(0) = 1 and
// e(k) = floor(k*w)+1, clamped to n-2 for k >= 2 (the first end e(1) is not
// clamped). For each bucket the candidate c maximising the triangle area
// |((ax-cx)*(by-ay) - (ax-bx)*(cy-ay)) / 2| is selected, where a is the
// point selected in the previous bucket (index 0 for bucket 0) and b the
// centroid of the *following* window [e(i+1), e(i+2)] inclusive (one point
// more than the next bucket, the reference's off-by-one; x of the centroid
// is the mean of those indices). Ties keep the earliest candidate. Quirks
// that follow from the clamping: with newLen >= 4 the point n-2 is never a
// candidate and the last bucket's centroid is just point n-2; with newLen
// == 3 the single bucket is 1..n-2 and its centroid window is empty (0/0 =
// NaN), so its last point n-2 is chosen.
//
// Output length: newLen points when newLen >= 2. When newLen == 1 (step more
// than half the series) the reference still emits the first and last point,
// i.e. 2 points; so does LTTB.
//
// NaN handling (apart from forcing the centroid to NaN when its window holds
// a NaN, the reference has no NaN logic; the rest falls out of IEEE
// arithmetic and the comparison "area > maxArea || isNaN(area)"):
//
//   - A candidate whose value is NaN has a NaN area and is always taken; a
//     later NaN candidate in the same bucket replaces it, a later finite one
//     does not (nothing compares greater than NaN). So if a bucket contains
//     NaN candidates, the last NaN of the bucket is selected.
//   - If the next bucket's centroid window contains a NaN, its mean is NaN,
//     every area of the current bucket is NaN, and the last point of the
//     current bucket is selected (whatever its value).
//   - Likewise when the previously selected point is NaN: the last point of
//     the current bucket is selected. A NaN therefore "pulls" the choice of
//     the following bucket to its last point.
//   - First and last points are copied as they are, NaN included.
//   - ±Inf behave as IEEE dictates (Inf-Inf and 0*Inf give NaN areas).
//
// The arithmetic is written with explicit float64 conversions so that the Go
// compiler never fuses a multiply and an add into an FMA (which it may do on
// arm64, ppc64le, s390x and riscv64). Results are therefore identical on
// every architecture to the reference running on amd64.
package resample

import (
	"errors"
	"math"
	"strconv"
)

// MinimumRequiredPoints is the number of points a series needs before it is
// resampled at all. It is cc-lib's default, which cc-metric-store never
// changes (cc-backend's embedded store does; standalone ccms does not).
const MinimumRequiredPoints = 1000

// ErrNotMultiple is matched (errors.Is) by every *NotMultipleError.
var ErrNotMultiple = errors.New("new sampling frequency must be a multiple of old frequency")

// NotMultipleError is returned when the requested frequency is larger than
// the native one but not a multiple of it. Its message is exactly the
// reference's: "new sampling frequency (15) must be a multiple of old
// frequency (10)".
type NotMultipleError struct {
	NewFreq, OldFreq int64
}

func (e *NotMultipleError) Error() string {
	b := make([]byte, 0, 80)
	b = append(b, "new sampling frequency ("...)
	b = strconv.AppendInt(b, e.NewFreq, 10)
	b = append(b, ") must be a multiple of old frequency ("...)
	b = strconv.AppendInt(b, e.OldFreq, 10)
	b = append(b, ')')
	return string(b)
}

// Is reports whether target is ErrNotMultiple.
func (e *NotMultipleError) Is(target error) bool { return target == ErrNotMultiple }

// plan applies the reference's validation rules. It returns newLen == -1
// when nothing is to be done.
func plan(n int, oldFreq, newFreq int64) (newLen int, err error) {
	if oldFreq == 0 || newFreq == 0 || newFreq <= oldFreq {
		return -1, nil
	}
	if newFreq%oldFreq != 0 {
		return -1, &NotMultipleError{NewFreq: newFreq, OldFreq: oldFreq}
	}
	step := newFreq / oldFreq
	// step <= 0 only happens with a negative oldFreq; the reference would
	// then compute a negative length and panic in make(). Treat it as a
	// no-op (newLen < 1).
	if step <= 0 {
		return -1, nil
	}
	l := int64(n) / step
	if l < 1 || n < MinimumRequiredPoints || l >= int64(n) {
		return -1, nil
	}
	return int(l), nil
}

// OutLen reports what LTTB(dst, data, oldFreq, newFreq) would do for a
// series of n points: the number of points it returns (n when nothing is
// done) and whether it resamples. It is meant for sizing buffers.
func OutLen(n int, oldFreq, newFreq int64) (outLen int, resampled bool, err error) {
	l, err := plan(n, oldFreq, newFreq)
	if err != nil {
		return 0, false, err
	}
	if l == -1 {
		return n, false, nil
	}
	return max(l, 2), true, nil
}

// LTTB downsamples data (NaN = missing), sampled every oldFreq seconds, to
// one point every newFreq seconds with cc-lib's Largest-Triangle-Three-Buckets
// algorithm, bit for bit (see the package documentation for the exact rules).
//
// When resampling happens the result is written to dst[:0] (reusing its
// capacity; no allocation when cap(dst) is at least the output length, see
// OutLen) and the returned frequency is newFreq.
//
// When nothing is done (newFreq <= oldFreq, newFreq or oldFreq 0, fewer than
// MinimumRequiredPoints points, or the new length not in [1, len(data))),
// LTTB returns data itself, not a copy, together with oldFreq, and leaves
// dst untouched, as the reference does. Callers that recycle the returned
// slice as the next dst must keep this aliasing in mind.
//
// On a frequency that is not a multiple, it returns dst[:0], 0 and a
// *NotMultipleError (errors.Is(err, ErrNotMultiple) holds).
//
// Resampling in place is supported: dst may start at data's first element
// (e.g. dst = data[:0], whatever its length), because output point k is
// written only when no later step reads an input index <= k. Any other
// overlap between dst and data is not allowed.
func LTTB(dst, data []float64, oldFreq, newFreq int64) ([]float64, int64, error) {
	newLen, err := plan(len(data), oldFreq, newFreq)
	if err != nil {
		return dst[:0], 0, err
	}
	if newLen == -1 {
		return data, oldFreq, nil
	}

	outLen := max(newLen, 2)
	if cap(dst) < outLen {
		dst = make([]float64, 0, outLen)
	}
	out := dst[:outLen]
	n := len(data)
	first, last := data[0], data[n-1]

	// newLen == 1 or 2: the reference's bucket loop does not run; it keeps
	// only the first and the last point.
	if newLen > 2 {
		bucketSize := float64(n-2) / float64(newLen-2)
		low := 1
		mid := int(math.Floor(bucketSize)) + 1
		prev := 0
		prevY := first
		for i := 0; i < newLen-2; i++ {
			high := int(math.Floor(float64(i+2)*bucketSize)) + 1
			if high >= n-1 {
				high = n - 2
			}

			// Centroid of data[mid : high+1] (the next bucket plus one).
			// The reference sums x = mid..high one by one; while the total
			// stays below 2^53 every partial sum is an exact integer, so the
			// closed form gives the identical float64. The reference also
			// forces avgY to NaN when a NaN is present; the sum is NaN then
			// anyway, and avgY never reaches the output, so the flag is not
			// needed.
			next := data[mid : high+1]
			cnt := float64(len(next))
			var sumX float64
			if s := uint64(mid+high) * uint64(len(next)) / 2; s < 1<<53 {
				sumX = float64(s)
			} else {
				for x := mid; x <= high; x++ {
					sumX += float64(x)
				}
			}
			var sumY float64
			for _, v := range next {
				sumY += v
			}
			avgX := sumX / cnt
			avgY := sumY / cnt

			// area = |((ax-cx)*(by-ay) - (ax-bx)*(cy-ay)) * 0.5|
			// (ax-bx) and (by-ay) are the same for the whole bucket; computing
			// them once gives identical values.
			ax := float64(prev)
			dxab := ax - avgX
			dyba := avgY - prevY
			maxArea := -1.0
			pick := 0
			for c := low; c < mid; c++ {
				t1 := float64((ax - float64(c)) * dyba)
				t2 := float64(dxab * (data[c] - prevY))
				area := math.Abs(float64(t1-t2) * 0.5)
				if area > maxArea || area != area {
					maxArea = area
					pick = c
				}
			}

			out[i+1] = data[pick]
			prev = pick
			prevY = data[pick]
			low = mid
			mid = high
		}
	}
	out[0] = first
	out[outLen-1] = last
	return out, newFreq, nil
}
