package native

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/cc-metric-bridge/cc-metric-bridge/native/numfmt"
)

// entry is one APIMetricData of a result row.
type entry struct {
	err           string
	data          []float64
	pad           int // NaNs to prepend to data
	from, to      int64
	resolution    int64
	avg, min, max float64
}

// appendJSON writes e with the reference's key order and number formats:
// data with 3 decimals, statistics with 2, NaN as null; no data key when
// there is no data or withData is false.
func (e *entry) appendJSON(dst []byte, withData bool) []byte {
	dst = append(dst, '{')
	if e.err != "" {
		dst = append(dst, `"error":`...)
		dst = append(dst, quote(e.err)...)
		dst = append(dst, ',')
	}
	if withData && len(e.data)+e.pad > 0 {
		// Room for every value up front: numfmt's fast path wants spare
		// capacity, and the row grows once instead of many times.
		dst = slices.Grow(dst, 5*e.pad+16*len(e.data)+64)
		dst = append(dst, `"data":[`...)
		for i := 0; i < e.pad; i++ {
			dst = append(dst, "null,"...)
		}
		for _, v := range e.data {
			dst = numfmt.AppendFixed(dst, v, 3)
			dst = append(dst, ',')
		}
		dst[len(dst)-1] = ']'
		dst = append(dst, ',')
	}
	dst = append(dst, `"from":`...)
	dst = strconv.AppendInt(dst, e.from, 10)
	dst = append(dst, `,"to":`...)
	dst = strconv.AppendInt(dst, e.to, 10)
	dst = append(dst, `,"resolution":`...)
	dst = strconv.AppendInt(dst, e.resolution, 10)
	dst = append(dst, `,"avg":`...)
	dst = numfmt.AppendFixed(dst, e.avg, 2)
	dst = append(dst, `,"min":`...)
	dst = numfmt.AppendFixed(dst, e.min, 2)
	dst = append(dst, `,"max":`...)
	dst = numfmt.AppendFixed(dst, e.max, 2)
	return append(dst, '}')
}

// quote encodes s as a JSON string the way encoding/json does (with
// <, > and & escaped), so error texts match the reference byte for byte.
func quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
