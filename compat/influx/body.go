package influx

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Body read failures; the handlers map them to each API's error shape.
var (
	// errTooLarge: the body (compressed or not) exceeds MaxRequestBytes.
	errTooLarge = errors.New("request body too large")
	// errGzip: the body is declared gzip but is not valid gzip.
	errGzip = errors.New("invalid gzip body")
	// errEncoding: a Content-Encoding other than gzip or identity.
	errEncoding = errors.New("unsupported Content-Encoding")
	// errRead: the client's body could not be read (connection closed).
	errRead = errors.New("cannot read request body")
)

// gzipReader pairs a reusable gzip reader with the buffered reader it needs
// (gzip.Reader.Reset would otherwise allocate a bufio.Reader per request).
type gzipReader struct {
	br *bufio.Reader
	zr gzip.Reader
}

// readBody reads the request body, decompressing gzip, into a pooled buffer
// that the caller returns with releaseBody. Both the body as sent and the
// decompressed body are bounded by MaxRequestBytes: the buffer never grows
// much beyond the limit, whatever the client sends.
func (a *API) readBody(c *gin.Context) (*bytes.Buffer, error) {
	b := a.bufs.Get().(*bytes.Buffer)
	b.Reset()
	req := c.Request
	limit := a.opt.MaxRequestBytes
	if req.ContentLength > limit {
		return b, errTooLarge
	}
	gz := false
	switch enc := strings.TrimSpace(req.Header.Get("Content-Encoding")); strings.ToLower(enc) {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return b, fmt.Errorf("%w %q (use gzip or identity)", errEncoding, enc)
	}
	// The body as sent is bounded too, so that a chunked body cannot keep
	// the handler reading (and inflating) past the limit.
	raw := http.MaxBytesReader(c.Writer, req.Body, limit)
	if !gz {
		if req.ContentLength > 0 {
			b.Grow(int(req.ContentLength))
		}
		_, err := b.ReadFrom(raw)
		return b, classifyReadError(err, false)
	}

	g := a.gzips.Get().(*gzipReader)
	defer a.gzips.Put(g)
	if g.br == nil {
		g.br = bufio.NewReaderSize(raw, 32<<10)
	} else {
		g.br.Reset(raw)
	}
	defer g.br.Reset(nil) // drop the reference to the request body
	if err := g.zr.Reset(g.br); err != nil {
		if errors.Is(err, io.EOF) {
			return b, fmt.Errorf("%w: empty body", errGzip)
		}
		return b, classifyReadError(err, true)
	}
	_, err := b.ReadFrom(io.LimitReader(&g.zr, limit+1))
	if err == nil && int64(b.Len()) > limit {
		err = errTooLarge
	}
	return b, classifyReadError(err, true)
}

// classifyReadError maps an error of reading (and, with gz, inflating) a
// body to one of the body errors, keeping its text.
func classifyReadError(err error, gz bool) error {
	if err == nil {
		return nil
	}
	var maxErr *http.MaxBytesError
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, errTooLarge), errors.As(err, &maxErr):
		return errTooLarge
	case gz && (errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.As(err, &corrupt) || errors.Is(err, io.ErrUnexpectedEOF)):
		// A truncated gzip stream ends in ErrUnexpectedEOF.
		return fmt.Errorf("%w: %w", errGzip, err)
	}
	return fmt.Errorf("%w: %w", errRead, err)
}

// releaseBody returns a body buffer to the pool unless it grew huge.
func (a *API) releaseBody(b *bytes.Buffer) {
	if b.Cap() <= maxKeepBufferBytes {
		a.bufs.Put(b)
	}
}
