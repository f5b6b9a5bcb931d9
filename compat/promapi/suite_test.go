package promapi

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

// The upstream PromQL test suite (promql/promqltest/testdata/*.test of the
// prometheus/prometheus module in go.mod) runs against the store through
// this package's Queryable. The store keeps float samples only, without
// start timestamps, so before a script runs:
//
//   - load lines with native histogram values ({{...}}) and start-timestamp
//     lines (metric@st) are dropped, and load_with_nhcb becomes load (the
//     classic bucket series stay; their NHCB conversion is a native
//     histogram);
//   - eval commands whose expected result holds a native histogram are
//     skipped;
//   - the eval commands listed in suiteSkips are skipped: their results
//     depend on the dropped data. The list is exactly the set of cases
//     that fail when the filtered scripts run on Prometheus' own TSDB
//     (regenerate it with PROMAPI_SUITE_REFERENCE=1, see
//     TestPromQLSuiteReference).
//
// Skipped lines are blanked, not removed, so every eval keeps its line
// number in the subtest names ("line N/expr").

// Reasons of skipped cases.
const (
	reasonHistogramResult = "expects a native histogram result"
	reasonHistogramData   = "reads native histogram data, which the store does not keep"
	reasonStartTimestamp  = "reads start timestamps (@st), which the store does not keep"
)

// suiteSkips lists, per file and line of the eval command, the cases that
// depend on dropped native histogram or start-timestamp data.
var suiteSkips = map[string]map[int]string{}

// suiteFile is a script prepared for the store.
type suiteFile struct {
	text    string
	evals   int        // eval commands that run
	skipped []skipCase // eval commands blanked
	dropped int        // load lines dropped
}

type skipCase struct {
	line   int
	expr   string
	reason string
}

// keepST keeps @st lines (PROMAPI_SUITE_KEEP_ST=1 with the reference run
// tells cases that need start timestamps from those that need histograms).
var keepST = os.Getenv("PROMAPI_SUITE_KEEP_ST") != ""

var (
	reSTLine = regexp.MustCompile(`^[^\s{]*(\{[^}]*\})?@st\s`)
	reSpace  = regexp.MustCompile(`\s+`)
)

// prepareScript filters one script as described above; skips holds the
// listed cases of this file (nil applies only the automatic rules).
func prepareScript(src string, skips map[int]string) suiteFile {
	in := strings.Split(src, "\n")
	out := make([]string, 0, len(in))
	var f suiteFile
	// blockEnd returns the index after the command block starting at i:
	// promqltest ends a block at a blank or comment line.
	blockEnd := func(i int) int {
		j := i + 1
		for j < len(in) {
			l := strings.TrimSpace(in[j])
			if l == "" || strings.HasPrefix(l, "#") {
				break
			}
			j++
		}
		return j
	}
	for i := 0; i < len(in); {
		l := strings.TrimSpace(in[i])
		if l == "" || strings.HasPrefix(l, "#") {
			out = append(out, in[i])
			i++
			continue
		}
		cmd := strings.ToLower(reSpace.Split(l, 2)[0])
		end := i + 1 // clear is one line
		if cmd != "clear" {
			end = blockEnd(i)
		}
		switch {
		case strings.HasPrefix(cmd, "load"):
			out = append(out, strings.Replace(in[i], "load_with_nhcb", "load", 1))
			removed := 0
			body := in[i+1 : end]
			for k, line := range body {
				t := strings.TrimSpace(line)
				drop := strings.Contains(t, "{{")
				if reSTLine.MatchString(t) {
					// An @st line belongs to the sample line after it.
					drop = !keepST || (k+1 < len(body) && strings.Contains(body[k+1], "{{"))
				}
				if drop {
					removed++
					continue
				}
				out = append(out, line)
			}
			f.dropped += removed
			for ; removed > 0; removed-- {
				out = append(out, "")
			}
		case strings.HasPrefix(cmd, "eval"):
			reason := skips[i+1]
			if reason == "" && strings.Contains(strings.Join(in[i+1:end], "\n"), "{{") {
				reason = reasonHistogramResult
			}
			if reason == "" {
				f.evals++
				out = append(out, in[i:end]...)
				break
			}
			f.skipped = append(f.skipped, skipCase{line: i + 1, expr: l, reason: reason})
			for range in[i:end] {
				out = append(out, "")
			}
		default:
			out = append(out, in[i:end]...)
		}
		i = end
	}
	f.text = strings.Join(out, "\n")
	return f
}

// suiteFiles returns the upstream script paths, read from the module cache
// of the prometheus/prometheus version in go.mod.
func suiteFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("cannot locate the prometheus module: %v", err)
	}
	var m struct{ Dir, Version string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("cannot locate the prometheus module: %v (%s)", err, out)
	}
	files, err := filepath.Glob(filepath.Join(m.Dir, "promql", "promqltest", "testdata", "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promqltest scripts under %s: %v", m.Dir, err)
	}
	t.Logf("promqltest scripts of github.com/prometheus/prometheus %s", m.Version)
	sort.Strings(files)
	return files
}

// runSuite runs every prepared script with newStorage; skips==nil runs
// only the automatic filter.
func runSuite(t *testing.T, newStorage func(testing.TB) storage.Storage, skips map[string]map[int]string) {
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	var total, skipped, dropped int
	reasons := map[string]int{}
	for _, path := range suiteFiles(t) {
		name := filepath.Base(path)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var fileSkips map[int]string
		if skips != nil {
			fileSkips = skips[name]
		}
		f := prepareScript(string(src), fileSkips)
		total += f.evals
		skipped += len(f.skipped)
		dropped += f.dropped
		for _, sc := range f.skipped {
			reasons[sc.reason]++
		}
		t.Run(name, func(t *testing.T) {
			for _, s := range f.skipped {
				t.Run("skipped", func(t *testing.T) { t.Skipf("line %d: %s: %s", s.line, s.reason, s.expr) })
			}
			promqltest.RunTestWithStorage(t, f.text, engine, newStorage)
		})
	}
	t.Logf("promqltest: %d eval cases run, %d skipped, %d load lines (native histograms, @st) dropped",
		total, skipped, dropped)
	for r, n := range reasons {
		t.Logf("  skipped %d: %s", n, r)
	}
}

// TestPromQLSuite runs the upstream PromQL test suite against the store.
func TestPromQLSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the PromQL suite is not short")
	}
	runSuite(t, func(tb testing.TB) storage.Storage { return newCoreStorage(tb) }, suiteSkips)
}

// TestPromQLSuiteReference runs the same filtered scripts, without the
// suiteSkips list, on Prometheus' own TSDB: the cases that fail there
// depend on the dropped data and belong in suiteSkips.
//
//	PROMAPI_SUITE_REFERENCE=1 go test -run TestPromQLSuiteReference -v ./compat/promapi/ | grep -- '--- FAIL: .*line'
func TestPromQLSuiteReference(t *testing.T) {
	if os.Getenv("PROMAPI_SUITE_REFERENCE") == "" {
		t.Skip("set PROMAPI_SUITE_REFERENCE=1 to regenerate suiteSkips")
	}
	runSuite(t, func(tb testing.TB) storage.Storage { return promqltest.NewBuiltinTestStorage(tb) }, nil)
}
