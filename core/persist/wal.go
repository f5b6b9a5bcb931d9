// Package persist makes the store durable: a write-ahead log of every
// acknowledged batch, lossless per-host snapshots, and restore at start-up.
package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// WAL file layout: the magic, then records of
//
//	u32 payload length | u32 CRC-32C of type+payload | u8 type | payload
//
// A series record (uvarint id, metric name, uvarint frequency, u8
// aggregation, canonical key; strings as uvarint length + bytes) defines an
// id for the rest of its segment; a samples record is core's sample encoding.
const (
	walMagic      = "CCMBWAL1"
	recSeries     = 1
	recSamples    = 2
	recHeaderSize = 9
	// MaxRecordBytes bounds one record when reading: larger lengths are
	// corruption, not data (the largest request body is far smaller).
	MaxRecordBytes = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every checksum or framing failure.
var ErrCorrupt = errors.New("corrupt data")

// WAL is the write-ahead log: a directory of numbered segments.
type WAL struct {
	dir   string
	fsync time.Duration // 0: fsync on every write

	mu     sync.Mutex
	f      *os.File
	seg    uint64 // current segment number
	size   int64
	buf    []byte
	dirty  bool
	closed bool

	stop chan struct{}
	done chan struct{}
}

// OpenWAL starts a new segment after the existing ones in dir. fsync is the
// interval of background fsyncs; 0 syncs every write before it returns.
func OpenWAL(dir string, fsync time.Duration) (*WAL, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create WAL directory: %w", err)
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	w := &WAL{dir: dir, fsync: fsync, stop: make(chan struct{}), done: make(chan struct{})}
	next := uint64(1)
	if len(segs) > 0 {
		next = segs[len(segs)-1] + 1
	}
	if err := w.open(next); err != nil {
		return nil, err
	}
	go w.syncLoop()
	return w, nil
}

func segmentPath(dir string, seg uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%010d.wal", seg))
}

// segments lists the segment numbers in dir, ascending.
func segments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot list WAL directory: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".wal")
		if !ok || e.IsDir() {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (w *WAL) open(seg uint64) error {
	f, err := os.OpenFile(segmentPath(w.dir, seg), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create WAL segment: %w", err)
	}
	if _, err := f.Write([]byte(walMagic)); err != nil {
		f.Close()
		return fmt.Errorf("cannot write WAL segment: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f, w.seg, w.size = f, seg, int64(len(walMagic))
	return nil
}

// Log implements core.WAL: it writes the definitions of series new to this
// segment and the samples in one write(2), and fsyncs in "always" mode.
func (w *WAL) Log(series []*core.Series, samples []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("WAL is closed")
	}
	mark := w.seg + 1
	buf := w.buf[:0]
	var fresh []*core.Series
	for _, s := range series {
		if s.WALSegment() == mark {
			continue
		}
		buf = appendRecord(buf, recSeries, func(b []byte) []byte { return appendSeriesDef(b, s) })
		s.SetWALSegment(mark)
		fresh = append(fresh, s)
	}
	buf = appendRecord(buf, recSamples, func(b []byte) []byte { return append(b, samples...) })
	w.buf = buf[:0]
	if cap(w.buf) > 16<<20 {
		w.buf = nil
	}
	_, err := w.f.Write(buf)
	if err == nil && w.fsync == 0 {
		err = w.f.Sync()
	}
	if err != nil {
		// The definitions may not have reached the file: forget them so
		// that the next write defines the series again.
		for _, s := range fresh {
			s.SetWALSegment(0)
		}
		return fmt.Errorf("cannot write WAL: %w", err)
	}
	w.size += int64(len(buf))
	w.dirty = true
	return nil
}

func appendSeriesDef(b []byte, s *core.Series) []byte {
	m := s.Metric()
	b = binary.AppendUvarint(b, s.ID())
	b = appendStr(b, m.Name)
	b = binary.AppendUvarint(b, uint64(m.Frequency))
	b = append(b, byte(m.Aggregation))
	return appendStr(b, s.Key())
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendRecord frames the payload written by fill.
func appendRecord(b []byte, typ byte, fill func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, recHeaderSize)...)
	b[start+8] = typ
	b = fill(b)
	payload := b[start+recHeaderSize:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], castagnoli))
	return b
}

// Size returns the bytes written to the current segment.
func (w *WAL) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Rotate closes the current segment (fsynced) and starts the next one. It
// returns the number of the segment it closed: after a snapshot that began
// after Rotate has completed, segments up to it can be removed.
func (w *WAL) Rotate() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev := w.seg
	if err := w.f.Sync(); err != nil {
		return 0, fmt.Errorf("cannot sync WAL: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return 0, fmt.Errorf("cannot close WAL segment: %w", err)
	}
	w.dirty = false
	if err := w.open(prev + 1); err != nil {
		return 0, err
	}
	return prev, nil
}

// Truncate removes the segments numbered up to and including seg.
func (w *WAL) Truncate(seg uint64) error {
	segs, err := segments(w.dir)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s <= seg {
			if err := os.Remove(segmentPath(w.dir, s)); err != nil {
				return fmt.Errorf("cannot remove WAL segment: %w", err)
			}
		}
	}
	return syncDir(w.dir)
}

