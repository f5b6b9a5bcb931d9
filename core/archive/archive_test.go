package archive

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

func TestSplitScope(t *testing.T) {
	for _, tc := range []struct{ name, scope, id string }{
		{"socket0", "socket", "0"},
		{"socket12", "socket", "12"},
		{"memoryDomain1", "memoryDomain", "1"},
		{"core12", "core", "12"},
		{"core0", "core", "0"},
		{"hwthread7", "hwthread", "7"},
		{"cpu3", "hwthread", "3"},
		{"accelerator00000000:3B:00.0", "accelerator", "00000000:3B:00.0"},
		{"accelerator0", "accelerator", "0"},
		{"acceleratorab:00.0", "acceleratorab:00.0", ""}, // id must start with a digit
		{"gpu0", "gpu0", ""},
		{"socketX", "socketX", ""},
		{"socket", "socket", ""},
		{"core", "core", ""},
		{"cores1", "cores1", ""},
		{"node", "node", ""},
		{"unknown", "unknown", ""},
		{"", "", ""},
	} {
		scope, id := SplitScope(tc.name)
		if scope != tc.scope || id != tc.id {
			t.Errorf("SplitScope(%q) = (%q, %q), want (%q, %q)", tc.name, scope, id, tc.scope, tc.id)
		}
	}
}

// sample is one test sample with where it goes and the row it must become.
type sample struct {
	cluster, host string
	path          []string // scope levels below the host
	metric        string
	labels        [][2]string
	t             int64 // ms
	v             float64
}

func (s sample) key() *core.Key {
	k := &core.Key{Cluster: []byte(s.cluster), Host: []byte(s.host), Metric: []byte(s.metric)}
	for _, p := range s.path {
		k.Scope = append(k.Scope, []byte(p))
	}
	for _, l := range s.labels {
		k.Labels = core.AppendLabel(k.Labels, []byte(l[0]), []byte(l[1]))
	}
	return k
}

var testMetrics = []core.MetricConfig{
	{Name: "cpu_load", Frequency: 60, Aggregation: core.AggAvg},
	{Name: "flops_any", Frequency: 10, Aggregation: core.AggSum},
	{Name: "mem_bw", Frequency: 30, Aggregation: core.AggSum},
}

// frequencies of the test metrics; other metrics get the default, 15.
var testFreq = map[string]int64{"cpu_load": 60, "flops_any": 10, "mem_bw": 30}

// scopeOf is the expected (scope, scope_id) of a level path, written out by
// hand rather than computed with SplitScope.
var scopeOf = map[string][2]string{
	"":                     {"node", ""},
	"hwthread2":            {"hwthread", "2"},
	"hwthread10":           {"hwthread", "10"},
	"socket0":              {"socket", "0"},
	"socket0/core1":        {"core", "1"},
	"socket1/core3":        {"core", "3"},
	"socket1":              {"socket", "1"},
	"accelerator0a:00.0":   {"accelerator", "0a:00.0"},
	"gpu0":                 {"gpu0", ""},
	"memoryDomain0/cpu5":   {"hwthread", "5"},
	"memoryDomain0":        {"memoryDomain", "0"},
	"socket0/core1/extra1": {"extra1", ""},
}

const base = int64(1_700_000_000_000) // ms

