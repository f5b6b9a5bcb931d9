package ccms

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// restoreTree restores a temporary tree into a fresh non-strict store.
func restoreTree(t *testing.T, files map[string][]byte) (Stats, map[string][]sample) {
	t.Helper()
	st := newStore(t, false)
	stats, err := Restore(writeTree(t, files), st, cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	return stats, dump(st)
}

func wantProblems(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
		}
	}
}

func wantSeries(t *testing.T, got map[string][]sample, want map[string][]sample) {
	t.Helper()
	for k, w := range want {
		if !equalSamples(got[k], w) {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s = %v", k, got[k])
		}
	}
}

func oneMetric(name string, freq, start int64, data ...float64) fLevel {
	return fLevel{metrics: []fMetric{{name, freq, start, data}}}
}

// Names the store refuses: a cluster or host name skips the host, a scope
// or metric name the series; invalid frequencies and times skip the series.
func TestRestoreUnsafeNames(t *testing.T) {
	good := binSnapshot(2000, 2100, oneMetric("m", 10, 2000, 1))
	wal := walFile(walRecord(walRec{2010, "m", nil, 2}))
	stats, got := restoreTree(t, map[string][]byte{
		"bad..name/n1/2000.bin":    good,
		"bad..name/n1/current.wal": wal,
		"ok/h\x01/2000.bin":        good,
		"ok/a..b/current.wal":      wal,
		"ok/h2/2000.bin": binSnapshot(2000, 2100, fLevel{
			metrics: []fMetric{
				{"m", 10, 2000, []float64{1}},
				{"", 10, 2000, []float64{1}},
				{"zero", 0, 2000, []float64{1}},
				{"far", 1 << 40, 1 << 62, []float64{1, 2}},
			},
			children: []fChild{
				{"a/b", oneMetric("m", 10, 2000, 3)},
				{"", oneMetric("m", 10, 2000, 4)},
				{"socket0", oneMetric("m", 10, 2000, 5)},
			},
		}),
		"ok/h2/current.wal": walFile(
			walRecord(walRec{2010, "m", []string{"x", ""}, 6}),
			walRecord(walRec{math.MaxInt64, "m", nil, 7}),
			walRecord(walRec{2020, "", nil, 8}),
			walRecord(walRec{2030, "m", []string{"socket0"}, 9}),
		),
	})
	wantProblems(t, stats.Problems,
		`bad..name/n1: host skipped: invalid name: cluster name "bad..name" contains ".."`,
		`ok/a..b: host skipped: invalid name: host name "a..b" contains ".."`,
		"ok/h\x01: host skipped: invalid name: host name \"h\\x01\" contains a control character",
		`ok/h2/2000.bin: "": metric with an empty name skipped`,
		`ok/h2/2000.bin: "zero": invalid frequency 0, series skipped`,
		`ok/h2/2000.bin: "far": timestamps out of range (start 4611686018427387904, frequency 1099511627776, 2 values)`,
		`ok/h2/2000.bin: "a/b"/"m": series skipped: invalid name: scope name "a/b" contains a path separator`,
		`ok/h2/2000.bin: ""/"m": series skipped: invalid name: empty scope name`,
		`ok/h2/current.wal: "x"/""/"m": record skipped: invalid name: empty scope name`,
		`ok/h2/current.wal: offset 35: malformed record skipped: timestamp 9223372036854775807 out of range`,
		`ok/h2/current.wal: "": record skipped: invalid name: empty metric name`,
	)
	if stats.Files != 1 || stats.WALFiles != 1 {
		t.Errorf("Files, WALFiles = %d, %d; want 1, 1 (ok/h2 only)", stats.Files, stats.WALFiles)
	}
	wantSeries(t, got, map[string][]sample{
		"ok/h2/m":         {{2000e3, 1}},
		"ok/h2/socket0/m": {{2000e3, 5}, {2030e3, 9}},
	})
}

