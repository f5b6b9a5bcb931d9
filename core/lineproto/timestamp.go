package lineproto

import (
	"fmt"
	"math"
)

// Precision is the unit of timestamps in Influx mode.
type Precision uint8

// The zero value is Nanosecond, InfluxDB's default.
const (
	Nanosecond Precision = iota
	Microsecond
	Millisecond
	Second
	Minute
	Hour
)

// ParsePrecision parses the precision query parameter of the Influx write
// APIs: "" (nanoseconds), "n"/"ns", "u"/"us"/"µ"/"µs", "ms", "s", "m", "h".
// v1 clients use n, u, ms, s, m, h; v2 clients ns, us, ms, s.
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "", "n", "ns":
		return Nanosecond, nil
	case "u", "us", "µ", "µs":
		return Microsecond, nil
	case "ms":
		return Millisecond, nil
	case "s":
		return Second, nil
	case "m":
		return Minute, nil
	case "h":
		return Hour, nil
	}
	return 0, fmt.Errorf("invalid precision %q (valid: ns, us, ms, s, m, h)", s)
}

func (p Precision) String() string {
	switch p {
	case Nanosecond:
		return "ns"
	case Microsecond:
		return "us"
	case Millisecond:
		return "ms"
	case Second:
		return "s"
	case Minute:
		return "m"
	case Hour:
		return "h"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// millisPer returns how many milliseconds one unit is (0 for sub-ms units).
func (p Precision) millisPer() int64 {
	switch p {
	case Second:
		return 1000
	case Minute:
		return 60 * 1000
	case Hour:
		return 3600 * 1000
	}
	return 0
}

// toMillis converts ts in unit p to Unix milliseconds, truncating sub-ms
// parts (towards the past). It reports false on overflow.
func (p Precision) toMillis(ts int64) (int64, bool) {
	switch p {
	case Nanosecond:
		return floorDiv(ts, 1e6), true
	case Microsecond:
		return floorDiv(ts, 1e3), true
	case Millisecond:
		return ts, true
	}
	m := p.millisPer()
	if ts > math.MaxInt64/m || ts < math.MinInt64/m {
		return 0, false
	}
	return ts * m, true
}

// truncate rounds ms down to a whole unit of p, as InfluxDB does with the
// receive time of lines without a timestamp.
func (p Precision) truncate(ms int64) int64 {
	if m := p.millisPer(); m > 0 {
		return floorDiv(ms, m) * m
	}
	return ms
}

// nativeMillis converts a Native-mode timestamp to Unix milliseconds, taking
// its unit from its magnitude: below 1e11 seconds (until the year 5138),
// below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
func nativeMillis(ts int64) int64 {
	switch {
	case ts > -1e11 && ts < 1e11:
		return ts * 1000
	case ts > -1e14 && ts < 1e14:
		return ts
	case ts > -1e17 && ts < 1e17:
		return floorDiv(ts, 1e3)
	}
	return floorDiv(ts, 1e6)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// parseTimestamp parses a decimal int64 (the lp/v2 decoder only checks that
// the bytes are digits or '-').
func parseTimestamp(b []byte) (int64, error) {
	s := b
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, &reasonError{ErrInvalidTimestamp, fmt.Sprintf("invalid timestamp %q", b)}
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, &reasonError{ErrInvalidTimestamp, fmt.Sprintf("invalid timestamp %q", b)}
		}
		d := uint64(c - '0')
		if u > (limit-d)/10 {
			return 0, &reasonError{ErrInvalidTimestamp,
				fmt.Sprintf("timestamp %s out of range (64-bit integer)", b)}
		}
		u = u*10 + d
	}
	if neg {
		return int64(-u), nil // -(1<<63) wraps to MinInt64
	}
	return int64(u), nil
}