// testSamples builds 2 clusters × 2 hosts with node, hwthread, nested
// socket/core, accelerator and unknown-scope series, with labels, NaNs,
// sub-second timestamps and samples on both sides of cutoff.
func testSamples() (all []sample, cutoff time.Time) {
	cutoff = time.UnixMilli(base + 600_000).Add(500 * time.Microsecond) // sub-ms cutoff
	type ser struct {
		path   []string
		metric string
		labels [][2]string
		step   int64 // ms
	}
	series := []ser{
		{nil, "cpu_load", nil, 60_000},
		{nil, "mem_used", nil, 15_000}, // not configured: default frequency
		{nil, "flops_any", [][2]string{{"unit", "F/s"}}, 10_000},
		{nil, "flops_any", [][2]string{{"quote", `a"b`}, {"unit", "<GF/s>"}}, 10_000},
		{[]string{"hwthread2"}, "flops_any", nil, 10_000},
		{[]string{"hwthread10"}, "flops_any", nil, 10_000},
		{[]string{"socket0"}, "mem_bw", nil, 30_000},
		{[]string{"socket0", "core1"}, "flops_any", nil, 10_000},
		{[]string{"socket1", "core3"}, "flops_any", nil, 10_000},
		{[]string{"socket0", "core1", "extra1"}, "mem_bw", nil, 30_000},
		{[]string{"accelerator0a:00.0"}, "mem_bw", nil, 30_000},
		{[]string{"gpu0"}, "mem_bw", nil, 30_000},
		{[]string{"memoryDomain0", "cpu5"}, "cpu_load", nil, 60_000},
	}
	for ci, cluster := range []string{"alex", "fritz"} {
		for hi, host := range []string{"n10", "n2"} {
			for si, s := range series {
				// 15 minutes of samples; 10 of them before the cutoff.
				for t := base - int64(si*7) + 123; t < base+900_000; t += s.step {
					v := float64(ci*1000+hi*100+si) + float64(t-base)/1e5 + 0.1
					if (t/s.step)%7 == 3 {
						v = math.NaN()
					}
					all = append(all, sample{cluster, host, s.path, s.metric, s.labels, t, v})
				}
			}
		}
	}
	// Exactly at the cutoff's millisecond (older by 0.5 ms): included.
	all = append(all, sample{"alex", "n2", nil, "cpu_load", nil, base + 600_000, 42})
	// One millisecond after: excluded.
	all = append(all, sample{"alex", "n2", nil, "cpu_load", nil, base + 600_001, 43})
	return all, cutoff
}