func (w *WAL) syncLoop() {
	defer close(w.done)
	if w.fsync <= 0 {
		<-w.stop
		return
	}
	t := time.NewTicker(w.fsync)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Sync()
		}
	}
}

// Sync flushes the current segment to stable storage. The fsync runs
// outside the lock, so that writers are not stalled behind a slow disk; a
// segment closed meanwhile was synced by Rotate or Close.
func (w *WAL) Sync() error {
	w.mu.Lock()
	if w.closed || !w.dirty {
		w.mu.Unlock()
		return nil
	}
	w.dirty = false
	f := w.f
	w.mu.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// Close syncs and closes the WAL; it is idempotent.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return err
}

// ReplayStats reports what a replay read.
type ReplayStats struct {
	Segments, Records, Samples int
	// Problems lists corrupt or torn parts that were skipped.
	Problems []string
}

// Replay applies every segment in dir, in order, to st (before a WAL is
// attached to st). A torn or corrupt record ends its segment: it is
// reported and the next segment is read.
func Replay(dir string, st *core.Store) (ReplayStats, error) {
	var stats ReplayStats
	segs, err := segments(dir)
	if err != nil {
		return stats, err
	}
	for _, seg := range segs {
		data, err := os.ReadFile(segmentPath(dir, seg))
		if err != nil {
			return stats, fmt.Errorf("cannot read WAL segment: %w", err)
		}
		stats.Segments++
		if err := replaySegment(data, st, &stats); err != nil {
			stats.Problems = append(stats.Problems, fmt.Sprintf("segment %d: %v", seg, err))
		}
	}
	return stats, nil
}

func replaySegment(data []byte, st *core.Store, stats *ReplayStats) error {
	if !strings.HasPrefix(string(data), walMagic) {
		if len(data) < len(walMagic) {
			return fmt.Errorf("%w: torn header", ErrCorrupt)
		}
		return fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	data = data[len(walMagic):]
	keys := map[uint64]*core.Key{}
	app := st.Appender()
	defer app.Commit()
	for off := len(walMagic); len(data) > 0; {
		typ, payload, n, err := readRecord(data)
		if err != nil {
			return fmt.Errorf("at offset %d: %w", off, err)
		}
		data, off = data[n:], off+n
		stats.Records++
		switch typ {
		case recSeries:
			id, k, err := parseSeriesDef(payload, st)
			if err != nil {
				return fmt.Errorf("at offset %d: %w", off, err)
			}
			keys[id] = k
		case recSamples:
			for p := payload; len(p) > 0; {
				id, t, v, rest, err := core.WALSample(p)
				if err != nil {
					return fmt.Errorf("at offset %d: %w: %w", off, ErrCorrupt, err)
				}
				p = rest
				k := keys[id]
				if k == nil {
					return fmt.Errorf("at offset %d: %w: sample of undefined series %d", off, ErrCorrupt, id)
				}
				if err := app.Append(k, t, v); err != nil {
					return fmt.Errorf("at offset %d: %w", off, err)
				}
				stats.Samples++
			}
		default:
			return fmt.Errorf("at offset %d: %w: unknown record type %d", off, ErrCorrupt, typ)
		}
	}
	return nil
}

// readRecord returns the first record of b and its framed size.
func readRecord(b []byte) (typ byte, payload []byte, n int, err error) {
	if len(b) < recHeaderSize {
		return 0, nil, 0, fmt.Errorf("%w: torn record header", ErrCorrupt)
	}
	size := binary.LittleEndian.Uint32(b)
	if size > MaxRecordBytes || int64(size) > int64(len(b)-recHeaderSize) {
		return 0, nil, 0, fmt.Errorf("%w: torn or oversized record (%d bytes)", ErrCorrupt, size)
	}
	n = recHeaderSize + int(size)
	if crc32.Checksum(b[8:n], castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, nil, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return b[8], b[recHeaderSize:n], n, nil
}

func parseSeriesDef(p []byte, st *core.Store) (uint64, *core.Key, error) {
	id, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: series id", ErrCorrupt)
	}
	p = p[n:]
	name, p, ok := readStr(p)
	freq, n := binary.Uvarint(p)
	if !ok || n <= 0 || freq == 0 || freq > 1<<40 || len(p) < n+1 || p[n] > byte(core.AggAvg) {
		return 0, nil, fmt.Errorf("%w: series metric", ErrCorrupt)
	}
	agg := core.Aggregation(p[n])
	key, rest, ok := readStr(p[n+1:])
	if !ok || len(rest) != 0 {
		return 0, nil, fmt.Errorf("%w: series key", ErrCorrupt)
	}
	k := new(core.Key)
	if err := core.ParseKey([]byte(key), k); err != nil || string(k.Metric) != name {
		return 0, nil, fmt.Errorf("%w: series key %q", ErrCorrupt, key)
	}
	st.RegisterMetric(name, int64(freq), agg)
	return id, k, nil
}

func readStr(p []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return "", nil, false
	}
	return string(p[n : n+int(l)]), p[n+int(l):], true
}

// syncDir fsyncs a directory so that creates, renames and removes in it
// are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open directory for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot sync directory: %w", err)
	}
	return nil
}
