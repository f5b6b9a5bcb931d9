package influx

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

// ingestResult sums what decoding one body did.
type ingestResult struct {
	stats lineproto.Stats
	// bad counts lines the parser rejected; dropped counts parsed lines the
	// store rejected (invalid names, series limit): InfluxDB's "dropped".
	bad, dropped int
	// firstLine is the 1-based number of the first rejected line, 0 if none.
	firstLine int
	// msgs holds one message per rejected line, joined by '\n', for the
	// first MaxReportedErrors of them.
	msgs  []byte
	shown int
}

func (r *ingestResult) rejected() int { return r.bad + r.dropped }

// ingest decodes every line of body and passes its samples to app. Unlike a
// single lineproto Decode call, which stops at the first bad line, it keeps
// going: after a bad line it decodes the rest of the body again from the
// next physical line, so that every good line is stored (InfluxDB 1.x
// semantics) and every bad line is counted. Lines longer than maxLine are
// found in one pass up front and rejected the same way, so that the work
// stays linear in the body size however many lines are bad. Errors other
// than bad lines (none are expected: they would be invalid options) are
// returned.
func ingest(dec *lineproto.Decoder, body []byte, opt lineproto.Options, maxLine int, app lineproto.Appender, res *ingestResult) error {
	line := 1 // number of the first line of rest
	rest := body
	for len(rest) > 0 {
		seg, long, next, n := splitAtLongLine(rest, maxLine)
		if err := ingestSegment(dec, seg, line, opt, app, res); err != nil {
			return err
		}
		if long == nil {
			break
		}
		line += n
		res.reject(line, long, true, fmt.Errorf("%w: line exceeds %d bytes", lineproto.ErrLineTooLong, maxLine))
		line++
		rest = next
	}
	return nil
}

// ingestSegment decodes seg, whose lines are known to be short enough;
// line is the number of its first line in the body.
func ingestSegment(dec *lineproto.Decoder, seg []byte, line int, opt lineproto.Options, app lineproto.Appender, res *ingestResult) error {
	for len(seg) > 0 {
		// No line of seg exceeds the limit: setting it to len(seg) spares
		// the decoder its own scan for long lines, which would otherwise
		// rescan the rest of the body after every bad line.
		opt.MaxLineBytes = len(seg)
		st, err := dec.Decode(seg, opt, app)
		res.stats.Lines += st.Lines
		res.stats.Samples += st.Samples
		res.stats.Skipped += st.Skipped
		if err == nil {
			return nil
		}
		var le *lineproto.LineError
		if !errors.As(err, &le) || le.Line < 1 {
			return err
		}
		text, next := nthLine(seg, le.Line)
		res.reject(line+le.Line-1, text, isParseError(le.Err), le.Err)
		line += le.Line
		seg = seg[next:]
	}
	return nil
}

// isParseError tells a line the parser rejected from one the store
// rejected (lineproto passes the Appender's errors through).
func isParseError(err error) bool {
	for _, reason := range []error{lineproto.ErrSyntax, lineproto.ErrInvalidValue, lineproto.ErrInvalidTimestamp,
		lineproto.ErrLineTooLong, lineproto.ErrUnknownField, lineproto.ErrUnsupportedType} {
		if errors.Is(err, reason) {
			return true
		}
	}
	return false
}

// reject records one rejected line.
func (r *ingestResult) reject(line int, text []byte, parse bool, reason error) {
	if parse {
		r.bad++
	} else {
		r.dropped++
	}
	if r.firstLine == 0 {
		r.firstLine = line
	}
	if r.shown >= MaxReportedErrors {
		return
	}
	r.shown++
	if len(r.msgs) > 0 {
		r.msgs = append(r.msgs, '\n')
	}
	if parse {
		r.msgs = append(r.msgs, "unable to parse '"...)
	} else {
		r.msgs = append(r.msgs, "unable to store '"...)
	}
	r.msgs = appendClipped(r.msgs, text, MaxQuotedLineBytes)
	r.msgs = append(r.msgs, "': "...)
	r.msgs = append(r.msgs, reason.Error()...)
}

// message returns the reported messages plus a note on unreported ones.
func (r *ingestResult) message() string {
	if n := r.rejected() - r.shown; n > 0 {
		return string(r.msgs) + "\n(" + strconv.Itoa(n) + " more rejected lines not shown)"
	}
	return string(r.msgs)
}

// splitAtLongLine returns the lines of b before the first line longer than
// max bytes (line ending excluded), that line, the rest after it, and the
// number of lines before it. long is nil when there is none; then seg is b.
func splitAtLongLine(b []byte, max int) (seg, long, rest []byte, n int) {
	if len(b) <= max {
		return b, nil, nil, 0
	}
	off := 0
	for off < len(b) {
		i := bytes.IndexByte(b[off:], '\n')
		end, next := off+i, off+i+1
		if i < 0 {
			end, next = len(b), len(b)
		}
		l := end - off
		if l > 0 && end < len(b) && b[end-1] == '\r' {
			l--
		}
		if l > max {
			return b[:off], b[off:end], b[next:], n
		}
		off = next
		n++
	}
	return b, nil, nil, 0
}

// nthLine returns the n-th (1-based) line of b without its line ending,
// and the offset of the line after it (len(b) if none).
func nthLine(b []byte, n int) (text []byte, next int) {
	off := 0
	for ; n > 1; n-- {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return nil, len(b)
		}
		off += i + 1
	}
	i := bytes.IndexByte(b[off:], '\n')
	if i < 0 {
		return b[off:], len(b)
	}
	return bytes.TrimSuffix(b[off:off+i], []byte{'\r'}), off + i + 1
}

// appendClipped appends at most max bytes of s, cut at a rune boundary and
// marked with "..." when clipped.
func appendClipped(dst, s []byte, max int) []byte {
	if len(s) <= max {
		return append(dst, s...)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	dst = append(dst, s[:cut]...)
	return append(dst, "..."...)
}

// discard accepts samples without storing them: v2 validates a whole body
// with it before storing anything.
type discard struct{}

func (discard) Append(*core.Key, int64, float64) error { return nil }
