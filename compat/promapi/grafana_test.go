package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Grafana's Prometheus datasource (promlib, HTTP method POST), call by call
// as protocols.md section 1.4 lists them.
func TestGrafanaCalls(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	cases := []struct {
		name, method, path, body string
		want                     string // exact body, or a substring when prefixed with "~"
	}{
		{"save & test", "POST", "/api/v1/query", "query=1%2B1&time=4",
			`{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}`},
		{"buildinfo heuristics", "GET", "/api/v1/status/buildinfo", "",
			`~{"status":"success","data":{"version":"3.16.0","revision":"cc-metric-bridge 0.0.0-test","branch":"cc-metric-bridge",`},
		{"panel range query", "POST", "/api/v1/query_range?stats=all",
			form("query", `avg by (hostname)(cpu_load{cluster="fritz"})`, "start", "1719859200", "end", "1719859320", "step", "60", "timeout", "60s"),
			`~"result":[{"metric":{"hostname":"f0101"},"values":[[1719859200,"3.1"],[1719859260,"3.4"],[1719859320,"3.25"]]},{"metric":{"hostname":"f0102"},"values":[[1719859200,"1"],[1719859260,"2"],[1719859320,"3"]]}]`},
		{"instant query", "POST", "/api/v1/query", form("query", `cpu_load{hostname="f0102"}`, "time", "1719859330.5"),
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"cpu_load","cluster":"fritz","hostname":"f0102","type":"node"},"value":[1719859330.500,"3"]}]}}`},
		{"exemplar probe (ms)", "GET", "/api/v1/query_exemplars?query=test&start=1719859200000&end=1719862800000", "",
			`{"status":"success","data":[]}`},
		{"exemplars toggle", "POST", "/api/v1/query_exemplars", form("query", "cpu_load", "start", "1719859200", "end", "1719862800"),
			`{"status":"success","data":[]}`},
		{"recording rules at init", "GET", "/api/v1/rules", "", `{"status":"success","data":{"groups":[]}}`},
		{"metric picker", "GET", "/api/v1/label/__name__/values?start=1719855600&end=1719862800&limit=40000", "",
			`{"status":"success","data":["cpu_load","flops_any","mem_used"]}`},
		{"label browser", "POST", "/api/v1/labels", form("start", "1719855600", "end", "1719862800", "limit", "40000"),
			`{"status":"success","data":["__name__","cluster","hostname","type"]}`},
		{"metadata", "GET", "/api/v1/metadata?limit=40000", "", `~"cpu_load":[{"type":"unknown","help":`},
		{"label_values(cpu_load{cluster=\"fritz\"}, hostname)", "GET",
			"/api/v1/label/hostname/values?" + form("match[]", `cpu_load{cluster="fritz"}`, "start", "1719855600", "end", "1719862800", "limit", "40000"), "",
			`{"status":"success","data":["f0101","f0102"]}`},
		{"label_values(cluster)", "GET", "/api/v1/label/cluster/values?start=1719855600&end=1719862800&limit=40000", "",
			`{"status":"success","data":["fritz","other"]}`},
		{"metrics(cpu_.*)", "GET", "/api/v1/label/__name__/values?" + form("match[]", `{__name__=~"cpu_.*"}`, "start", "1719855600", "end", "1719862800"), "",
			`{"status":"success","data":["cpu_load"]}`},
		{"label_names()", "POST", "/api/v1/labels?" + form("match[]", `{__name__=~".*mem.*"}`), "",
			`{"status":"success","data":["__name__","cluster","hostname","type"]}`},
		{"query_result(topk(1, cpu_load))", "GET", "/api/v1/query?" + form("query", "topk(1, cpu_load)", "time", "1719859320"), "",
			`~"result":[{"metric":{"__name__":"cpu_load","cluster":"fritz","hostname":"f0101","type":"node"},"value":[1719859320,"3.25"]}]`},
		{"series-endpoint mode", "GET", "/api/v1/series?" + form("match[]", `{__name__!=""}`, "start", "1719855600", "end", "1719862800", "limit", "40000"), "",
			`~{"__name__":"flops_any","cluster":"other","hostname":"o1","type":"node"}`},
		{"label values in series mode", "GET", "/api/v1/series?" + form("match[]", `{hostname!=""}`, "start", "1719855600", "end", "1719862800"), "",
			`~{"__name__":"mem_used","cluster":"fritz","hostname":"f0101","type":"node"}`},
		{"suggestions (POST, empty body)", "POST", "/api/v1/label/hostname/values?" + form("match[]", `mem_used`), "",
			`{"status":"success","data":["f0101"]}`},
		{"ad-hoc filter keys", "GET", "/api/v1/labels?" + form("match[]", `cpu_load`, "start", "1719855600", "end", "1719862800", "limit", "40000"), "",
			`{"status":"success","data":["__name__","cluster","hostname","type"]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(c.method, c.path, c.body)
			if r.code != 200 {
				t.Fatalf("%d %s", r.code, r.body)
			}
			if sub, ok := strings.CutPrefix(c.want, "~"); ok {
				if !strings.Contains(r.body, sub) {
					t.Errorf("got %s\nwant it to contain %s", r.body, sub)
				}
			} else if r.body != c.want {
				t.Errorf("got  %s\nwant %s", r.body, c.want)
			}
		})
	}
}

