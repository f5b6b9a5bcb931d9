package ccms

import (
	"bytes"
	"encoding/binary"
	"flag"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

var update = flag.Bool("update", false, "rewrite testdata/ccms15 from the writers in writers_test.go")

// fixtureDir is a cc-metric-store 1.5 checkpoint directory; restore tests
// use the cut-off fixtureCutoff (Unix seconds).
const (
	fixtureDir    = "testdata/ccms15"
	fixtureCutoff = 2000
)

// fixtureFiles returns the files of testdata/ccms15 by slash path.
func fixtureFiles() map[string][]byte {
	files := map[string][]byte{
		// Not ours: a non-directory at the first and second level.
		"README":             []byte("not a cluster\n"),
		"clusterA/stray.txt": []byte("not a host\n"),
		// Our own WAL segment directory: ignored silently.
		"wal/0000000001.wal": []byte("CCMBWAL1"),

		// node1, file-format "wal": snapshots and current.wal.
		// 500.bin is before the last file before the cut-off: not loaded.
		"clusterA/node1/500.bin": binSnapshot(500, 1000, fLevel{metrics: []fMetric{
			{"cpu_load", 10, 500, []float64{1}},
		}}),
		// 1000.bin is the last file before the cut-off and ends after it:
		// loaded whole, also its sample before the cut-off (1990).
		"clusterA/node1/1000.bin": binSnapshot(1000, 2100, fLevel{
			metrics: []fMetric{{"cpu_load", 10, 1990, []float64{1.5, nan, 2.25, 0.1}}},
			children: []fChild{{"socket0", fLevel{
				metrics:  []fMetric{{"mem_bw", 10, 2000, []float64{100}}},
				children: []fChild{{"core1", fLevel{metrics: []fMetric{{"flops_any", 10, 2000, []float64{3.3, nan}}}}}},
			}}},
		}),
		// 2100.bin and 10000.bin overwrite 2020 and 2030 in timestamp
		// order (in name order 10000.bin would come before 2100.bin).
		"clusterA/node1/2100.bin":  binSnapshot(2100, 2200, fLevel{metrics: []fMetric{{"cpu_load", 10, 2020, []float64{9, 10}}}}),
		"clusterA/node1/10000.bin": binSnapshot(10000, 10100, fLevel{metrics: []fMetric{{"cpu_load", 10, 2030, []float64{11}}}}),
		// Ignored: an interrupted write, our own snapshot, the Avro layout.
		"clusterA/node1/1500.bin.tmp":     []byte("partial"),
		"clusterA/node1/3000.snap":        []byte("CCMBSNP1"),
		"clusterA/node1/avro/1000/x.avro": []byte("Obj\x01"),
		"clusterA/node1/latest.bin":       binSnapshot(2000, 2100, fLevel{metrics: []fMetric{{"cpu_load", 10, 2000, []float64{42}}}}),
		"clusterA/node1/current.wal":      node1WAL(),
		"clusterA/node2/100.json":         jsonCheckpoint(100, 200, fLevel{metrics: []fMetric{{"cpu_sys", 10, 100, []float64{1}}}}),
		"clusterA/node2/200.json":         jsonCheckpoint(200, 300, fLevel{metrics: []fMetric{{"cpu_sys", 10, 200, []float64{2}}}}),
		"clusterA/node3/1000.json":        jsonCheckpoint(1000, 1500, fLevel{metrics: []fMetric{{"cpu_sys", 10, 1000, []float64{1}}}}),
		"clusterA/node3/2500.json":        jsonCheckpoint(2500, 2600, fLevel{metrics: []fMetric{{"cpu_sys", 10, 2500, []float64{3}}}}),
		"clusterB/nodeC/2000.bin":         corruptMagic(),
		"clusterB/nodeC/2001.bin":         truncatedBin(),
		"clusterB/nodeC/2002.bin":         hugeCountBin(),
		"clusterB/nodeC/2003.bin":         binSnapshot(2003, 2100, fLevel{metrics: []fMetric{{"mem_bw", 10, 2003, []float64{1}}}}),
		"clusterB/nodeC/current.wal":      []byte("\x00\x00\x00\x00garbage"),
		"clusterB/nodeJ/1990.json":        jsonCheckpoint(1990, 2100, fLevel{metrics: []fMetric{{"cpu_user", 60, 1990, []float64{77}}}}),
		"clusterB/nodeJ/2000.json":        nodeJJSON(),
		"clusterB/nodeJ/2100.json":        nodeJJSON()[:40],
	}
	return files
}

// node1WAL: several records, one before the cut-off, a CRC mismatch in the
// middle, a metric no file has, a NaN and a torn tail.
func node1WAL() []byte {
	torn := walRecord(walRec{2080, "cpu_load", nil, 8})
	return walFile(
		walRecord(walRec{1900, "cpu_load", nil, 7}),
		walRecord(walRec{2040, "cpu_load", nil, 4.2}),
		walRecord(walRec{2040, "flops_any", []string{"socket0", "core1"}, 6.5}),
		badCRC(walRecord(walRec{2050, "cpu_load", nil, 99})),
		walRecord(walRec{2050, "cpu_load", nil, 5}),
		walRecord(walRec{2060, "unknown_metric", nil, 1}),
		walRecord(walRec{2070, "cpu_load", nil, nan}),
		torn[:10],
	)
}

// nodeJJSON: nested children, null values, one-decimal rounding.
func nodeJJSON() []byte {
	return jsonCheckpoint(2000, 2300, fLevel{
		metrics: []fMetric{{"cpu_user", 60, 2005, []float64{1.2, nan, 1e9, 1.05}}},
		children: []fChild{
			{"hwthread0", fLevel{metrics: []fMetric{{"ipc", 60, 2005, []float64{0.5}}}}},
			{"socket1", fLevel{children: []fChild{
				{"memoryDomain3", fLevel{metrics: []fMetric{{"mem_used", 60, 2005, []float64{nan, 2.5}}}}},
			}}},
		},
	})
}

func corruptMagic() []byte {
	b := binSnapshot(2000, 2100, fLevel{metrics: []fMetric{{"mem_bw", 10, 2000, []float64{5}}}})
	b[0] ^= 0xff
	return b
}

func truncatedBin() []byte {
	b := binSnapshot(2001, 2100, fLevel{metrics: []fMetric{{"mem_bw", 10, 2001, []float64{5, 6, 7}}}})
	return b[:len(b)-10]
}

// hugeCountBin claims a billion values in a file of a few bytes.
func hugeCountBin() []byte {
	b := binSnapshot(2002, 2100, fLevel{metrics: []fMetric{{"mem_bw", 10, 2002, []float64{5}}}})
	off := binHeaderSize + 4 + 2 + len("mem_bw") + 16
	binary.LittleEndian.PutUint32(b[off:], 1e9)
	return b
}

// TestFixtures checks that testdata/ccms15 is what the writers produce
// (go test -run TestFixtures -update rewrites it).
func TestFixtures(t *testing.T) {
	want := fixtureFiles()
	if *update {
		if err := os.RemoveAll(fixtureDir); err != nil {
			t.Fatal(err)
		}
		for p, b := range want {
			path := filepath.Join(fixtureDir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	err := filepath.WalkDir(fixtureDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fixtureDir, path)
		rel = filepath.ToSlash(rel)
		got = append(got, rel)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if w, ok := want[rel]; !ok {
			t.Errorf("unexpected fixture file %s", rel)
		} else if !bytes.Equal(b, w) {
			t.Errorf("%s differs from the writers' output; run go test -run TestFixtures -update", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("testdata has %d files, writers %d; run go test -run TestFixtures -update", len(got), len(want))
	}
}

// sample is one stored sample; the value is compared bit for bit.
type sample struct {
	T int64
	V float64
}

// dump returns every sample of st by "cluster/host/scope.../metric".
func dump(st *core.Store) map[string][]sample {
	out := map[string][]sample{}
	var walk func(l *core.Level, path string)
	walk = func(l *core.Level, path string) {
		for _, s := range l.Series() {
			ts, vs := s.AppendRange(nil, nil, math.MinInt64, math.MaxInt64)
			k := path + s.Metric().Name
			for i := range ts {
				out[k] = append(out[k], sample{ts[i], vs[i]})
			}
		}
		for _, c := range l.Children() {
			walk(c, path+c.Name()+"/")
		}
	}
	walk(st.Root(), "")
	return out
}

func equalSamples(a, b []sample) bool {
	return slices.EqualFunc(a, b, func(x, y sample) bool {
		return x.T == y.T && math.Float64bits(x.V) == math.Float64bits(y.V)
	})
}

// f32 is v as stored in float32 and read back exactly.
func f32(v float64) float64 { return float64(float32(v)) }