func TestRestoreWALCorruptions(t *testing.T) {
	rec := walRecord(walRec{2010, "m", []string{"s0"}, 1.5})
	next := walRecord(walRec{2020, "m", []string{"s0"}, 2.5})
	big := binary.LittleEndian.AppendUint32(nil, walRecMagic)
	big = binary.LittleEndian.AppendUint32(big, 2<<20)
	malformed := walPayload(walRec{2015, "m", []string{"s0"}, 9})
	malformed[8+2+1] = 3 // two more selectors than there are
	trailing := append(walPayload(walRec{2030, "m", []string{"s0"}, 3}), 1, 2, 3)
	for _, c := range []struct {
		name     string
		wal      []byte
		walFiles int
		want     []sample
		problems []string
	}{
		{"empty", nil, 1, nil, nil},
		{"short header", []byte{1, 0xA7}, 0, nil, []string{"truncated file header (2 bytes), skipped"}},
		{"only header", walFile(), 1, nil, nil},
		{"too large", walFile(rec, big, next), 1, []sample{{2010e3, 1.5}, {2020e3, 2.5}},
			[]string{"offset 35: payload length 2097152 over 1048576; skipped 8 bytes to the next record"}},
		{"past the end", walFile(rec, next[:8]), 1, []sample{{2010e3, 1.5}},
			[]string{"offset 35: record of 31 bytes runs past the end of the file (8 bytes left); the last 8 bytes ignored (torn tail)"}},
		{"garbage between", walFile(rec, []byte("garbage"), next), 1, []sample{{2010e3, 1.5}, {2020e3, 2.5}},
			[]string{"offset 35: bad record magic 0x62726167; skipped 7 bytes to the next record"}},
		{"malformed payload", walFile(rec, walFrame(malformed), next), 1, []sample{{2010e3, 1.5}, {2020e3, 2.5}},
			[]string{"offset 35: malformed record skipped: value overflows the payload"}},
		{"short payload", walFile(walFrame([]byte{1, 2, 3}), next), 1, []sample{{2020e3, 2.5}},
			[]string{"offset 4: malformed record skipped: payload of 3 bytes too short"}},
		{"payload trailing bytes", walFile(walFrame(trailing)), 1, []sample{{2030e3, 3}}, nil},
		{"magic in torn tail", walFile(rec, []byte{1}, next[:12]), 1, []sample{{2010e3, 1.5}},
			[]string{"offset 35: bad record magic 0x1DA7A101; skipped 1 bytes", "offset 36: record of 31 bytes runs past the end of the file (12 bytes left); the last 12 bytes ignored"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stats, got := restoreTree(t, map[string][]byte{"c/h/current.wal": c.wal})
			if stats.WALFiles != c.walFiles {
				t.Errorf("WALFiles = %d, want %d", stats.WALFiles, c.walFiles)
			}
			wantProblems(t, stats.Problems, c.problems...)
			var want map[string][]sample
			if c.want != nil {
				want = map[string][]sample{"c/h/s0/m": c.want}
			}
			wantSeries(t, got, want)
		})
	}
}

// nested returns a level with a metric at the bottom of depth children.
func nested(depth int) fLevel {
	l := oneMetric("m", 10, 2000, 1)
	for i := 0; i < depth; i++ {
		l = fLevel{children: []fChild{{"x", l}}}
	}
	return l
}

func TestRestoreBinEdgeCases(t *testing.T) {
	trailing := append(binSnapshot(2000, 2100, oneMetric("m", 10, 2000, 1)), 0, 0)
	stats, got := restoreTree(t, map[string][]byte{
		"c/trailing/2000.bin": trailing,
		// Depth 255 (the WAL's limit) loads; 256 is corrupt.
		"c/deep/2000.bin":    binSnapshot(2000, 2100, nested(maxDepth)),
		"c/toodeep/2000.bin": binSnapshot(2000, 2100, nested(maxDepth+1)),
		// A last file before the cut-off with "to" 0 is loaded (only a
		// non-zero "to" before the cut-off skips a file).
		"c/tozero/1000.bin": binSnapshot(1000, 0, oneMetric("m", 10, 1000, 1)),
		"c/tozero/3000.bin": binSnapshot(3000, 3100, oneMetric("m", 10, 3000, 2)),
		// Infinities are values; float32 rounding is exact.
		"c/inf/2000.bin": binSnapshot(2000, 2100, oneMetric("m", 10, 2000, math.Inf(1), math.Inf(-1), 16777217, 1e-46)),
	})
	wantProblems(t, stats.Problems,
		"c/toodeep/2000.bin: corrupt binary snapshot, skipped: offset 2833: levels nested deeper than 255",
		"c/trailing/2000.bin: 2 bytes after the level tree ignored",
	)
	deep := "c/deep/" + strings.Repeat("x/", maxDepth) + "m"
	wantSeries(t, got, map[string][]sample{
		"c/trailing/m": {{2000e3, 1}},
		deep:           {{2000e3, 1}},
		"c/tozero/m":   {{1000e3, 1}, {3000e3, 2}},
		"c/inf/m":      {{2000e3, math.Inf(1)}, {2010e3, math.Inf(-1)}, {2020e3, 16777216}, {2030e3, 0}},
	})
	if stats.Files != 5 {
		t.Errorf("Files = %d, want 5", stats.Files)
	}
}