// Both sources of parameters are read; the body wins over the URL.
func TestFormBodyWins(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.post("/api/v1/query?query=1&time=10", "query=2&time=4")
	if r.body != `{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}` {
		t.Errorf("got %s", r.body)
	}
	// A multipart body is read too (Go's FormValue, like Prometheus).
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/api/v1/query", strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\n3\r\n--x--\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("multipart: %d", resp.StatusCode)
	}
}

// limit truncates vectors and matrices with a warning; stats values other
// than true/all are deprecated; annotations become warnings/infos.
func TestWarningsAndLimit(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	r := s.get("/api/v1/query?" + form("query", "cpu_load", "time", "1719859320", "limit", "1", "stats", "yes"))
	e := r.envelope(t)
	slices.Sort(e.Warnings) // annotations are a map: no order, as in Prometheus
	if len(e.Warnings) != 2 || e.Warnings[0] != "results truncated due to limit" || !strings.Contains(e.Warnings[1], `value "yes" for parameter "stats" is deprecated`) {
		t.Errorf("warnings %q", e.Warnings)
	}
	if d := r.query(t); len(d.Result) != 1 || d.Stats == nil {
		t.Errorf("limit=1, stats=yes: %s", r.body)
	}
	r = s.get("/api/v1/query_range?" + form("query", "cpu_load", "start", "1719859200", "end", "1719859320", "step", "60", "limit", "1"))
	if d := r.query(t); len(d.Result) != 1 || d.Result[0].Metric["hostname"] != "f0101" {
		t.Errorf("range limit=1: %s", r.body)
	}
	// rate() of a name without _total: an info annotation with the position.
	r = s.get("/api/v1/query?" + form("query", "rate(cpu_load[5m])", "time", "1719859320"))
	if e := r.envelope(t); len(e.Infos) != 1 || !strings.Contains(e.Infos[0], `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "cpu_load" (1:6)`) {
		t.Errorf("infos: %s", r.body)
	}
	// lookback_delta shortens the lookback of instant selectors.
	if d := s.get("/api/v1/query?" + form("query", "cpu_load", "time", "1719859380")).query(t); len(d.Result) != 2 {
		t.Errorf("default lookback: %v", d)
	}
	if d := s.get("/api/v1/query?" + form("query", "cpu_load", "time", "1719859380", "lookback_delta", "30s")).query(t); len(d.Result) != 0 {
		t.Errorf("lookback_delta=30s: %v", d)
	}
}

// Engine limits: max samples (422), timeout (503), concurrency.
func TestEngineLimits(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.MaxSamples = 10 })
	jobData(s)
	s.get("/api/v1/query_range?"+form("query", "cpu_load", "start", "1719859200", "end", "1719859320", "step", "10")).
		wantError(t, 422, "execution", "query processing would load too many samples into memory in query execution")

	s = newTestServer(t, func(o *Options) { o.Timeout = time.Nanosecond })
	s.get("/api/v1/query?query=1").wantError(t, 503, "timeout", "query timed out")

	s = newTestServer(t, func(o *Options) { o.MaxConcurrent = 1 })
	tracker := s.api.slots
	if _, err := tracker.Insert(context.Background(), "hold"); err != nil {
		t.Fatal(err)
	}
	s.get("/api/v1/query?query=1&timeout=50ms").wantError(t, 503, "timeout", "query timed out in query queue")
	tracker.Delete(0)
	if r := s.get("/api/v1/query?query=1"); r.code != 200 {
		t.Errorf("after release: %d %s", r.code, r.body)
	}
}

