package ccms

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// current.wal (cc-backend pkg/metricstore/walCheckpoint.go,
// writeWALRecordDirect / readWALRecord / parseWALPayload), little-endian:
//
//	u32 file magic 0xCC1DA701, then records of
//	u32 magic 0xCC1DA7A1 | u32 payloadLen | payload | u32 CRC-32 (IEEE) of payload
//	payload: i64 ts (s) | u16 len, metric | u8 count | count × (u8 len, name) | f32 bits
//
// Cluster and host are the directory's; the selector names the levels below
// the host. The reader rejects payloads over 1 MiB and ignores payload bytes
// after the value.
const (
	walFileMagic  = uint32(0xCC1DA701)
	walRecMagic   = uint32(0xCC1DA7A1)
	walName       = "current.wal"
	maxWALPayload = 1 << 20
	minWALPayload = 8 + 2 + 1 + 4
	walRecOverhd  = 4 + 4 + 4
)

var walRecMagicBytes = binary.LittleEndian.AppendUint32(nil, walRecMagic)

// walStream reads a WAL file through a buffer no larger than the file and
// no larger than the largest valid record.
type walStream struct {
	r    *bufio.Reader
	off  int64 // bytes consumed
	size int64 // file size
}

func (w *walStream) discard(n int) {
	d, _ := w.r.Discard(n)
	w.off += int64(d)
}

// resync skips the byte at the current offset and everything up to the
// next record magic. It returns the bytes skipped and whether a magic was
// found.
func (w *walStream) resync() (int64, bool) {
	start := w.off
	w.discard(1)
	for {
		buf, _ := w.r.Peek(w.r.Size())
		if i := bytes.Index(buf, walRecMagicBytes); i >= 0 {
			w.discard(i)
			return w.off - start, true
		}
		keep := len(walRecMagicBytes) - 1 // a magic may straddle the buffer end
		if len(buf) <= keep {
			w.discard(len(buf))
			return w.off - start, false
		}
		w.discard(len(buf) - keep)
	}
}

// replayWAL replays the host's current.wal; it reports whether the file had
// a valid header and returns the samples stored.
func (j *hostJob) replayWAL(st *core.Store, app *core.Appender, cutoff int64) (bool, int) {
	l := &loader{job: j, st: st, app: app, file: walName}
	ok := l.replayWAL(filepath.Join(j.dir, walName), cutoff)
	l.flush()
	return ok, l.samples
}

func (l *loader) replayWAL(path string, cutoff int64) bool {
	f, err := os.Open(path)
	if err != nil {
		l.problemf("%v", err)
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		l.problemf("%v", err)
		return false
	}
	if fi.Size() == 0 {
		return true // created, nothing written yet
	}
	w := &walStream{size: fi.Size()}
	w.r = bufio.NewReaderSize(f, int(min(w.size, maxWALPayload+walRecOverhd)))
	hdr, _ := w.r.Peek(4)
	if len(hdr) < 4 {
		l.problemf("truncated file header (%d bytes), skipped", len(hdr))
		return false
	}
	if m := binary.LittleEndian.Uint32(hdr); m != walFileMagic {
		l.problemf("bad file magic 0x%08X (want 0x%08X), skipped", m, walFileMagic)
		return false
	}
	w.discard(4)
	var scope [][]byte
	for !l.job.bad {
		start := w.off
		hdr, _ := w.r.Peek(8)
		if len(hdr) == 0 {
			return true
		}
		var reason string
		plen := 0
		switch {
		case len(hdr) < 8:
			reason = "truncated record header"
		case binary.LittleEndian.Uint32(hdr) != walRecMagic:
			reason = fmt.Sprintf("bad record magic 0x%08X", binary.LittleEndian.Uint32(hdr))
		default:
			n := binary.LittleEndian.Uint32(hdr[4:])
			switch {
			case n > maxWALPayload:
				reason = fmt.Sprintf("payload length %d over %d", n, maxWALPayload)
			case int64(n)+walRecOverhd > w.size-w.off:
				reason = fmt.Sprintf("record of %d bytes runs past the end of the file (%d bytes left)",
					int64(n)+walRecOverhd, w.size-w.off)
			default:
				plen = int(n)
			}
		}
		if reason == "" {
			rec, _ := w.r.Peek(walRecOverhd + plen)
			switch {
			case len(rec) < walRecOverhd+plen:
				reason = "truncated record"
			case crc32.ChecksumIEEE(rec[8:8+plen]) != binary.LittleEndian.Uint32(rec[8+plen:]):
				reason = "CRC mismatch"
			default:
				var err error
				if scope, err = l.walRecord(rec[8:8+plen], scope[:0], cutoff); err != nil {
					l.problemf("offset %d: malformed record skipped: %v", start, err)
				}
				w.discard(walRecOverhd + plen)
				continue
			}
		}
		skipped, found := w.resync()
		if !found {
			l.problemf("offset %d: %s; the last %d bytes ignored (torn tail)", start, reason, skipped)
			return true
		}
		l.problemf("offset %d: %s; skipped %d bytes to the next record", start, reason, skipped)
	}
	return false // the host was refused
}

var errPayload = errors.New("payload")

// walRecord decodes one payload (its CRC checked) and stores the sample
// unless it is older than the cut-off or NaN. It returns the scope buffer
// for reuse.
func (l *loader) walRecord(p []byte, scope [][]byte, cutoff int64) ([][]byte, error) {
	if len(p) < minWALPayload {
		return scope, fmt.Errorf("%w of %d bytes too short", errPayload, len(p))
	}
	ts := int64(binary.LittleEndian.Uint64(p))
	n := int(binary.LittleEndian.Uint16(p[8:]))
	p = p[10:]
	if n > len(p) {
		return scope, fmt.Errorf("metric name of %d bytes overflows the %w", n, errPayload)
	}
	name := p[:n]
	p = p[n:]
	if len(p) < 1 {
		return scope, fmt.Errorf("selector count overflows the %w", errPayload)
	}
	count := int(p[0])
	p = p[1:]
	for i := 0; i < count; i++ {
		if len(p) < 1 || int(p[0]) > len(p)-1 {
			return scope, fmt.Errorf("selector %d overflows the %w", i, errPayload)
		}
		scope = append(scope, p[1:1+int(p[0])])
		p = p[1+int(p[0]):]
	}
	if len(p) < 4 {
		return scope, fmt.Errorf("value overflows the %w", errPayload)
	}
	v := float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
	if ts < cutoff || math.IsNaN(v) {
		return scope, nil
	}
	if ts > maxSeconds || ts < -maxSeconds {
		return scope, fmt.Errorf("timestamp %d out of range", ts)
	}
	l.setKey(scope, name)
	switch err := l.app.Append(&l.key, ts*1000, v); {
	case err == nil:
		l.samples++
	case errors.Is(err, core.ErrUnknownMetric):
		l.skipStrict(name)
	case hostNameError(err):
		l.job.refuse(err)
	default:
		l.problemf("%s: record skipped: %v", seriesName(scope, name), err)
	}
	return scope, nil
}
