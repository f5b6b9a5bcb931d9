package ccms

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

func newStore(t testing.TB, strict bool, metrics ...core.MetricConfig) *core.Store {
	t.Helper()
	st, err := core.New(core.Options{Metrics: metrics, DefaultFrequency: 30, StrictMetrics: strict})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var cutoff = time.Unix(fixtureCutoff, 0)

// fixtureWant is the content of testdata/ccms15 after a restore with the
// cut-off fixtureCutoff into a non-strict store.
var fixtureWant = map[string][]sample{
	// 1000.bin (last before the cut-off), then 2100.bin, then 10000.bin,
	// then current.wal (1900 before the cut-off, 2050's first record
	// corrupt, NaN skipped, torn tail).
	"clusterA/node1/cpu_load":                       {{1990e3, 1.5}, {2010e3, 2.25}, {2020e3, 9}, {2030e3, 11}, {2040e3, f32(4.2)}, {2050e3, 5}},
	"clusterA/node1/unknown_metric":                 {{2060e3, 1}},
	"clusterA/node1/socket0/mem_bw":                 {{2000e3, 100}},
	"clusterA/node1/socket0/core1/flops_any":        {{2000e3, f32(3.3)}, {2040e3, 6.5}},
	"clusterA/node3/cpu_sys":                        {{2500e3, 3}},
	"clusterB/nodeC/mem_bw":                         {{2003e3, 1}},
	"clusterB/nodeJ/cpu_user":                       {{2005e3, 1.2}, {2125e3, 1e9}, {2185e3, 1.0}},
	"clusterB/nodeJ/hwthread0/ipc":                  {{2005e3, 0.5}},
	"clusterB/nodeJ/socket1/memoryDomain3/mem_used": {{2065e3, 2.5}},
}

// fixtureProblems are substrings of the expected problems, in order.
var fixtureProblems = []string{
	"README: not a directory",
	"clusterA/stray.txt: not a directory",
	"clusterA/node1/latest.bin: file name is not <unix seconds>",
	"clusterA/node1/current.wal: offset ", "CRC mismatch; skipped 35 bytes to the next record",
	"clusterA/node1/current.wal: offset ", "the last 10 bytes ignored (torn tail)",
	"clusterB/nodeC/2000.bin: corrupt binary snapshot, skipped: bad magic 0xCC5B00FE (want 0xCC5B0001)",
	"clusterB/nodeC/2001.bin: corrupt binary snapshot, skipped: offset 52: metric \"mem_bw\": 3 values cannot fit in 6 bytes",
	"clusterB/nodeC/2002.bin: corrupt binary snapshot, skipped: offset 52: metric \"mem_bw\": 1000000000 values cannot fit in 8 bytes",
	"clusterB/nodeC/current.wal: bad file magic 0x00000000",
	"clusterB/nodeJ/2100.json: corrupt JSON checkpoint, skipped: unexpected EOF",
}

// checkProblems matches problems against want: entry i of want is a
// substring of problem i, where consecutive entries starting with the same
// path prefix ("…: offset ") and a detail are joined.
func checkProblems(t *testing.T, got []string, want []string) {
	t.Helper()
	var joined []string
	for i := 0; i < len(want); i++ {
		if strings.HasSuffix(want[i], ": offset ") && i+1 < len(want) {
			joined = append(joined, want[i]+"\x00"+want[i+1])
			i++
			continue
		}
		joined = append(joined, want[i])
	}
	if len(got) != len(joined) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(joined), strings.Join(got, "\n"))
	}
	for i, w := range joined {
		for _, part := range strings.Split(w, "\x00") {
			if !strings.Contains(got[i], part) {
				t.Errorf("problem %d = %q, want it to contain %q", i, got[i], part)
			}
		}
	}
}

func TestRestoreFixtures(t *testing.T) {
	for _, workers := range []int{0, 1, 8} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			st := newStore(t, false, core.MetricConfig{Name: "cpu_load", Frequency: 10, Aggregation: core.AggSum})
			stats, err := Restore(fixtureDir, st, cutoff, workers)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(st)
			for _, k := range slices.Sorted(maps.Keys(fixtureWant)) {
				if !equalSamples(got[k], fixtureWant[k]) {
					t.Errorf("%s = %v, want %v", k, got[k], fixtureWant[k])
				}
			}
			for k := range got {
				if _, ok := fixtureWant[k]; !ok {
					t.Errorf("unexpected series %s = %v", k, got[k])
				}
			}
			checkProblems(t, stats.Problems, fixtureProblems)
			// 1000.bin, 2100.bin, 10000.bin, node3/2500.json, nodeJ/2000.json, nodeC/2003.bin.
			if stats.Files != 6 || stats.WALFiles != 1 || stats.Samples != 19 {
				t.Errorf("stats = %d files, %d WAL files, %d samples; want 6, 1, 19", stats.Files, stats.WALFiles, stats.Samples)
			}
		})
	}
}