// Large answers are gzip-compressed for clients that accept it.
func TestGzip(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	q := "/api/v1/query_range?" + form("query", "cpu_load", "start", "1719859200", "end", "1719862800", "step", "1")
	plain := s.do(http.MethodGet, q, "", "Accept-Encoding", "identity")
	zipped := s.do(http.MethodGet, q, "", "Accept-Encoding", "gzip, deflate")
	if plain.header.Get("Content-Encoding") != "" || zipped.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q / %q", plain.header.Get("Content-Encoding"), zipped.header.Get("Content-Encoding"))
	}
	if plain.body != zipped.body || len(plain.body) < minGzipBytes {
		t.Errorf("bodies differ or are small (%d bytes)", len(plain.body))
	}
	if small := s.do(http.MethodGet, "/api/v1/query?query=1", "", "Accept-Encoding", "gzip"); small.header.Get("Content-Encoding") != "" {
		t.Error("small answer compressed")
	}
}

func TestFormatAndParseQuery(t *testing.T) {
	s := newTestServer(t, nil)
	if r := s.post("/api/v1/format_query", "query=foo/bar"); r.body != `{"status":"success","data":"foo / bar"}` {
		t.Errorf("format_query: %s", r.body)
	}
	s.get("/api/v1/format_query?query=foo/").wantError(t, 400, "bad_data", `invalid parameter "query"`)
	var ast map[string]any
	if err := json.Unmarshal(s.get("/api/v1/parse_query?"+form("query", `sum by (a) (rate(x{y="z"}[5m] offset 1m))`)).wantData(t), &ast); err != nil {
		t.Fatal(err)
	}
	if ast["type"] != "aggregation" || ast["op"] != "sum" {
		t.Errorf("parse_query: %v", ast)
	}
	b, _ := json.Marshal(ast)
	for _, sub := range []string{`"type":"matrixSelector"`, `"range":300000`, `"offset":60000`, `{"name":"y","type":"=","value":"z"}`} {
		if !strings.Contains(string(b), sub) {
			t.Errorf("parse_query lacks %s: %s", sub, b)
		}
	}
}

// New series, freed series and new samples are visible to the next query.
func TestIndexFollowsStore(t *testing.T) {
	s := newTestServer(t, nil)
	s.writeLP("cpu_load,hostname=a value=1 1719859200\n")
	names := func() []string { return s.get("/api/v1/label/hostname/values").strings(t) }
	if got := names(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("hosts %v", got)
	}
	s.writeLP("cpu_load,hostname=b value=1 1719859260\n")
	if got := names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after a write: %v", got)
	}
	s.st.Free([]string{testCluster, "a"}, 1719859260000)
	if got := names(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after free: %v", got)
	}
	s.writeLP("cpu_load,hostname=c value=1 1719859260\n")
	if got := names(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("after another write: %v", got)
	}
	// Equal counts: the index is trusted until indexMaxAge passes.
	s.st.Free([]string{testCluster, "b"}, 1719859300000)
	s.writeLP("cpu_load,hostname=d value=1 1719859260\n")
	ix := s.api.q.ix
	ix.now = func() time.Time { return time.Now().Add(indexMaxAge) }
	if got := names(); !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("after the index aged: %v", got)
	}
}

