package ccms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// Binary snapshot <from>.bin (cc-backend pkg/metricstore/walCheckpoint.go,
// writeBinarySnapshotFile / writeBinaryLevel), little-endian:
//
//	u32 magic 0xCC5B0001 | i64 from | i64 to | level
//	level: u32 nMetrics, nMetrics × metric, u32 nChildren, nChildren × child
//	metric: u16 nameLen, name, i64 frequency, i64 start, u32 n, n × f32 bits
//	child: u16 nameLen, name, level
//
// NaN slots are f32 NaN. The reference reads the tree to the end of the
// root level and ignores any bytes after it.
const (
	binMagic      = uint32(0xCC5B0001)
	binHeaderSize = 4 + 8 + 8
	minMetricSize = 2 + 8 + 8 + 4
	minChildSize  = 2 + 4 + 4
)

// binVisit receives one series of a snapshot: vals holds n little-endian
// float32 values. scope and the slices alias the file's bytes.
type binVisit func(scope [][]byte, name []byte, freq, start int64, vals []byte)

// binReader decodes b, checking every length against the bytes left.
type binReader struct {
	b     []byte
	off   int
	err   error
	scope [][]byte
	visit binVisit
}

var errShort = errors.New("truncated")

func (r *binReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: "+format, append([]any{r.off}, args...)...)
	}
}

func (r *binReader) left() int { return len(r.b) - r.off }

func (r *binReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.left() {
		r.fail("%s: needs %d bytes, %d left: %w", what, n, r.left(), errShort)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *binReader) u16(what string) int {
	if p := r.take(2, what); p != nil {
		return int(binary.LittleEndian.Uint16(p))
	}
	return 0
}

func (r *binReader) u32(what string) uint32 {
	if p := r.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *binReader) i64(what string) int64 {
	if p := r.take(8, what); p != nil {
		return int64(binary.LittleEndian.Uint64(p))
	}
	return 0
}

// level decodes one level; depth is the number of its scope elements.
func (r *binReader) level(depth int) {
	nm := r.u32("metric count")
	if r.err == nil && uint64(nm) > uint64(r.left()/minMetricSize) {
		r.fail("%d metrics cannot fit in %d bytes", nm, r.left())
	}
	for i := uint32(0); i < nm && r.err == nil; i++ {
		name := r.take(r.u16("metric name length"), "metric name")
		freq := r.i64("frequency")
		start := r.i64("start")
		n := r.u32("value count")
		if r.err == nil && uint64(n) > uint64(r.left()/4) {
			r.fail("metric %q: %d values cannot fit in %d bytes", name, n, r.left())
		}
		vals := r.take(int(n)*4, "values")
		if r.err == nil && r.visit != nil {
			r.visit(r.scope, name, freq, start, vals)
		}
	}
	nc := r.u32("child count")
	if r.err == nil && uint64(nc) > uint64(r.left()/minChildSize) {
		r.fail("%d children cannot fit in %d bytes", nc, r.left())
	}
	if r.err == nil && nc > 0 && depth >= maxDepth {
		r.fail("levels nested deeper than %d", maxDepth)
	}
	for i := uint32(0); i < nc && r.err == nil; i++ {
		name := r.take(r.u16("child name length"), "child name")
		if r.err != nil {
			return
		}
		r.scope = append(r.scope, name)
		r.level(depth + 1)
		r.scope = r.scope[:len(r.scope)-1]
	}
}

// decodeBin checks the header of b and walks its level tree, calling visit
// (if not nil) for every series. It returns the header's from and to and
// the number of bytes after the tree.
func decodeBin(b []byte, visit binVisit) (from, to int64, trailing int, err error) {
	r := &binReader{b: b, visit: visit}
	if len(b) < binHeaderSize {
		return 0, 0, 0, fmt.Errorf("header: %d bytes, want %d: %w", len(b), binHeaderSize, errShort)
	}
	if m := r.u32("magic"); m != binMagic {
		return 0, 0, 0, fmt.Errorf("bad magic 0x%08X (want 0x%08X)", m, binMagic)
	}
	from, to = r.i64("from"), r.i64("to")
	r.level(0)
	return from, to, r.left(), r.err
}

// loadBin loads one .bin file: it is decoded completely once to validate
// it, then again to store its series. It reports whether it was loaded.
func (l *loader) loadBin(path string, cutoff int64) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		l.problemf("%v", err)
		return false
	}
	_, to, trailing, err := decodeBin(b, nil)
	if err != nil {
		l.problemf("corrupt binary snapshot, skipped: %v", err)
		return false
	}
	if to != 0 && to < cutoff {
		return false // the reference skips files ending before the cut-off
	}
	if trailing > 0 {
		l.problemf("%d bytes after the level tree ignored", trailing)
	}
	decodeBin(b, func(scope [][]byte, name []byte, freq, start int64, vals []byte) {
		l.series(scope, name, freq, start, len(vals)/4, func(i int) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(vals[4*i:])))
		})
	})
	return true
}