func buildStore(t testing.TB, samples []sample) *core.Store {
	t.Helper()
	st, err := core.New(core.Options{Metrics: testMetrics, DefaultFrequency: 15})
	if err != nil {
		t.Fatal(err)
	}
	app := st.Appender()
	for _, s := range samples {
		if err := app.Append(s.key(), s.t, s.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return st
}

func labelsText(ls [][2]string) string {
	if len(ls) == 0 {
		return ""
	}
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%q:%q", l[0], l[1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// expectedRows maps samples older than cutoff to rows, independently of
// the code under test.
func expectedRows(samples []sample, cutoff time.Time) map[string][]Row {
	out := map[string][]Row{}
	for _, s := range samples {
		if time.UnixMilli(s.t).Compare(cutoff) >= 0 || math.IsNaN(s.v) {
			continue
		}
		sc := scopeOf[strings.Join(s.path, "/")]
		f, ok := testFreq[s.metric]
		if !ok {
			f = 15
		}
		out[s.cluster] = append(out[s.cluster], Row{
			Cluster: s.cluster, Hostname: s.host, Metric: s.metric, Scope: sc[0], ScopeID: sc[1],
			Timestamp: s.t / 1000, Frequency: f, Value: float32(s.v),
			TimestampMS: s.t, Labels: labelsText(s.labels),
		})
	}
	return out
}

func cmpRow(a, b Row) int {
	return cmp.Or(
		strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.Hostname, b.Hostname),
		strings.Compare(a.Metric, b.Metric), strings.Compare(a.Scope, b.Scope),
		strings.Compare(a.ScopeID, b.ScopeID), strings.Compare(a.Labels, b.Labels),
		cmp.Compare(a.TimestampMS, b.TimestampMS))
}

func openParquet(t *testing.T, path string) *pq.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := pq.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// listFiles returns every file below dir, relative, sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestArchiveStoreRoundTrip(t *testing.T) {
	samples, cutoff := testSamples()
	st := buildStore(t, samples)
	dir := t.TempDir()
	n, err := ArchiveStore(dir, st, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedRows(samples, cutoff)

	stamp := fmt.Sprint(cutoff.Unix())
	wantFiles := []string{"alex/" + stamp + ".parquet", "fritz/" + stamp + ".parquet"}
	if got := listFiles(t, dir); !slices.Equal(got, wantFiles) {
		t.Fatalf("files = %v, want %v (no temporary files)", got, wantFiles)
	}
	total := 0
	for _, cluster := range []string{"alex", "fritz"} {
		path := filepath.Join(dir, cluster, stamp+".parquet")
		if path != Path(dir, cluster, cutoff) {
			t.Errorf("Path = %s, want %s", Path(dir, cluster, cutoff), path)
		}
		got, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		total += len(got)
		w := want[cluster]
		if len(got) != len(w) {
			t.Fatalf("%s: %d rows, want %d", cluster, len(got), len(w))
		}
		// Hosts in natural order, one contiguous run each.
		if got[0].Hostname != "n2" || got[len(got)-1].Hostname != "n10" {
			t.Errorf("%s: hosts not in natural order: first %q, last %q", cluster, got[0].Hostname, got[len(got)-1].Hostname)
		}
		checkOrder(t, got)
		slices.SortFunc(got, cmpRow)
		slices.SortFunc(w, cmpRow)
		for i := range got {
			if got[i] != w[i] {
				t.Fatalf("%s row %d:\n got %+v\nwant %+v", cluster, i, got[i], w[i])
			}
		}
		checkMetadata(t, path, []string{"n2", "n10"})
	}
	if n != total {
		t.Errorf("ArchiveStore returned %d rows, files hold %d", n, total)
	}
	// The store is only read.
	if err := checkStoreUnchanged(st, samples); err != nil {
		t.Error(err)
	}
}

// checkOrder verifies the documented order within a file: per host, the
// node rows first, samples of one series in time order.
func checkOrder(t *testing.T, rows []Row) {
	t.Helper()
	type sk struct{ host, metric, scope, id, labels string }
	last := map[sk]int64{}
	seenChild := map[string]bool{}
	for i, r := range rows {
		k := sk{r.Hostname, r.Metric, r.Scope, r.ScopeID, r.Labels}
		if r.Scope == "node" && seenChild[r.Hostname] {
			t.Fatalf("row %d: node row after child rows: %+v", i, r)
		}
		if r.Scope != "node" {
			seenChild[r.Hostname] = true
		}
		// socket0/core1 and socket1/core3 differ in id; extra1 is unique.
		if prev, ok := last[k]; ok && r.TimestampMS <= prev {
			t.Fatalf("row %d: time not increasing within series: %+v", i, r)
		}
		last[k] = r.TimestampMS
	}
}

func checkMetadata(t *testing.T, path string, hosts []string) {
	t.Helper()
	pf := openParquet(t, path)
	md := pf.Metadata()
	if len(md.RowGroups) != len(hosts) {
		t.Fatalf("%s: %d row groups, want %d (one per host)", path, len(md.RowGroups), len(hosts))
	}
	var sum int64
	for i, rg := range md.RowGroups {
		sum += rg.NumRows
		for _, c := range rg.Columns {
			if c.MetaData.Codec != format.Zstd {
				t.Errorf("row group %d column %v: codec %v, want ZSTD", i, c.MetaData.PathInSchema, c.MetaData.Codec)
			}
			if c.MetaData.PathInSchema[0] == "hostname" {
				st := c.MetaData.Statistics
				if string(st.MinValue) != hosts[i] || string(st.MaxValue) != hosts[i] {
					t.Errorf("row group %d: hostname min/max %q/%q, want only %q", i, st.MinValue, st.MaxValue, hosts[i])
				}
			}
		}
	}
	if sum != md.NumRows {
		t.Errorf("row groups hold %d rows, file %d", sum, md.NumRows)
	}
	checkSchemaNodes(t, pf.Schema())
}

// checkSchemaNodes pins the schema: the reference's eight required columns
// in its order, then the two optional extensions.
func checkSchemaNodes(t *testing.T, s *pq.Schema) {
	t.Helper()
	want := []struct {
		name     string
		kind     pq.Kind
		optional bool
		str      bool
	}{
		{"cluster", pq.ByteArray, false, true},
		{"hostname", pq.ByteArray, false, true},
		{"metric", pq.ByteArray, false, true},
		{"scope", pq.ByteArray, false, true},
		{"scope_id", pq.ByteArray, false, true},
		{"timestamp", pq.Int64, false, false},
		{"frequency", pq.Int64, false, false},
		{"value", pq.Float, false, false},
		{"timestamp_ms", pq.Int64, true, false},
		{"labels", pq.ByteArray, true, true},
	}
	fields := s.Fields()
	if len(fields) != len(want) {
		t.Fatalf("schema has %d columns, want %d:\n%s", len(fields), len(want), s)
	}
	for i, w := range want {
		f := fields[i]
		lt := f.Type().LogicalType()
		isStr := lt != nil && lt.String() == "STRING"
		if f.Name() != w.name || f.Type().Kind() != w.kind || f.Optional() != w.optional || f.Repeated() || isStr != w.str {
			t.Errorf("column %d = %s %v optional=%v string=%v, want %s %v optional=%v string=%v",
				i, f.Name(), f.Type().Kind(), f.Optional(), isStr, w.name, w.kind, w.optional, w.str)
		}
	}
}

func checkStoreUnchanged(st *core.Store, samples []sample) error {
	n := 0
	var walk func(l *core.Level)
	walk = func(l *core.Level) {
		for _, s := range l.Series() {
			ts, _ := s.AppendRange(nil, nil, math.MinInt64, math.MaxInt64)
			n += len(ts)
		}
		for _, c := range l.Children() {
			walk(c)
		}
	}
	walk(st.Root())
	if n != len(samples) {
		return fmt.Errorf("store holds %d samples after archiving, want %d", n, len(samples))
	}
	return nil
}

// refRow is cc-metric-store's archive row (cc-backend pkg/metricstore,
// ParquetMetricRow): the schema a reference reader expects.
type refRow struct {
	Cluster   string  `parquet:"cluster"`
	Hostname  string  `parquet:"hostname"`
	Metric    string  `parquet:"metric"`
	Scope     string  `parquet:"scope"`
	ScopeID   string  `parquet:"scope_id"`
	Timestamp int64   `parquet:"timestamp"`
	Frequency int64   `parquet:"frequency"`
	Value     float32 `parquet:"value"`
}

// A reader built on the reference schema reads our files; the extra
// columns are ignored.
func TestReferenceReaderReadsArchive(t *testing.T) {
	samples, cutoff := testSamples()
	st := buildStore(t, samples)
	dir := t.TempDir()
	if _, err := ArchiveStore(dir, st, cutoff); err != nil {
		t.Fatal(err)
	}
	path := Path(dir, "fritz", cutoff)
	ours, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pf := openParquet(t, path)
	r := pq.NewGenericReader[refRow](pf)
	defer r.Close()
	got := make([]refRow, len(ours)+1)
	n, err := r.Read(got)
	if n != len(ours) {
		t.Fatalf("reference reader read %d rows (err %v), want %d", n, err, len(ours))
	}
	for i, x := range got[:n] {
		o := ours[i]
		if x != (refRow{o.Cluster, o.Hostname, o.Metric, o.Scope, o.ScopeID, o.Timestamp, o.Frequency, o.Value}) {
			t.Fatalf("row %d: reference reader %+v, ours %+v", i, x, o)
		}
	}
}

// ReadFile reads files written the way cc-metric-store writes them.
func TestReadReferenceFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ref.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pq.NewGenericWriter[refRow](f, pq.Compression(&pq.Zstd))
	rows := []refRow{
		{"fritz", "f0101", "cpu_load", "node", "", 1000, 60, 0.5},
		{"fritz", "f0101", "mem_bw", "socket", "0", 1060, 60, 100},
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Cluster: "fritz", Hostname: "f0101", Metric: "cpu_load", Scope: "node", Timestamp: 1000, Frequency: 60, Value: 0.5, TimestampMS: 1_000_000},
		{Cluster: "fritz", Hostname: "f0101", Metric: "mem_bw", Scope: "socket", ScopeID: "0", Timestamp: 1060, Frequency: 60, Value: 100, TimestampMS: 1_060_000},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestReadFileRejectsForeignFile(t *testing.T) {
	type other struct {
		Cluster string  `parquet:"cluster"`
		Value   float64 `parquet:"value"`
	}
	path := filepath.Join(t.TempDir(), "x.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pq.NewGenericWriter[other](f)
	w.Write([]other{{"a", 1}})
	w.Close()
	f.Close()
	if _, err := ReadFile(path); err == nil {
		t.Fatal("ReadFile accepted a file without the archive columns")
	}
	os.WriteFile(path, []byte("not parquet"), 0o644)
	if _, err := ReadFile(path); err == nil {
		t.Fatal("ReadFile accepted a non-Parquet file")
	}
}

func hostRows(cluster, host string, n int, t0 int64) HostRows {
	h := HostRows{Host: host}
	for i := range n {
		ms := t0 + int64(i)*10_000 + 7
		h.Rows = append(h.Rows, Row{Cluster: cluster, Hostname: host, Metric: "m", Scope: "node",
			Timestamp: ms / 1000, Frequency: 10, Value: float32(i) + 0.25, TimestampMS: ms})
	}
	return h
}

func TestWriteClusterAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive", "c") // created by WriteCluster
	path := filepath.Join(dir, "100.parquet")
	hosts := []HostRows{hostRows("c", "h1", 3, base), {Host: "empty"}, hostRows("c", "h2", batchRows+5, base)}
	if err := WriteCluster(path, hosts); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, dir); !slices.Equal(got, []string{"100.parquet"}) {
		t.Fatalf("files = %v", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v, mode %v", err, fi.Mode())
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(hosts[0].Rows), hosts[2].Rows...)
	if !slices.Equal(got, want) {
		t.Fatalf("read back %d rows, want %d (or rows differ)", len(got), len(want))
	}
	checkMetadata(t, path, []string{"h1", "h2"})
	before, _ := os.ReadFile(path)

	// A failing write leaves the existing file alone and no temporary file.
	bad := []HostRows{hostRows("c", "h1", 3, base), hostRows("c", "h1", 1, base)}
	if err := WriteCluster(path, bad); err == nil {
		t.Fatal("WriteCluster accepted two row groups for one host")
	}
	if got := listFiles(t, dir); !slices.Equal(got, []string{"100.parquet"}) {
		t.Fatalf("files after failed write = %v", got)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("failed write changed the existing archive")
	}

	// A new write replaces the file.
	if err := WriteCluster(path, []HostRows{hostRows("c", "h9", 2, base)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadFile(path); len(got) != 2 || got[0].Hostname != "h9" {
		t.Fatalf("replaced archive holds %+v", got)
	}
	if got := listFiles(t, dir); !slices.Equal(got, []string{"100.parquet"}) {
		t.Fatalf("files after replace = %v", got)
	}
}

func TestWriterRejectsInconsistentRows(t *testing.T) {
	ok := hostRows("c", "h1", 2, base).Rows
	for name, rows := range map[string][]HostRows{
		"host mismatch":     {{Host: "h2", Rows: ok}},
		"cluster mismatch":  {{Host: "h1", Rows: ok}, hostRows("d", "h2", 1, base)},
		"timestamp_ms":      {{Host: "h1", Rows: []Row{{Cluster: "c", Hostname: "h1", Timestamp: 5, TimestampMS: 6000}}}},
		"duplicate host":    {{Host: "h1", Rows: ok}, {Host: "h1", Rows: ok}},
		"mixed row group":   nil, // via Writer below
		"unwritable parent": nil,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "1.parquet")
			var err error
			switch name {
			case "mixed row group":
				w, cerr := Create(path)
				if cerr != nil {
					t.Fatal(cerr)
				}
				err = w.Write(append(slices.Clone(ok), hostRows("c", "h2", 1, base).Rows...))
				if err != nil && w.Write(ok) == nil {
					t.Error("Writer usable after an error")
				}
				w.Abort()
			case "unwritable parent":
				file := filepath.Join(dir, "file")
				os.WriteFile(file, nil, 0o644)
				err = WriteCluster(filepath.Join(file, "1.parquet"), []HostRows{{Host: "h1", Rows: ok}})
			default:
				err = WriteCluster(path, rows)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := listFiles(t, dir); len(got) > 0 && !(name == "unwritable parent" && slices.Equal(got, []string{"file"})) {
				t.Fatalf("files left: %v", got)
			}
		})
	}
}

// Optional columns are null when unknown: a row without TimestampMS reads
// back with Timestamp·1000; a row at Unix time 0 survives.
func TestOptionalColumnsNull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "1.parquet")
	rows := []Row{
		{Cluster: "c", Hostname: "h", Metric: "m", Scope: "node", Timestamp: 7, Frequency: 1, Value: 1},
		{Cluster: "c", Hostname: "h", Metric: "m", Scope: "node", Timestamp: 0, Frequency: 1, Value: 2, TimestampMS: 0},
		{Cluster: "c", Hostname: "h", Metric: "m", Scope: "node", Timestamp: 8, Frequency: 1, Value: 3, TimestampMS: 8999, Labels: `{"a":"b"}`},
	}
	if err := WriteCluster(path, []HostRows{{Host: "h", Rows: rows}}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(rows)
	want[0].TimestampMS = 7000
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	md := openParquet(t, path).Metadata()
	nulls := map[string]int64{}
	for _, c := range md.RowGroups[0].Columns {
		nulls[c.MetaData.PathInSchema[0]] = c.MetaData.Statistics.NullCount
	}
	if nulls["timestamp_ms"] != 2 || nulls["labels"] != 2 {
		t.Fatalf("null counts %v, want timestamp_ms 2, labels 2", nulls)
	}
}

func TestArchiveStoreEdgeCases(t *testing.T) {
	st, err := core.New(core.Options{Metrics: testMetrics, DefaultFrequency: 15})
	if err != nil {
		t.Fatal(err)
	}
	app := st.Appender()
	add := func(cluster, host, metric string, ms int64, v float64, scope ...string) {
		k := &core.Key{Cluster: []byte(cluster), Host: []byte(host), Metric: []byte(metric)}
		for _, s := range scope {
			k.Scope = append(k.Scope, []byte(s))
		}
		if err := app.Append(k, ms, v); err != nil {
			t.Fatal(err)
		}
	}
	add("new", "h", "cpu_load", base+10_000, 1)   // only after the cutoff: no file
	add("nan", "h", "cpu_load", base, math.NaN()) // only NaN: no file
	add(".", "h", "cpu_load", base, 1)            // unusable directory name
	add("", "h", "cpu_load", base, 1)             // empty cluster name
	add("ok", "", "cpu_load", base, 1)            // empty host name is fine
	add("ok", "h", "cpu_load", base, math.Inf(1))
	add("ok", "h", "big", base, 1e300, "socket0") // float32 overflow → +Inf
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cutoff := time.UnixMilli(base + 1)
	n, err := ArchiveStore(dir, st, cutoff)
	if n != 3 {
		t.Errorf("rows = %d, want 3", n)
	}
	var ce *ClusterError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want ClusterErrors", err)
	}
	failed := map[string]bool{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if errors.As(e, &ce) {
			failed[ce.Cluster] = true
		}
	}
	if len(failed) != 2 || !failed[""] || !failed["."] {
		t.Errorf("failed clusters %v, want \"\" and \".\"", failed)
	}
	if got := listFiles(t, dir); !slices.Equal(got, []string{"ok/" + fmt.Sprint(cutoff.Unix()) + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
	rows, err := ReadFile(Path(dir, "ok", cutoff))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Cluster: "ok", Hostname: "", Metric: "cpu_load", Scope: "node", Timestamp: base / 1000, Frequency: 60, Value: 1, TimestampMS: base},
		{Cluster: "ok", Hostname: "h", Metric: "cpu_load", Scope: "node", Timestamp: base / 1000, Frequency: 60, Value: float32(math.Inf(1)), TimestampMS: base},
		{Cluster: "ok", Hostname: "h", Metric: "big", Scope: "socket", ScopeID: "0", Timestamp: base / 1000, Frequency: 15, Value: float32(math.Inf(1)), TimestampMS: base},
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("got %+v\nwant %+v", rows, want)
	}
	checkMetadata(t, Path(dir, "ok", cutoff), []string{"", "h"})
	// No directory for clusters without rows.
	for _, c := range []string{"new", "nan"} {
		if _, err := os.Stat(filepath.Join(dir, c)); !os.IsNotExist(err) {
			t.Errorf("directory for %s exists (%v)", c, err)
		}
	}
}

