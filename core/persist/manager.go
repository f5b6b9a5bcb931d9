package persist

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/archive"
)

// Options configure persistence.
type Options struct {
	// SnapshotDir holds <cluster>/<host>/<ms>.snap files
	// (metric-store.checkpoints.directory).
	SnapshotDir string
	// WALDir holds the WAL segments.
	WALDir string
	// Fsync is the interval of WAL fsyncs; 0 fsyncs before every
	// acknowledgement.
	Fsync time.Duration
	// SnapshotInterval is the time between snapshots
	// (metric-store.checkpoint-interval).
	SnapshotInterval time.Duration
	// MaxWALBytes starts a snapshot early when the current WAL segment grows
	// past it, bounding disk use and replay time.
	MaxWALBytes int64
	// Retention drops data older than this (metric-store.retention-in-memory);
	// 0 keeps everything.
	Retention time.Duration
	// ArchiveDir, when set (metric-store.cleanup.mode "archive"), receives
	// the data that retention releases as one Parquet file per cluster;
	// a cluster whose archive fails keeps its data until the next round.
	ArchiveDir string
	// MemoryCap (bytes of live heap) makes the oldest data go first when
	// exceeded; 0 means no cap.
	MemoryCap uint64
	// CheckInterval is how often retention and the memory cap are checked
	// (default 1 s).
	CheckInterval time.Duration
	// Workers snapshot and restore hosts in parallel.
	Workers int
	Log     *slog.Logger
	// Restorers run before our own snapshots are loaded (e.g. the import of
	// cc-metric-store checkpoint directories); their data is older.
	Restorers []func(*core.Store) error
}

// DefaultMaxWALBytes bounds a WAL segment between snapshots.
const DefaultMaxWALBytes = 512 << 20

// Manager restores the store, logs writes and takes snapshots.
type Manager struct {
	opt Options
	st  *core.Store
	wal *WAL

	snapMu sync.Mutex // one snapshot at a time
	// archivedTo is the cutoff of the last complete archive round: the
	// next round starts there, so nothing is archived twice.
	archivedTo time.Time
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// Open restores st from the snapshots and the WAL and attaches a new WAL
// segment to it. Nothing may be written to st before Open returns.
func Open(st *core.Store, opt Options) (*Manager, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxWALBytes <= 0 {
		opt.MaxWALBytes = DefaultMaxWALBytes
	}
	if opt.CheckInterval <= 0 {
		opt.CheckInterval = time.Second
	}
	if opt.MemoryCap > 0 {
		// Let the GC work harder near the cap, so that garbage does not
		// push the heap past it while live data is below.
		debug.SetMemoryLimit(int64(opt.MemoryCap))
	}
	start := time.Now()
	for _, r := range opt.Restorers {
		if err := r(st); err != nil {
			return nil, err
		}
	}
	rs := RestoreSnapshots(opt.SnapshotDir, st, opt.Workers, opt.Log)
	for _, p := range rs.Problems {
		opt.Log.Error("snapshot restore: skipped corrupt data", "problem", p)
	}
	ws, err := Replay(opt.WALDir, st)
	if err != nil {
		return nil, err
	}
	for _, p := range ws.Problems {
		opt.Log.Warn("WAL replay: stopped a segment early (torn or corrupt tail)", "problem", p)
	}
	opt.Log.Info("restore done", "snapshot_files", rs.Files, "series", rs.Series, "snapshot_MB", rs.Bytes>>20,
		"wal_segments", ws.Segments, "wal_samples", ws.Samples, "took", time.Since(start).Round(time.Millisecond))
	w, err := OpenWAL(opt.WALDir, opt.Fsync)
	if err != nil {
		return nil, err
	}
	m := &Manager{opt: opt, st: st, wal: w, stop: make(chan struct{}), done: make(chan struct{}),
		archivedTo: lastArchive(opt.ArchiveDir)}
	// Retention (and the archive, if configured) before the first write.
	m.Cleanup(time.Now())
	st.SetWAL(w)
	go m.loop()
	return m, nil
}

// lastArchive returns the newest cutoff among <dir>/<cluster>/<unix s>.parquet.
func lastArchive(dir string) time.Time {
	if dir == "" {
		return time.Time{}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*.parquet"))
	var newest int64
	for _, p := range paths {
		if ts, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(p), ".parquet"), 10, 64); err == nil {
			newest = max(newest, ts)
		}
	}
	if newest == 0 {
		return time.Time{}
	}
	return time.Unix(newest, 0)
}

