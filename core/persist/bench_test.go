package persist

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// benchKeys returns n hwthread-level keys spread over hosts.
func benchKeys(n int) []core.Key {
	keys := make([]core.Key, n)
	for i := range keys {
		keys[i] = core.Key{Cluster: []byte("fritz"), Host: fmt.Appendf(nil, "f%04d", i/72),
			Scope: [][]byte{fmt.Appendf(nil, "hwthread%d", i%72)}, Metric: []byte("cpu_load")}
	}
	return keys
}

// ingest writes steps rounds of one 2-decimal sample per key, one Commit per
// round (a request).
func ingest(b testing.TB, st *core.Store, keys []core.Key, step0, steps int) {
	r := rand.New(rand.NewPCG(uint64(step0), 9))
	for s := step0; s < step0+steps; s++ {
		app := st.Appender()
		ts := int64(1_700_000_000+60*s) * 1000
		for i := range keys {
			if err := app.Append(&keys[i], ts, float64(r.IntN(10000))/100); err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestWAL compares in-process ingest without and with the WAL
// (goal: ≤ 20 % overhead).
func BenchmarkIngestWAL(b *testing.B) {
	keys := benchKeys(1000)
	for _, withWAL := range []bool{false, true} {
		name := map[bool]string{false: "no-wal", true: "wal"}[withWAL]
		b.Run(name, func(b *testing.B) {
			st := newStore(b)
			if withWAL {
				w, err := OpenWAL(b.TempDir(), time.Second)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				st.SetWAL(w)
			}
			ingest(b, st, keys, 0, 10) // create the series
			b.ReportAllocs()
			b.ResetTimer()
			ingest(b, st, keys, 10, b.N)
			b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkWALReplay replays a segment of 1,000 series × 1,000 samples
// (goal: ≥ 3 M records/s, a record being one sample).
func BenchmarkWALReplay(b *testing.B) {
	dir := b.TempDir()
	st := newStore(b)
	w, err := OpenWAL(dir, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	st.SetWAL(w)
	keys := benchKeys(1000)
	ingest(b, st, keys, 0, 1000)
	w.Close()
	b.ResetTimer()
	var samples int
	for i := 0; i < b.N; i++ {
		stats, err := Replay(dir, newStore(b))
		if err != nil || len(stats.Problems) > 0 {
			b.Fatal(err, stats.Problems)
		}
		samples += stats.Samples
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkSnapshotRestore writes a snapshot of 4,000 series × 2,880
// samples (48 h at 60 s) and restores it (goal: ≤ 2 s per GB); it also
// reports snapshot bytes per sample.
func BenchmarkSnapshotRestore(b *testing.B) {
	dir := b.TempDir()
	st := newStore(b)
	keys := benchKeys(4000)
	ingest(b, st, keys, 0, 2880)
	stats, err := WriteSnapshot(dir, st, 2, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A restore runs in a fresh process: collect the previous
		// iteration's store outside the timed part.
		b.StopTimer()
		fresh := newStore(b)
		runtime.GC()
		b.StartTimer()
		rs := RestoreSnapshots(dir, fresh, 2, quiet())
		if rs.Series != len(keys) || len(rs.Problems) > 0 {
			b.Fatal(rs.Series, rs.Problems)
		}
	}
	b.ReportMetric(float64(stats.Bytes)/float64(len(keys)*2880), "snapshot-B/sample")
	gb := float64(stats.Bytes) * float64(b.N) / 1e9
	b.ReportMetric(b.Elapsed().Seconds()/gb, "s/GB")
	b.ReportMetric(float64(stats.Bytes)*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
	os.RemoveAll(filepath.Join(dir))
}