func TestRestoreRegistersMetrics(t *testing.T) {
	st := newStore(t, false, core.MetricConfig{Name: "cpu_load", Frequency: 10, Aggregation: core.AggSum})
	if _, err := Restore(fixtureDir, st, cutoff, 4); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		freq       int64
		agg        core.Aggregation
		configured bool
	}{
		{"cpu_load", 10, core.AggSum, true}, // configured: kept
		{"cpu_user", 60, core.AggNone, false},
		{"mem_used", 60, core.AggNone, false},
		{"flops_any", 10, core.AggNone, false},
		{"unknown_metric", 30, core.AggSum, false}, // WAL only: store default
	} {
		m := st.Metric(c.name)
		if m == nil {
			t.Errorf("%s not registered", c.name)
			continue
		}
		if m.Frequency != c.freq || m.Aggregation != c.agg || m.Configured != c.configured {
			t.Errorf("%s = %+v, want frequency %d, aggregation %v, configured %v", c.name, *m, c.freq, c.agg, c.configured)
		}
	}
	if st.Metric("cpu_sys") == nil || st.Metric("mem_bw") == nil {
		t.Error("cpu_sys or mem_bw not registered")
	}
}

// A strict store keeps its metric list: other metrics are skipped and
// summarised per file.
func TestRestoreStrict(t *testing.T) {
	st := newStore(t, true,
		core.MetricConfig{Name: "cpu_load", Frequency: 10, Aggregation: core.AggSum},
		core.MetricConfig{Name: "flops_any", Frequency: 10, Aggregation: core.AggSum})
	stats, err := Restore(fixtureDir, st, cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := dump(st)
	want := map[string][]sample{
		"clusterA/node1/cpu_load":                fixtureWant["clusterA/node1/cpu_load"],
		"clusterA/node1/socket0/core1/flops_any": fixtureWant["clusterA/node1/socket0/core1/flops_any"],
	}
	if len(got) != len(want) {
		t.Errorf("got series %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for k, w := range want {
		if !equalSamples(got[k], w) {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if st.Metric("unknown_metric") != nil || st.Metric("mem_bw") != nil {
		t.Error("strict store got a metric registered")
	}
	var summaries []string
	for _, p := range stats.Problems {
		if strings.Contains(p, "not configured (strict metrics)") {
			summaries = append(summaries, p)
		}
	}
	wantSum := []string{
		`clusterA/node1/1000.bin: skipped 1 series of 1 metrics not configured (strict metrics): "mem_bw"`,
		`clusterA/node1/current.wal: skipped 1 records of 1 metrics not configured (strict metrics): "unknown_metric"`,
		`clusterA/node3/2500.json: skipped 1 series of 1 metrics not configured (strict metrics): "cpu_sys"`,
		`clusterB/nodeC/2003.bin: skipped 1 series of 1 metrics not configured (strict metrics): "mem_bw"`,
		`clusterB/nodeJ/2000.json: skipped 3 series of 3 metrics not configured (strict metrics): "cpu_user", "ipc", "mem_used"`,
	}
	if !slices.Equal(summaries, wantSum) {
		t.Errorf("strict summaries:\n%s\nwant\n%s", strings.Join(summaries, "\n"), strings.Join(wantSum, "\n"))
	}
}

// The cut-off selects files: >= cut-off, plus the last file before it only
// when the cut-off lies strictly between two files (findFiles).
func TestSelectFiles(t *testing.T) {
	for _, c := range []struct {
		files []string
		from  int64
		want  []string
	}{
		{[]string{"100.json", "200.json"}, 300, nil},
		{[]string{"100.json", "200.json"}, 150, []string{"100.json", "200.json"}},
		{[]string{"100.json", "200.json"}, 200, []string{"200.json"}},
		{[]string{"100.json", "200.json"}, 50, []string{"100.json", "200.json"}},
		{[]string{"10000.bin", "2100.bin", "1000.bin", "500.bin"}, 2000, []string{"1000.bin", "2100.bin", "10000.bin"}},
		{[]string{"100.bin", "100.json", "300.bin"}, 200, []string{"100.json", "300.bin"}},
		{[]string{"-5.json", "+7.bin", "x.json", "current.wal", "9.snap"}, 0, []string{"-5.json", "+7.bin"}},
	} {
		dir := t.TempDir()
		for _, f := range c.files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		j := &hostJob{cluster: "c", host: "h", dir: dir}
		if err := j.selectFiles(c.from); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(j.files, c.want) {
			t.Errorf("files %v from %d: got %v, want %v", c.files, c.from, j.files, c.want)
		}
	}
}

func TestRestoreMissingAndBadRoot(t *testing.T) {
	st := newStore(t, false)
	stats, err := Restore(filepath.Join(t.TempDir(), "none"), st, cutoff, 1)
	if err != nil || stats.Files != 0 || len(stats.Problems) != 0 {
		t.Errorf("missing root: %+v, %v", stats, err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(file, st, cutoff, 1); err == nil {
		t.Error("root that is a file: no error")
	}
}

// writeTree writes files (slash paths) below a new temporary directory.
func writeTree(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for p, b := range files {
		path := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