// loop runs snapshots, retention and the memory cap in the background.
func (m *Manager) loop() {
	defer close(m.done)
	tick := time.NewTicker(m.opt.CheckInterval)
	defer tick.Stop()
	lastSnap, lastRetention := time.Now(), time.Now()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			if now.Sub(lastSnap) >= m.opt.SnapshotInterval || m.wal.Size() > m.opt.MaxWALBytes {
				if err := m.Snapshot(); err != nil {
					m.opt.Log.Error("snapshot failed", "err", err)
				}
				lastSnap = time.Now()
			}
			if m.opt.Retention > 0 && now.Sub(lastRetention) >= max(m.opt.Retention/2, time.Second) {
				m.Cleanup(now)
				lastRetention = now
			}
			if m.opt.MemoryCap > 0 {
				m.enforceCap(now)
			}
		}
	}
}

// Cleanup releases the data older than the retention window, archiving it
// first when an archive directory is configured. It returns the number of
// archived rows.
func (m *Manager) Cleanup(now time.Time) int {
	if m.opt.Retention <= 0 {
		return 0
	}
	cutoff := now.Add(-m.opt.Retention)
	failed := map[string]bool{}
	rows := 0
	if m.opt.ArchiveDir != "" && cutoff.After(m.archivedTo) {
		var err error
		rows, err = archive.ArchiveRange(m.opt.ArchiveDir, m.st, m.archivedTo, cutoff)
		var ce *archive.ClusterError
		for _, e := range unjoin(err) {
			switch {
			case errors.As(e, &ce) && ce.Cluster == "":
				// Lines without a cluster cannot name an archive directory;
				// they are released unarchived rather than kept forever.
				m.opt.Log.Warn("data of the unnamed cluster released without archive", "err", e)
			case errors.As(e, &ce):
				failed[ce.Cluster] = true
				m.opt.Log.Error("archive failed: the data stays in memory until the next round", "err", e)
			default:
				m.opt.Log.Error("archive failed: nothing released this round", "err", e)
				return rows
			}
		}
		if len(failed) == 0 && rows > 0 {
			m.archivedTo = cutoff
		}
	}
	for _, c := range m.st.Root().Children() {
		if !failed[c.Name()] {
			m.st.Free([]string{c.Name()}, cutoff.UnixMilli())
		}
	}
	return rows
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Snapshot rotates the WAL, writes a snapshot of every host and then drops
// the WAL segments the snapshot covers.
func (m *Manager) Snapshot() error {
	m.snapMu.Lock()
	defer m.snapMu.Unlock()
	covered, err := m.wal.Rotate()
	if err != nil {
		return err
	}
	start := time.Now()
	stats, err := WriteSnapshot(m.opt.SnapshotDir, m.st, m.opt.Workers, start)
	if err != nil {
		return err
	}
	m.opt.Log.Info("snapshot written", "hosts", stats.Hosts, "series", stats.Series,
		"MB", stats.Bytes>>20, "took", time.Since(start).Round(time.Millisecond))
	return m.wal.Truncate(covered)
}

// heapBytes reads the heap held by objects (live and not yet collected)
// without stopping the world.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// capHeadroom: data is released once the heap passes this share of the cap,
// so that ingest between two checks stays below the cap.
const capHeadroom = 0.8

// enforceCap releases the oldest data until the heap is below the cap:
// first what is older than 3/4, 1/2, 1/4 of the retention (as cc-metric-store
// does), then ever more recent data.
func (m *Manager) enforceCap(now time.Time) {
	limit := uint64(float64(m.opt.MemoryCap) * capHeadroom)
	if heapBytes() <= limit {
		return
	}
	runtime.GC() // garbage is not data: count only what survives
	if heapBytes() <= limit {
		return
	}
	window := m.opt.Retention
	if window <= 0 {
		window = 48 * time.Hour
	}
	for _, frac := range []float64{0.75, 0.5, 0.25, 0.1, 0.05, 0.01, 0} {
		cutoff := now.Add(-time.Duration(float64(window) * frac))
		freed := m.st.Free(nil, cutoff.UnixMilli())
		runtime.GC()
		m.opt.Log.Warn("memory cap exceeded: released old data", "older_than", cutoff.Format(time.RFC3339), "chunks", freed)
		if heapBytes() <= limit {
			return
		}
	}
}

// Close takes the final snapshot and closes the WAL. It is idempotent; the
// caller stops accepting writes first.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.done
		err := m.Snapshot()
		if cerr := m.wal.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			m.closeErr = fmt.Errorf("cannot persist at shutdown: %w", err)
		}
	})
	return m.closeErr
}

var _ core.WAL = (*WAL)(nil)
