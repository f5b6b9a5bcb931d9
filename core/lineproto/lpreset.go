package lineproto

import (
	"reflect"
	"unsafe"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// Reusing an lp/v2 decoder.
//
// lineprotocol.Decoder has no Reset method, and NewDecoderWithBytes
// allocates a 512-byte escape buffer for every body, one allocation per
// request (the Decoder struct itself stays on the stack). To decode without
// any allocation, a Decoder is reset by copying a pristine decoder made by
// NewDecoderWithBytes once (so every field has its constructor value) and
// then setting its two []byte fields: buf, the input, and escBuf, the
// escape buffer, which is our own reused one.
//
// Those fields are unexported, so they are located with reflect once, by
// name and type. If a future lp/v2 version renames or retypes them, the
// fast path turns itself off and every body goes through
// NewDecoderWithBytes again (correct, one allocation per body);
// TestZeroAllocs then fails to point at it.

var (
	lpTemplate = *lineprotocol.NewDecoderWithBytes(nil)
	lpBufOff   uintptr
	lpEscOff   uintptr
	lpFast     = findLPFields()
)

func findLPFields() bool {
	t := reflect.TypeFor[lineprotocol.Decoder]()
	bytesType := reflect.TypeFor[[]byte]()
	buf, ok1 := t.FieldByName("buf")
	esc, ok2 := t.FieldByName("escBuf")
	if !ok1 || !ok2 || buf.Type != bytesType || esc.Type != bytesType ||
		len(buf.Index) != 1 || len(esc.Index) != 1 {
		return false
	}
	lpBufOff, lpEscOff = buf.Offset, esc.Offset
	// Check the assumption that the constructor stores its argument in buf.
	probe := []byte("m v=1")
	d := lineprotocol.NewDecoderWithBytes(probe)
	got := *(*[]byte)(unsafe.Add(unsafe.Pointer(d), lpBufOff))
	return len(got) == len(probe) && cap(got) > 0 && &got[0] == &probe[0]
}

// forceSlowReset disables the fast path (tests compare both paths).
var forceSlowReset = false

// resetLP makes lp a fresh decoder over body, lending it esc as its escape
// buffer when possible.
func resetLP(lp *lineprotocol.Decoder, body, esc []byte) {
	if !lpFast || forceSlowReset {
		*lp = *lineprotocol.NewDecoderWithBytes(body)
		return
	}
	if esc == nil {
		esc = make([]byte, 0, 512)
	}
	*lp = lpTemplate
	*(*[]byte)(unsafe.Add(unsafe.Pointer(lp), lpBufOff)) = body
	*(*[]byte)(unsafe.Add(unsafe.Pointer(lp), lpEscOff)) = esc[:0]
}

// lpEscBuf returns lp's escape buffer (grown, perhaps) for reuse.
func lpEscBuf(lp *lineprotocol.Decoder) ([]byte, bool) {
	if !lpFast || forceSlowReset {
		return nil, false
	}
	return *(*[]byte)(unsafe.Add(unsafe.Pointer(lp), lpEscOff)), true
}