// Two tree positions with one label set are one series with merged
// samples. promlabels.ToKey never produces such keys; the keys are built by
// hand (a marked key whose verbatim labels equal a line-protocol reading).
func TestDuplicateLabelSetsMerge(t *testing.T) {
	st := newStore(t)
	app := st.Appender()
	k1 := core.Key{Cluster: []byte("c"), Host: []byte("h"), Metric: []byte("m")}
	var lb []byte
	for _, kv := range [][2]string{{"__ccmb_rw__", "1"}, {"cluster", "c"}, {"hostname", "h"}, {"type", "node"}} {
		lb = core.AppendLabel(lb, []byte(kv[0]), []byte(kv[1]))
	}
	k2 := core.Key{Cluster: []byte("c"), Host: []byte("other"), Metric: []byte("m"), Labels: lb}
	for _, w := range []struct {
		k *core.Key
		s core.Sample
	}{{&k1, core.Sample{T: 1000, V: 1}}, {&k1, core.Sample{T: 3000, V: 3}}, {&k2, core.Sample{T: 2000, V: 2}}, {&k2, core.Sample{T: 3000, V: 3}}} {
		if err := app.Append(w.k, w.s.T, w.s.V); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	q := &queryable{ix: newIndexer(st)}
	qr, _ := q.Querier(0, 10000)
	set := qr.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	var n int
	for set.Next() {
		n++
		if got := set.At().Labels().String(); got != `{__name__="m", cluster="c", hostname="h", type="node"}` {
			t.Errorf("labels %s", got)
		}
		it := set.At().Iterator(nil)
		var got []core.Sample
		for it.Next() != 0 {
			tt, v := it.At()
			got = append(got, core.Sample{T: tt, V: v})
		}
		if want := []core.Sample{{T: 1000, V: 1}, {T: 2000, V: 2}, {T: 3000, V: 3}}; !slices.Equal(got, want) {
			t.Errorf("samples %v, want %v", got, want)
		}
	}
	if n != 1 {
		t.Fatalf("%d series, want 1", n)
	}
}

// promtool (Prometheus' CLI) against the server, when installed
// (tools/install-peers.sh puts it in ~/.cache/peers/bin).
func TestPromtool(t *testing.T) {
	bin := peerBinary("promtool")
	if bin == "" {
		t.Skip("promtool not installed (run /work/shared/tools/install-peers.sh prometheus)")
	}
	s := newTestServer(t, func(o *Options) { o.Now = time.Now })
	now := time.Now().Truncate(time.Second)
	for i := range int64(5) {
		s.writeLP(fmt.Sprintf("cpu_load,cluster=fritz,hostname=f0101,type=node value=%d %d\n", i+1, now.Unix()-(4-i)*60))
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("check", "healthy", "--url", s.srv.URL); !strings.Contains(out, "Healthy") {
		t.Errorf("check healthy: %s", out)
	}
	if out := run("check", "ready", "--url", s.srv.URL); !strings.Contains(out, "Ready") {
		t.Errorf("check ready: %s", out)
	}
	if out := run("query", "instant", "-o", "json", s.srv.URL, "cpu_load"); !strings.Contains(out, `"value":[`) || !strings.Contains(out, `"5"`) {
		t.Errorf("query instant: %s", out)
	}
	out := run("query", "range", "--start="+itoa(now.Add(-4*time.Minute).Unix()), "--end="+itoa(now.Unix()), "--step=1m", s.srv.URL, "cpu_load")
	for _, v := range []string{"1 @[", "3 @[", "5 @["} {
		if !strings.Contains(out, v) {
			t.Errorf("query range lacks %q: %s", v, out)
		}
	}
	if out := run("query", "labels", s.srv.URL, "hostname"); strings.TrimSpace(out) != "f0101" {
		t.Errorf("query labels: %q", out)
	}
	if out := run("query", "series", "--match=cpu_load", s.srv.URL); !strings.Contains(out, `hostname="f0101"`) {
		t.Errorf("query series: %q", out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// peerBinary finds a peer tool in ~/.cache/peers/bin.
func peerBinary(name string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	p := filepath.Join(home, ".cache", "peers", "bin", name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Answers beyond flushBytes are streamed in chunks, plain or gzip.
func TestStreamedAnswer(t *testing.T) {
	s := newTestServer(t, nil)
	const n, pts = 20, 11000
	smp := make([]core.Sample, pts)
	for i := range smp {
		smp[i] = core.Sample{T: 1719859200000 + int64(i)*1000, V: float64(i) / 8}
	}
	for h := range n {
		s.writeRW(labels.FromStrings("__name__", "big", "hostname", fmt.Sprintf("h%02d", h)), smp...)
	}
	q := "/api/v1/query_range?" + form("query", "big", "start", "1719859200", "end", itoa(1719859200+pts-1), "step", "1")
	plain := s.do(http.MethodGet, q, "", "Accept-Encoding", "identity")
	zipped := s.do(http.MethodGet, q, "", "Accept-Encoding", "gzip")
	if zipped.header.Get("Content-Encoding") != "gzip" || plain.header.Get("Content-Encoding") != "" {
		t.Fatalf("Content-Encoding %q / %q", zipped.header.Get("Content-Encoding"), plain.header.Get("Content-Encoding"))
	}
	if plain.body != zipped.body || len(plain.body) < 4*flushBytes {
		t.Fatalf("bodies differ or are small (%d, %d bytes)", len(plain.body), len(zipped.body))
	}
	d := plain.query(t)
	if len(d.Result) != n || len(d.Result[n-1].Values) != pts || string(d.Result[n-1].Values[pts-1][1]) != `"1374.875"` {
		t.Fatalf("streamed answer: %d series", len(d.Result))
	}
}
