package lineproto

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// LineError reports the first bad line of a body. Line is the 1-based
// physical line number in the body (comments, blank lines and continuation
// lines of multi-line string values count). Err says why, in plain words;
// it matches one of the Err* reasons below with errors.Is, or wraps the
// error the Appender returned (e.g. core.ErrInvalidName).
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// Reasons for a bad line, for errors.Is on a *LineError. All of them mean a
// client error (HTTP 400); errors passed through from the Appender keep
// their own identity instead.
var (
	// ErrSyntax: the line is not valid line protocol.
	ErrSyntax = errors.New("syntax error")
	// ErrInvalidValue: a field value is malformed or out of range.
	ErrInvalidValue = errors.New("invalid field value")
	// ErrUnknownField: Native mode got a field other than "value".
	ErrUnknownField = errors.New("unknown field")
	// ErrUnsupportedType: Native mode got a string or boolean value.
	ErrUnsupportedType = errors.New("unsupported value type")
	// ErrInvalidTimestamp: the timestamp is malformed, out of range, or
	// followed by other text.
	ErrInvalidTimestamp = errors.New("invalid timestamp")
	// ErrLineTooLong: a line exceeds Options.MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
)

// reasonError is a message that matches one of the Err* reasons.
type reasonError struct {
	kind error
	msg  string
}

func (e *reasonError) Error() string        { return e.msg }
func (e *reasonError) Is(target error) bool { return target == e.kind }

// syntax converts an error of the lp/v2 decoder. Its line number is
// already relative to the body.
func (d *Decoder) syntax(err error) error {
	var de *lineprotocol.DecodeError
	if !errors.As(err, &de) { // not expected: lp reports syntax errors only
		return d.fail(&reasonError{ErrSyntax, "syntax error: " + err.Error()})
	}
	kind, msg := translate(de.Err.Error())
	return &LineError{
		Line: int(de.Line) + d.lineBase,
		Err:  &reasonError{kind, msg + " (column " + strconv.Itoa(de.Column) + ")"},
	}
}

// translate rewords the lp/v2 messages that would puzzle a user and picks
// the reason. Messages it does not know pass through: they are already
// plain ("expected tag value after tag key \"t\", but none found").
func translate(msg string) (error, string) {
	switch {
	case msg == "field value has unrecognized type":
		return ErrInvalidValue, "invalid field value: expected a number, a boolean (true/false) or a quoted string"
	case msg == "expected field value, found end of input":
		return ErrInvalidValue, "invalid field value: missing value after '='"
	case msg == "empty tag name",
		strings.HasPrefix(msg, "expected tag key or field but found '\\n'"),
		strings.HasPrefix(msg, "expected tag key or field but found '\\r'"):
		// "m" or "m,a=b" alone: the line ends before its fields.
		return ErrSyntax, "syntax error: line ends before its fields (at least one field such as value=1 is required)"
	case msg == "expected field key but none found":
		return ErrSyntax, "syntax error: missing field (expected key=value)"
	case msg == `unexpected text after timestamp ("")`:
		return ErrSyntax, "syntax error: carriage return not followed by a line feed"
	case strings.HasPrefix(msg, "invalid timestamp"), strings.HasPrefix(msg, "unexpected text after timestamp"):
		return ErrInvalidTimestamp, msg
	}
	return ErrSyntax, "syntax error: " + msg
}

// fail wraps the reason for a bad entry with the entry's line number.
func (d *Decoder) fail(err error) error {
	return &LineError{Line: d.lineOfEntry(), Err: err}
}

// Line numbers. The lp/v2 decoder does not tell where an entry starts, but
// it returns tokens without escapes as slices of the body itself, so the
// offset of such a token locates the line. anchor records the first one of
// each entry (normally the measurement) and the latest one overall; the
// line number is only counted when an error needs it.

// anchor records s if it is a slice of the body.
func (d *Decoder) anchor(s []byte) {
	c := cap(s)
	if c == 0 || c > cap(d.body) || &s[:c][c-1] != d.bodyLast {
		return // empty, or unescaped into lp's buffer
	}
	off := cap(d.body) - c
	if d.entryAnchor < 0 {
		d.entryAnchor = off
	}
	d.lastAnchor = off
}

// lineOfEntry returns the physical line on which the current entry starts.
func (d *Decoder) lineOfEntry() int {
	if d.entryAnchor >= 0 {
		return lineAt(d.body, d.entryAnchor)
	}
	// Every token so far had escapes. The entry starts on the first line
	// after the previous entry that is neither blank nor a comment (as lp
	// skips them). This is exact unless the previous entry ended with a
	// multi-line string that also had escapes.
	body, off := d.body, 0
	if d.prevAnchor >= 0 {
		i := bytes.IndexByte(body[d.prevAnchor:], '\n')
		if i < 0 {
			return lineAt(body, d.prevAnchor)
		}
		off = d.prevAnchor + i + 1
	}
	for off < len(body) {
		j := off
		for j < len(body) && body[j] == ' ' {
			j++
		}
		if j == len(body) {
			break
		}
		if c := body[j]; c != '\n' && c != '#' && (c != '\r' || j+1 == len(body) || body[j+1] != '\n') {
			break
		}
		i := bytes.IndexByte(body[j:], '\n')
		if i < 0 {
			break
		}
		off = j + i + 1
	}
	return lineAt(body, off)
}

func lineAt(body []byte, off int) int { return 1 + bytes.Count(body[:off], []byte{'\n'}) }