// Archiving while writers append newer samples: the archive holds exactly
// the old samples (run with -race).
func TestArchiveStoreConcurrentWrites(t *testing.T) {
	samples, cutoff := testSamples()
	st := buildStore(t, samples)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := int64(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				app := st.Appender()
				s := samples[(int(i)*31+g)%len(samples)]
				s.t = base + 3_600_000 + i*1000 + int64(g)
				app.Append(s.key(), s.t, 1)
				app.Append(&core.Key{Cluster: []byte("alex"), Host: []byte(fmt.Sprintf("new%d", g)), Metric: []byte("cpu_load")}, s.t, 1)
				app.Commit()
			}
		})
	}
	dir := t.TempDir()
	_, err := ArchiveStore(dir, st, cutoff)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	want := expectedRows(samples, cutoff)
	for cluster, w := range want {
		got, err := ReadFile(Path(dir, cluster, cutoff))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, cmpRow)
		slices.SortFunc(w, cmpRow)
		if !slices.Equal(got, w) {
			t.Fatalf("%s: %d rows, want %d (or rows differ)", cluster, len(got), len(w))
		}
	}
}

func TestLabelsJSON(t *testing.T) {
	canon := func(kv ...string) string {
		var b []byte
		for i := 0; i < len(kv); i += 2 {
			b = core.AppendLabel(b, []byte(kv[i]), []byte(kv[i+1]))
		}
		return string(b)
	}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{canon("unit", "GB/s"), `{"unit":"GB/s"}`},
		{canon("a", `x"y\z`, "b", "<&>", "c", ""), `{"a":"x\"y\\z","b":"<&>","c":""}`},
	} {
		if got := labelsJSON(tc.in); got != tc.want {
			t.Errorf("labelsJSON(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
