package promapi

import (
	"math"
	"strconv"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// The encoder writes the bytes Prometheus' JSON codec writes (jsoniter with
// the encoders of web/api/v1/json_codec.go and util/jsonutil): timestamps as
// numbers of seconds with up to three decimals (1435781451.050), sample
// values as strings ("NaN", "+Inf", "-Inf"; 'e' notation outside
// [1e-6, 1e21)), label sets as objects in label order, each string escaped
// the way its upstream encoder escapes it (see stringMode). It appends to
// one reused buffer instead of reflecting.

// appendTimestamp writes t (ms) as seconds: 1435781451.781, 1435781451.05, 4.
func appendTimestamp(b []byte, t int64) []byte {
	if t < 0 {
		b = append(b, '-')
		if t == math.MinInt64 {
			// -t overflows; Prometheus prints garbage here, we print the value.
			return append(b, "9223372036854775.808"...)
		}
		t = -t
	}
	b = strconv.AppendInt(b, t/1000, 10)
	if f := t % 1000; f != 0 {
		b = append(b, '.')
		if f < 100 {
			b = append(b, '0')
		}
		if f < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, f, 10)
	}
	return b
}

// appendSampleValue writes a sample value as a JSON string.
func appendSampleValue(b []byte, f float64) []byte {
	b = append(b, '"')
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	return append(b, '"')
}

// appendFloatNumber writes f as encoding/json writes a float64 number
// (used where Prometheus marshals float64(t)/1000 with encoding/json: the
// timestamps of scalar and string results).
func appendFloatNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		// encoding/json fails on these; only absurd timestamps get here.
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// stringMode selects one of the three string escapings Prometheus' answers
// contain.
type stringMode uint8

const (
	// escapeHTML is jsoniter's standard-library configuration, used for
	// every string Prometheus marshals by reflection (errors, warnings,
	// label name and value lists, metadata): <, >, & and U+2028/U+2029
	// escaped, invalid UTF-8 replaced by U+FFFD, \b and \f as \u0008 and
	// \u000c.
	escapeHTML stringMode = iota
	// escapeLabel is jsoniter's Stream.WriteString, used by the label set
	// encoder of web/api/v1: only quotes, backslashes and control
	// characters are escaped; all other bytes pass unchanged.
	escapeLabel
	// escapeStdlib is encoding/json, used by promql.String.MarshalJSON: as
	// escapeHTML, but \b and \f in their short forms.
	escapeStdlib
)

// appendString writes s as jsoniter's standard-library configuration does.
func appendString(b []byte, s string) []byte { return appendJSONString(b, s, escapeHTML) }

func appendJSONString(b []byte, s string, mode stringMode) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (mode == escapeLabel || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				if mode == escapeStdlib {
					b = append(b, '\\', 'b')
				} else {
					b = append(b, `\u0008`...)
				}
			case '\f':
				if mode == escapeStdlib {
					b = append(b, '\\', 'f')
				} else {
					b = append(b, `\u000c`...)
				}
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		if mode == escapeLabel {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendLabels writes a label set as an object.
func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, l.Name, escapeLabel)
		b = append(b, ':')
		b = appendJSONString(b, l.Value, escapeLabel)
	})
	return append(b, '}')
}

// appendStrings writes a string array; nil is written as [].
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendFPoint writes [ts,"value"].
func appendFPoint(b []byte, t int64, f float64) []byte {
	b = append(b, '[')
	b = appendTimestamp(b, t)
	b = append(b, ',')
	b = appendSampleValue(b, f)
	return append(b, ']')
}

// appendValue writes a query result: the "result" member's value. A float
// store never produces histograms, but the engine can (histogram functions
// over classic buckets return floats; nothing here yields histograms), so
// histogram points are written in the upstream shape anyway for safety.
func appendValue(b []byte, v any, flush flushFunc) []byte {
	switch v := v.(type) {
	case promql.Matrix:
		b = append(b, '[')
		for i, s := range v {
			if len(b) >= flushBytes && flush != nil {
				b = flush(b)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			if len(s.Floats) > 0 {
				b = append(b, `,"values":[`...)
				for j, p := range s.Floats {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendFPoint(b, p.T, p.F)
					if j&1023 == 1023 && len(b) >= flushBytes && flush != nil {
						b = flush(b)
					}
				}
				b = append(b, ']')
			}
			if len(s.Histograms) > 0 {
				b = append(b, `,"histograms":[`...)
				for j, p := range s.Histograms {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, '[')
					b = appendTimestamp(b, p.T)
					b = append(b, ',')
					b = appendHistogram(b, p.H)
					b = append(b, ']')
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		return append(b, ']')
	case promql.Vector:
		b = append(b, '[')
		for i, s := range v {
			if len(b) >= flushBytes && flush != nil {
				b = flush(b)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Metric)
			if s.H == nil {
				b = append(b, `,"value":`...)
				b = appendFPoint(b, s.T, s.F)
			} else {
				b = append(b, `,"histogram":[`...)
				b = appendTimestamp(b, s.T)
				b = append(b, ',')
				b = appendHistogram(b, s.H)
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		return append(b, ']')
	case promql.Scalar:
		// promql.Scalar.MarshalJSON: encoding/json of [float64(T)/1000, FormatFloat(V,'f',-1)].
		b = append(b, '[')
		b = appendFloatNumber(b, float64(v.T)/1000)
		b = append(b, ',', '"')
		b = strconv.AppendFloat(b, v.V, 'f', -1, 64)
		return append(b, '"', ']')
	case promql.String:
		// promql.String.MarshalJSON: encoding/json of [float64(T)/1000, V].
		b = append(b, '[')
		b = appendFloatNumber(b, float64(v.T)/1000)
		b = append(b, ',')
		b = appendJSONString(b, v.V, escapeStdlib)
		return append(b, ']')
	}
	return append(b, "null"...)
}

// appendHistogram writes a histogram with Prometheus' own encoder.
func appendHistogram(b []byte, h *histogram.FloatHistogram) []byte {
	cfg := jsoniter.ConfigCompatibleWithStandardLibrary
	s := cfg.BorrowStream(nil)
	defer cfg.ReturnStream(s)
	s.SetBuffer(b)
	jsonutil.MarshalHistogram(h, s)
	return s.Buffer()
}
