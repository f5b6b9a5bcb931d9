package native_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// goldenMeta is testdata/ccms/meta.json (format in README.md beside it).
type goldenMeta struct {
	T0           int64 `json:"T0"`
	Anchor       int64 `json:"anchor"`
	ShiftQuantum int64 `json:"shift_quantum"`
	TSWindow     int64 `json:"ts_window"`
	Metrics      map[string]struct {
		Frequency   int64   `json:"frequency"`
		Aggregation *string `json:"aggregation"`
	} `json:"metrics"`
}

type goldenCase struct {
	Name     string `json:"name"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Body     string `json:"body"`
	Status   int    `json:"status"`
	Response string `json:"response"`
	Compare  string `json:"compare"`
	Pattern  string `json:"pattern"`
}

// shifter moves every timestamp of the capture (seconds, or ms/µs/ns near
// T0) by the same multiple of the quantum, so the data lands near now.
type shifter struct {
	t0, window, shift int64
}

var digits = regexp.MustCompile(`\d+`)

func (s shifter) apply(text string) string {
	return digits.ReplaceAllStringFunc(text, func(d string) string {
		x, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return d
		}
		for _, scale := range []int64{1, 1e3, 1e6, 1e9} {
			if abs(x-s.t0*scale) <= s.window*scale {
				return strconv.FormatInt(x+s.shift*scale, 10)
			}
		}
		return d
	})
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// TestGoldenCCMS replays the cc-metric-store 1.5.4 capture over real HTTP
// and compares status and body byte for byte, except the documented
// improvements: POST /api/query answers like GET, /api/debug is valid JSON,
// and 400s for bad line protocol keep the shape but name line and reason.
func TestGoldenCCMS(t *testing.T) {
	var meta goldenMeta
	raw, err := os.ReadFile("testdata/ccms/meta.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	metrics := map[string][2]any{}
	for name, m := range meta.Metrics {
		agg := "null"
		if m.Aggregation != nil {
			agg = *m.Aggregation
		}
		metrics[name] = [2]any{m.Frequency, agg}
	}
	srv := startServer(t, metrics)

	now := time.Now().Unix()
	// anchor+shift in (now-quantum, now]
	q := meta.ShiftQuantum
	shift := floorDiv(now-meta.Anchor, q) * q
	sh := shifter{t0: meta.T0, window: meta.TSWindow, shift: shift}

	for _, w := range readJSONL[goldenCase](t, "testdata/ccms/writes.jsonl") {
		status, body := srv.do(t, "POST", sh.apply(w.Path), sh.apply(w.Body))
		if status/100 != 2 {
			t.Fatalf("setup write %s: status %d: %s", w.Path, status, body)
		}
	}
	cases := readJSONL[goldenCase](t, "testdata/ccms/cases.jsonl")
	if len(cases) < 40 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	for _, c := range cases {
		path, reqBody := sh.apply(c.Path), sh.apply(c.Body)
		want := sh.apply(c.Response)
		wantStatus := c.Status
		if c.Method == "POST" && wantStatus == http.StatusMethodNotAllowed && strings.HasPrefix(path, "/api/query") {
			// Documented improvement: POST queries answer as GET does.
			wantStatus, want = srv.do(t, "GET", path, reqBody)
		}
		status, got := srv.do(t, c.Method, path, reqBody)
		if status != wantStatus {
			t.Errorf("%s: status %d, want %d (body %q)", c.Name, status, wantStatus, got)
			continue
		}
		switch c.Compare {
		case "", "exact":
			if got != want {
				t.Errorf("%s: body differs\n got: %q\nwant: %q", c.Name, got, want)
			}
		case "status":
		case "error-shape":
			checkErrorShape(t, c.Name, got, want)
		case "shape":
			checkDebugShape(t, c.Name, got)
		case "regex":
			if !regexp.MustCompile(`^(?:` + c.Pattern + `)$`).MatchString(strings.TrimRight(got, " \n\t")) {
				t.Errorf("%s: body %q does not match %q", c.Name, got, c.Pattern)
			}
		default:
			t.Fatalf("%s: unknown compare mode %q", c.Name, c.Compare)
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func checkErrorShape(t *testing.T, name, got, want string) {
	t.Helper()
	var g, w struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("%s: body not JSON: %q", name, got)
		return
	}
	_ = json.Unmarshal([]byte(want), &w)
	if g.Status != w.Status || g.Error == "" || !strings.HasSuffix(got, "}\n") {
		t.Errorf("%s: body %q, want the shape of %q", name, got, want)
	}
	if !strings.Contains(g.Error, "line 1") {
		t.Errorf("%s: error %q does not name the line", name, g.Error)
	}
}

// checkDebugShape checks the debug dump of test:h7: valid JSON with the
// levels socket0/core1 and a flops_any chunk list with start/len/end.
func checkDebugShape(t *testing.T, name, got string) {
	t.Helper()
	var dump struct {
		Data map[string]map[string]map[string][]map[string]int64 `json:"data"`
	}
	if err := json.Unmarshal([]byte(got), &dump); err != nil {
		t.Errorf("%s: not valid JSON (%v): %q", name, err, got)
		return
	}
	chunks := dump.Data["socket0"]["core1"]["flops_any"]
	if len(chunks) != 1 {
		t.Errorf("%s: want one chunk under socket0/core1/flops_any: %q", name, got)
		return
	}
	c := chunks[0]
	if c["len"] != 1 || c["end"]-c["start"] != 10 {
		t.Errorf("%s: chunk %v, want len 1 spanning one 10 s slot", name, c)
	}
}

func readAll(t testing.TB, r io.Reader) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
