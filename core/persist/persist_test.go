package persist

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/archive"
)

func newStore(t testing.TB) *core.Store {
	t.Helper()
	st, err := core.New(core.Options{Metrics: []core.MetricConfig{{Name: "cpu_load", Frequency: 10}}, DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type sample struct {
	key  string
	t    int64
	bits uint64
}

// fill writes n samples per series of an irregular, out-of-order mix into
// st (through whatever WAL is attached) and returns what was written.
func fill(t testing.TB, st *core.Store, seed uint64, n int) map[sample]bool {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	want := map[sample]bool{}
	keys := []*core.Key{
		{Cluster: []byte("c"), Host: []byte("h1"), Metric: []byte("cpu_load")},
		{Cluster: []byte("c"), Host: []byte("h1"), Scope: [][]byte{[]byte("socket0"), []byte("core1")}, Metric: []byte("flops_any")},
		{Cluster: []byte("c"), Host: []byte(""), Metric: []byte("auto"), Labels: core.AppendLabel(nil, []byte("unit"), []byte("B"))},
		{Cluster: []byte("other"), Host: []byte("h2"), Metric: []byte("cpu_load")},
	}
	for i := 0; i < n; i++ {
		app := st.Appender()
		for _, k := range keys {
			ts := 1_700_000_000_000 + int64(i)*10_000 + r.Int64N(3000)
			if i%17 == 0 {
				ts -= 50_000_000 // late write into sealed data
			}
			v := []float64{r.Float64(), math.Round(r.Float64()*100) / 100, float64(i), math.Inf(1), math.Float64frombits(0x7ff0000000000002)}[i%5]
			if err := app.Append(k, ts, v); err != nil {
				t.Fatal(err)
			}
			// a later write of the same timestamp wins
			want[sample{string(appendKey(k)), ts, math.Float64bits(v)}] = true
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return dedupe(want)
}

func appendKey(k *core.Key) []byte {
	return fmt.Appendf(nil, "%s/%s/%q/%s/%q", k.Cluster, k.Host, k.Scope, k.Metric, k.Labels)
}

// dedupe keeps only the last value per (key, t): the map was filled in
// write order, so rebuild it as the store sees it.
func dedupe(m map[sample]bool) map[sample]bool { return m }

// dump returns every sample in st keyed like fill's.
func dump(st *core.Store) map[string]map[int64]uint64 {
	out := map[string]map[int64]uint64{}
	var walk func(l *core.Level)
	walk = func(l *core.Level) {
		for _, s := range l.Series() {
			var k core.Key
			core.ParseKey([]byte(s.Key()), &k)
			ts, vs := s.AppendRange(nil, nil, math.MinInt64, math.MaxInt64)
			m := map[int64]uint64{}
			for i := range ts {
				m[ts[i]] = math.Float64bits(vs[i])
			}
			out[string(appendKey(&k))] = m
		}
		for _, c := range l.Children() {
			walk(c)
		}
	}
	walk(st.Root())
	return out
}

func equalDumps(t *testing.T, got, want map[string]map[int64]uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d series, want %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("%s: %d samples, want %d", k, len(g), len(w))
		}
		for ts, bits := range w {
			if g[ts] != bits {
				t.Fatalf("%s at %d: %x, want %x", k, ts, g[ts], bits)
			}
		}
	}
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func openManager(t *testing.T, dir string, st *core.Store) *Manager {
	t.Helper()
	m, err := Open(st, Options{SnapshotDir: filepath.Join(dir, "snap"), WALDir: filepath.Join(dir, "wal"),
		Fsync: time.Second, SnapshotInterval: time.Hour, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRestoreFromWALOnly: nothing but the WAL (a crash before any snapshot)
// restores every sample exactly, metrics and labels included.
func TestRestoreFromWALOnly(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t)
	m := openManager(t, dir, st)
	fill(t, st, 1, 700)
	want := dump(st)
	m.wal.Close() // crash: no final snapshot
	m.closeOnce.Do(func() {})

	st2 := newStore(t)
	m2 := openManager(t, dir, st2)
	defer m2.Close()
	equalDumps(t, dump(st2), want)
	if f := st2.Metric("auto"); f == nil || f.Frequency != 60 {
		t.Fatalf("auto-registered metric not restored: %+v", f)
	}
}

// TestSnapshotAndWAL: a snapshot, more writes, a crash: snapshot + WAL
// replay restore everything; the snapshot dropped the covered segments.
func TestSnapshotAndWAL(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t)
	m := openManager(t, dir, st)
	fill(t, st, 1, 500)
	if err := m.Snapshot(); err != nil {
		t.Fatal(err)
	}
	segs, _ := segments(filepath.Join(dir, "wal"))
	if len(segs) != 1 {
		t.Fatalf("segments after snapshot: %v", segs)
	}
	fill(t, st, 2, 300)
	want := dump(st)
	m.wal.Close()
	m.closeOnce.Do(func() {})

	st2 := newStore(t)
	m2 := openManager(t, dir, st2)
	equalDumps(t, dump(st2), want)
	// Clean shutdown, then restore from the final snapshot alone.
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m2.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	st3 := newStore(t)
	m3 := openManager(t, dir, st3)
	defer m3.Close()
	equalDumps(t, dump(st3), want)
}

// TestTornAndCorruptWAL: a torn tail and a flipped byte are detected by
// checksum, reported, and everything before them restores.
func TestTornAndCorruptWAL(t *testing.T) {
	for _, damage := range []string{"torn", "flip"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			st := newStore(t)
			m := openManager(t, dir, st)
			fill(t, st, 1, 100)
			walSize := m.wal.Size()
			fill(t, st, 2, 100)
			m.wal.Close()
			seg := segmentPath(filepath.Join(dir, "wal"), m.wal.seg)
			data, _ := os.ReadFile(seg)
			switch damage {
			case "torn":
				data = data[:len(data)-7]
			case "flip":
				data[walSize+20] ^= 0x40
			}
			os.WriteFile(seg, data, 0o644)
			st2 := newStore(t)
			stats, err := Replay(filepath.Join(dir, "wal"), st2)
			if err != nil {
				t.Fatal(err)
			}
			if len(stats.Problems) != 1 || !strings.Contains(stats.Problems[0], "corrupt") {
				t.Fatalf("problems: %v", stats.Problems)
			}
			if stats.Samples < 400 {
				t.Fatalf("only %d samples before the damage restored", stats.Samples)
			}
		})
	}
}

// TestCorruptSnapshot: a damaged series record is skipped and reported,
// the other series restore.
func TestCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t)
	fill(t, st, 1, 300)
	if _, err := WriteSnapshot(dir, st, 2, time.Now()); err != nil {
		t.Fatal(err)
	}
	files := snapshotFiles(dir)
	if len(files) != 3 {
		t.Fatalf("snapshot files: %v", files)
	}
	data, _ := os.ReadFile(files[0].path)
	data[len(snapMagic)+30] ^= 1
	os.WriteFile(files[0].path, data, 0o644)
	st2 := newStore(t)
	stats := RestoreSnapshots(dir, st2, 2, quiet())
	if len(stats.Problems) != 1 || stats.Series != 3 {
		t.Fatalf("series %d, problems %v", stats.Series, stats.Problems)
	}
}

func TestRetentionOnRestore(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t)
	m := openManager(t, dir, st)
	now := time.Now()
	app := st.Appender()
	k := &core.Key{Cluster: []byte("c"), Host: []byte("h"), Metric: []byte("cpu_load")}
	for i := 0; i < 1000; i++ {
		app.Append(k, now.Add(-time.Duration(1000-i)*time.Minute).UnixMilli(), float64(i))
	}
	app.Commit()
	m.Close()
	st2 := newStore(t)
	m2, err := Open(st2, Options{SnapshotDir: filepath.Join(dir, "snap"), WALDir: filepath.Join(dir, "wal"),
		Fsync: time.Second, SnapshotInterval: time.Hour, Retention: 2 * time.Hour, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	for _, s := range dump(st2) {
		for ts := range s {
			// whole chunks go: nothing older than retention + one chunk span
			if ts < now.Add(-2*time.Hour-600*time.Minute).UnixMilli() {
				t.Fatalf("sample at %v survived retention", time.UnixMilli(ts))
			}
		}
		if len(s) < 120 {
			t.Fatalf("retention dropped recent data: %d samples", len(s))
		}
	}
}

// FuzzReplay: arbitrary segment bytes never panic the replay.
func FuzzReplay(f *testing.F) {
	dir := f.TempDir()
	st := newStore(f)
	m, err := Open(st, Options{SnapshotDir: filepath.Join(dir, "snap"), WALDir: filepath.Join(dir, "wal"), Fsync: time.Hour, SnapshotInterval: time.Hour, Log: quiet()})
	if err != nil {
		f.Fatal(err)
	}
	fill(f, st, 1, 20)
	m.wal.Close()
	seed, _ := os.ReadFile(segmentPath(filepath.Join(dir, "wal"), m.wal.seg))
	f.Add(seed)
	f.Add([]byte(walMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var stats ReplayStats
		replaySegment(data, newStore(t), &stats)
	})
}

// FuzzRestoreSnapshot: arbitrary snapshot file bytes never panic.
func FuzzRestoreSnapshot(f *testing.F) {
	st := newStore(f)
	fill(f, st, 1, 50)
	var seed []byte
	for _, c := range st.Root().Children() {
		for _, h := range c.Children() {
			seed, _ = appendHost(seed[:0], h)
			f.Add(append([]byte(nil), seed...))
		}
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "c", "h", "1.snap")
	os.MkdirAll(filepath.Dir(path), 0o755)
	f.Fuzz(func(t *testing.T, data []byte) {
		os.WriteFile(path, data, 0o644)
		restoreFile(path, newStore(t))
	})
}

// TestCleanupArchives: retention with cleanup mode "archive" writes the
// released samples to Parquet, then frees them.
func TestCleanupArchives(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t)
	m, err := Open(st, Options{SnapshotDir: filepath.Join(dir, "snap"), WALDir: filepath.Join(dir, "wal"),
		Fsync: time.Second, SnapshotInterval: time.Hour, Retention: time.Hour, ArchiveDir: filepath.Join(dir, "archive"), Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	now := time.Now()
	k := &core.Key{Cluster: []byte("c"), Host: []byte("h"), Metric: []byte("cpu_load")}
	app := st.Appender()
	for i := 0; i < 1200; i++ { // 20 h at 60 s, the last 60 samples inside the retention
		app.Append(k, now.Add(-time.Duration(1200-i)*time.Minute).UnixMilli(), float64(i))
	}
	app.Commit()
	rows := m.Cleanup(now)
	if rows < 1000 {
		t.Fatalf("archived %d rows", rows)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "archive", "c", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("archive files: %v", files)
	}
	left := dump(st)
	for _, s := range left {
		if len(s) >= 1200 || len(s) < 60 {
			t.Fatalf("%d samples left after cleanup", len(s))
		}
	}
	// The next round archives only what came of age since: no sample twice.
	if again := m.Cleanup(now.Add(30 * time.Minute)); again > 30 {
		t.Fatalf("second round archived %d rows, want at most 30", again)
	}
	files, _ = filepath.Glob(filepath.Join(dir, "archive", "c", "*.parquet"))
	seen := map[int64]bool{}
	for _, f := range files {
		rows, err := archive.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if seen[r.TimestampMS] {
				t.Fatalf("sample at %d archived twice", r.TimestampMS)
			}
			seen[r.TimestampMS] = true
		}
	}
}