func TestRestoreJSONEdgeCases(t *testing.T) {
	deep := jsonCheckpoint(2000, 2100, nested(maxDepth+1))
	stats, got := restoreTree(t, map[string][]byte{
		// encoding/json matches keys case-insensitively and, like the
		// reference's json.Decoder, ignores what follows the first value.
		"c/case/2000.json":   []byte(`{"Metrics":{"m":{"Frequency":10,"START":2000,"data":[1.0,null,2.5],"extra":1}},"to":0} trailing junk`),
		"c/string/2000.json": []byte(`{"metrics":{"m":{"frequency":10,"start":2000,"data":["1.0"]}}}`),
		"c/nulls/2000.json":  []byte(`{"metrics":{"m":null,"n":{"frequency":10,"start":2000,"data":null}},"children":{"x":null}}`),
		"c/deep/2000.json":   deep,
		"c/range/2000.json":  []byte(`{"metrics":{"m":{"frequency":10,"start":2000,"data":[1e999]}}}`),
	})
	wantProblems(t, stats.Problems,
		"c/deep/2000.json: corrupt JSON checkpoint, skipped: levels nested 256 deep (at most 255)",
		"c/range/2000.json: corrupt JSON checkpoint, skipped:",
		"c/string/2000.json: corrupt JSON checkpoint, skipped:",
	)
	wantSeries(t, got, map[string][]sample{"c/case/m": {{2000e3, 1}, {2020e3, 2.5}}})
}

// At most maxProblemsPerFile problems are listed per file.
func TestRestoreProblemCap(t *testing.T) {
	var l fLevel
	for i := 0; i < 15; i++ {
		l.metrics = append(l.metrics, fMetric{string(rune('a' + i)), 0, 2000, []float64{1}})
	}
	stats, _ := restoreTree(t, map[string][]byte{"c/h/2000.bin": binSnapshot(2000, 2100, l)})
	if len(stats.Problems) != maxProblemsPerFile+1 || !strings.HasSuffix(stats.Problems[maxProblemsPerFile], "5 more problems not listed") {
		t.Errorf("problems:\n%s", strings.Join(stats.Problems, "\n"))
	}
}

// Symbolic links to cluster and host directories are followed.
func TestRestoreSymlinks(t *testing.T) {
	real := writeTree(t, map[string][]byte{"h/2000.bin": binSnapshot(2000, 2100, oneMetric("m", 10, 2000, 1))})
	root := t.TempDir()
	if err := os.Symlink(real, filepath.Join(root, "c")); err != nil {
		t.Skip(err)
	}
	st := newStore(t, false)
	stats, err := Restore(root, st, time.Unix(0, 0), 1)
	if err != nil || len(stats.Problems) != 0 {
		t.Fatalf("%+v, %v", stats, err)
	}
	wantSeries(t, dump(st), map[string][]sample{"c/h/m": {{2000e3, 1}}})
}

// The bytes of a bin snapshot written by the writer decode to what went in
// (guards the writer used to build the fixtures and fuzz seeds).
func TestBinRoundTrip(t *testing.T) {
	b := binSnapshot(7, 9, fLevel{metrics: []fMetric{{"a", 1, 2, []float64{0.5}}}, children: []fChild{{"s", oneMetric("b", 3, 4)}}})
	var seen []string
	from, to, trailing, err := decodeBin(b, func(scope [][]byte, name []byte, freq, start int64, vals []byte) {
		seen = append(seen, string(bytes.Join(append(scope, name), []byte("/"))))
	})
	if err != nil || from != 7 || to != 9 || trailing != 0 || strings.Join(seen, ",") != "a,s/b" {
		t.Errorf("decodeBin = %d %d %d %v %v", from, to, trailing, seen, err)
	}
}

// A host without a name: cc-metric-store writes its files into the cluster
// directory (and then refuses to start); they are reported, not restored.
func TestRestoreEmptyHostFiles(t *testing.T) {
	stats, got := restoreTree(t, map[string][]byte{
		"c/2000.bin":    binSnapshot(2000, 2100, oneMetric("m", 10, 2000, 1)),
		"c/current.wal": walFile(walRecord(walRec{2010, "m", nil, 2})),
	})
	wantProblems(t, stats.Problems,
		"c/2000.bin: not a directory, skipped (cc-metric-store writes the files of a host with an empty name here; they are not restored)",
		"c/current.wal: not a directory, skipped (cc-metric-store writes",
	)
	wantSeries(t, got, nil)
}
