package promapi

import (
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// The cases of protocols.md section 8 that concern the query API (1–19,
// and the query side of the remote-write cases 20, 21, 29 and 30: their
// data is written through promlabels.ToKey, the remote-write path), over
// real HTTP on 127.0.0.1.

// jobData writes cpu_load of f0101 and f0102 (cluster fritz) at
// 1719859200, +60, +120 and mem_used of f0101, over line protocol.
func jobData(s *testServer) {
	s.writeLP(`cpu_load,cluster=fritz,hostname=f0101,type=node value=3.1 1719859200
cpu_load,cluster=fritz,hostname=f0101,type=node value=3.4 1719859260
cpu_load,cluster=fritz,hostname=f0101,type=node value=3.25 1719859320
cpu_load,cluster=fritz,hostname=f0102,type=node value=1 1719859200
cpu_load,cluster=fritz,hostname=f0102,type=node value=2 1719859260
cpu_load,cluster=fritz,hostname=f0102,type=node value=3 1719859320
mem_used,cluster=fritz,hostname=f0101,type=node value=100 1719859200
flops_any,cluster=other,hostname=o1,type=node value=5 1719859200
`)
}

// Case 1 and 2: Grafana's "Save & test", GET and POST give the same bytes.
func TestSaveAndTest(t *testing.T) {
	s := newTestServer(t, nil)
	const want = `{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}`
	get := s.get("/api/v1/query?query=1%2B1&time=4")
	post := s.post("/api/v1/query", "query=1%2B1&time=4")
	for _, r := range []response{get, post} {
		if r.code != 200 || r.body != want {
			t.Errorf("got %d %s, want 200 %s", r.code, r.body, want)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}

// Case 3: POST query_range with a form body and extra URL parameters
// (stats=all, Grafana's unknown thresholds) is merged and answered.
func TestQueryRangePOSTWithURLParams(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	r := s.post("/api/v1/query_range?stats=all&max_samples_processed_warning_threshold=5",
		form("query", `cpu_load{hostname="f0101"}`, "start", "1719859200", "end", "1719859320", "step", "60"))
	d := r.query(t)
	if d.ResultType != "matrix" || len(d.Result) != 1 {
		t.Fatalf("got %s", r.body)
	}
	got := rawPoints(d.Result[0].Values)
	want := []string{`[1719859200,"3.1"]`, `[1719859260,"3.4"]`, `[1719859320,"3.25"]`}
	if !slices.Equal(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
	if len(d.Stats) == 0 || !strings.Contains(string(d.Stats), `"timings"`) {
		t.Errorf("stats=all gave no stats: %s", d.Stats)
	}
	// Per-step stats need a feature flag in Prometheus too (off by default).
}

func rawPoints(vs [][]json.RawMessage) []string {
	var out []string
	for _, v := range vs {
		out = append(out, "["+string(v[0])+","+string(v[1])+"]")
	}
	return out
}

// Case 4: a scalar range query is a matrix with one series without labels.
func TestQueryRangeScalarIsMatrix(t *testing.T) {
	s := newTestServer(t, nil)
	r := s.get("/api/v1/query_range?query=1%2B1&start=0&end=60&step=30")
	const want = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"2"],[30,"2"],[60,"2"]]}]}}`
	if r.code != 200 || r.body != want {
		t.Fatalf("got %d %s\nwant %s", r.code, r.body, want)
	}
}

// Case 5: every time format gives the same answer; timestamps are numbers.
func TestTimeFormats(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	var first string
	for _, ts := range []string{"2024-07-01T18:40:00Z", "1719859200", "1719859200.000", "2024-07-01T20:40:00+02:00", "1.7198592e9", "2024-07-01T18:40:00.000000000Z"} {
		r := s.get("/api/v1/query?" + form("query", `cpu_load{hostname="f0101"}`, "time", ts))
		d := r.query(t)
		if len(d.Result) != 1 || string(d.Result[0].Value[0]) != "1719859200" || string(d.Result[0].Value[1]) != `"3.1"` {
			t.Fatalf("time=%s: %s", ts, r.body)
		}
		if first == "" {
			first = r.body
		} else if r.body != first {
			t.Errorf("time=%s: %s differs from %s", ts, r.body, first)
		}
	}
	// Millisecond precision: the fraction is rounded to ms.
	r := s.get("/api/v1/query?query=time()&time=1719859200.7814")
	if r.body != `{"status":"success","data":{"resultType":"scalar","result":[1719859200.781,"1719859200.781"]}}` {
		t.Errorf("time() at .7814: %s", r.body)
	}
	// Prometheus' MinTime/MaxTime renderings parse.
	for _, ts := range []string{minTimeFormatted, maxTimeFormatted} {
		if r := s.get("/api/v1/labels?" + form("start", ts, "end", ts)); r.code != 200 {
			t.Errorf("start=%s: %d %s", ts, r.code, r.body)
		}
	}
	s.get("/api/v1/query?time=yesterday&query=1").wantError(t, 400, "bad_data",
		`invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`)
	s.get("/api/v1/query_range?query=1&start=x&end=1&step=1").wantError(t, 400, "bad_data",
		`invalid parameter "start": cannot parse "x" to a valid timestamp`)
}

// Case 6: durations as Prometheus duration or float seconds.
func TestStepFormats(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	var first string
	for _, step := range []string{"1m", "60", "60.0", "60s", "60000ms", "6e1"} {
		r := s.get("/api/v1/query_range?" + form("query", "cpu_load", "start", "1719859200", "end", "1719859320", "step", step))
		d := r.query(t)
		if len(d.Result) != 2 || len(d.Result[0].Values) != 3 {
			t.Fatalf("step=%s: %s", step, r.body)
		}
		if first == "" {
			first = r.body
		} else if r.body != first {
			t.Errorf("step=%s differs", step)
		}
	}
	for _, step := range []string{"1.5m", "1m30", "x", ""} {
		s.get("/api/v1/query_range?"+form("query", "cpu_load", "start", "1719859200", "end", "1719859320", "step", step)).
			wantError(t, 400, "bad_data", `invalid parameter "step": cannot parse`)
	}
}

// Case 7: the range checks.
func TestQueryRangeLimits(t *testing.T) {
	s := newTestServer(t, nil)
	s.get("/api/v1/query_range?query=1&start=0&end=60&step=0").wantError(t, 400, "bad_data",
		`invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer`)
	s.get("/api/v1/query_range?query=1&start=0&end=60&step=-1").wantError(t, 400, "bad_data", "zero or negative")
	s.get("/api/v1/query_range?query=1&start=100&end=50&step=1").wantError(t, 400, "bad_data",
		`invalid parameter "end": end timestamp must not be before start time`)
	s.get("/api/v1/query_range?query=1&start=0&end=11001&step=1").wantError(t, 400, "bad_data",
		"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	if r := s.get("/api/v1/query_range?query=1&start=0&end=11000&step=1"); r.code != 200 {
		t.Errorf("11,000 points: %d %s", r.code, r.body)
	}
	for _, p := range []string{"start", "end", "step"} {
		v := map[string]string{"start": "0", "end": "60", "step": "15"}
		delete(v, p)
		s.get("/api/v1/query_range?"+form("query", "1", "start", v["start"], "end", v["end"], "step", v["step"])).
			wantError(t, 400, "bad_data", `invalid parameter "`+p+`"`)
	}
}

// Case 8 and 9: parse errors are bad_data, evaluation errors execution.
func TestQueryErrors(t *testing.T) {
	s := newTestServer(t, nil)
	s.writeLP("cpu_load,hostname=h value=1 1719859200\nmem_used,hostname=h value=2 1719859200\n")
	r := s.get("/api/v1/query?query=sum(")
	r.wantError(t, 400, "bad_data", `invalid parameter "query": 1:5: parse error: unclosed left parenthesis`)
	if r.body != `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}` {
		t.Errorf("body %s", r.body)
	}
	s.get("/api/v1/query?query=").wantError(t, 400, "bad_data", "no expression found in input")
	s.get("/api/v1/query_range?"+form("query", "rate(", "start", "0", "end", "1", "step", "1")).wantError(t, 400, "bad_data", "parse error")
	s.get("/api/v1/query?"+form("query", `abs({__name__=~"cpu_load|mem_used"})`, "time", "1719859200")).
		wantError(t, 422, "execution", "vector cannot contain metrics with the same labelset")
	s.get("/api/v1/query?query=1&limit=-1").wantError(t, 400, "bad_data", `invalid parameter "limit": limit must be non-negative`)
	s.get("/api/v1/query?query=1&timeout=0").wantError(t, 400, "bad_data", `invalid parameter "timeout": timeout must be positive`)
	s.get("/api/v1/query?query=1&lookback_delta=x").wantError(t, 400, "bad_data", "error parsing lookback delta duration")
}

// Case 10: special values are JSON strings spelled as Prometheus does.
func TestValueEncoding(t *testing.T) {
	s := newTestServer(t, nil)
	vals := map[string]float64{"nan": math.NaN(), "pinf": math.Inf(1), "ninf": math.Inf(-1), "tiny": 1e-7, "half": 0.5, "hundred": 100, "big": 1.5e21, "neg": -2.25}
	for k, v := range vals {
		s.writeRW(labels.FromStrings("__name__", "special", "case", k, "hostname", "h"), core.Sample{T: 1719859200000, V: v})
	}
	want := map[string]string{"nan": `"NaN"`, "pinf": `"+Inf"`, "ninf": `"-Inf"`, "tiny": `"1e-07"`, "half": `"0.5"`, "hundred": `"100"`, "big": `"1.5e+21"`, "neg": `"-2.25"`}
	for _, path := range []string{
		"/api/v1/query?query=special&time=1719859200",
		"/api/v1/query_range?query=special&start=1719859200&end=1719859200&step=1",
	} {
		d := s.get(path).query(t)
		if len(d.Result) != len(want) {
			t.Fatalf("%s: %d series", path, len(d.Result))
		}
		for _, r := range d.Result {
			v := r.Value
			if v == nil {
				v = r.Values[0]
			}
			if string(v[1]) != want[r.Metric["case"]] || string(v[0]) != "1719859200" {
				t.Errorf("%s: case %s: %s %s, want %s", path, r.Metric["case"], v[0], v[1], want[r.Metric["case"]])
			}
		}
	}
	// Sub-second timestamps: milliseconds as three decimals, written as
	// Prometheus' jsonutil.MarshalTimestamp does (.050, not .05).
	s.writeRW(labels.FromStrings("__name__", "frac", "hostname", "h"), core.Sample{T: 1719859200050, V: 1}, core.Sample{T: 1719859201781, V: 2})
	r := s.get("/api/v1/query_range?query=frac&start=1719859200.05&end=1719859201.781&step=1.731")
	if !strings.Contains(r.body, `"values":[[1719859200.050,"1"],[1719859201.781,"2"]]`) {
		t.Errorf("fractional timestamps: %s", r.body)
	}
}

// Cases 11 and 12: /api/v1/series.
func TestSeriesEndpoint(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	s.get("/api/v1/series").wantError(t, 400, "bad_data", "no match[] parameter provided")
	s.get("/api/v1/series?"+form("match[]", `{__name__=~".*"}`)).wantError(t, 400, "bad_data", "match[] must contain at least one non-empty matcher")
	s.get("/api/v1/series?"+form("match[]", `cpu_load{`)).wantError(t, 400, "bad_data", `invalid parameter "match[]"`)

	r := s.get("/api/v1/series?" + form("match[]", `{__name__!=""}`, "limit", "1"))
	e := r.envelope(t)
	if r.code != 200 || !slices.Equal(e.Warnings, []string{"results truncated due to limit"}) {
		t.Fatalf("limit=1: %d %s", r.code, r.body)
	}
	if string(e.Data) != `[{"__name__":"cpu_load","cluster":"fritz","hostname":"f0101","type":"node"}]` {
		t.Errorf("limit=1 data %s", e.Data)
	}
	// Several match[] are OR-ed and deduplicated; POST works.
	r = s.post("/api/v1/series", form("match[]", `cpu_load{hostname="f0102"}`, "match[]", `{hostname="f0102"}`, "match[]", "mem_used"))
	want := `[{"__name__":"cpu_load","cluster":"fritz","hostname":"f0102","type":"node"},{"__name__":"mem_used","cluster":"fritz","hostname":"f0101","type":"node"}]`
	if d := r.wantData(t); string(d) != want {
		t.Errorf("got %s\nwant %s", d, want)
	}
	// start/end select series with samples in the range.
	r = s.get("/api/v1/series?" + form("match[]", `{cluster="fritz"}`, "start", "1719859260", "end", "1719859400"))
	if d := r.wantData(t); strings.Contains(string(d), "mem_used") || !strings.Contains(string(d), "f0102") {
		t.Errorf("time range: %s", d)
	}
	if d := s.get("/api/v1/series?" + form("match[]", "nothing")).wantData(t); string(d) != "[]" {
		t.Errorf("no match: %s", d)
	}
}

// Case 13: /api/v1/labels, GET and POST with match[].
func TestLabelNames(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	s.writeLP("cpu_load,cluster=fritz,hostname=f0101,type=core,type-id=12 value=1 1719859200\n")
	got := s.get("/api/v1/labels").strings(t)
	for _, n := range []string{"__name__", "cluster", "hostname", "type", "type_id"} {
		if !slices.Contains(got, n) {
			t.Errorf("labels %v lack %s", got, n)
		}
	}
	if !slices.IsSorted(got) || slices.Contains(got, "type-id") {
		t.Errorf("labels %v", got)
	}
	got = s.post("/api/v1/labels", form("match[]", "mem_used")).strings(t)
	if !slices.Equal(got, []string{"__name__", "cluster", "hostname", "type"}) {
		t.Errorf("labels of mem_used %v", got)
	}
	r := s.get("/api/v1/labels?limit=2")
	if e := r.envelope(t); string(e.Data) != `["__name__","cluster"]` || len(e.Warnings) != 1 {
		t.Errorf("limit=2: %s", r.body)
	}
	s.get("/api/v1/labels?"+form("match[]", `{foo=""}`)).wantError(t, 400, "bad_data", "non-empty matcher")
	s.get("/api/v1/labels?limit=x").wantError(t, 400, "bad_data", `invalid parameter "limit"`)
	s.get("/api/v1/labels?start=x").wantError(t, 400, "bad_data", `invalid parameter "start"`)
}

// Cases 14 and 15: label values with match[] and U__ names.
func TestLabelValues(t *testing.T) {
	empty := newTestServer(t, nil)
	if d := empty.get("/api/v1/label/__name__/values?" + form("match[]", `{cluster="fritz"}`)).wantData(t); string(d) != "[]" {
		t.Errorf("empty store: %s", d)
	}
	s := newTestServer(t, nil)
	jobData(s)
	got := s.get("/api/v1/label/__name__/values?" + form("match[]", `{cluster="fritz"}`, "start", "1719855600", "end", "1719862800", "limit", "40000")).strings(t)
	if !slices.Equal(got, []string{"cpu_load", "mem_used"}) {
		t.Errorf("metric names of fritz: %v", got)
	}
	if got := s.get("/api/v1/label/__name__/values").strings(t); !slices.Equal(got, []string{"cpu_load", "flops_any", "mem_used"}) {
		t.Errorf("all metric names: %v", got)
	}
	s.writeLP("cpu_load,cluster=fritz,hostname=f0101,type=core,type-id=12 value=1 1719859200\n")
	if got := s.get("/api/v1/label/type_id/values").strings(t); !slices.Equal(got, []string{"12"}) {
		t.Errorf("type_id values %v", got)
	}
	// U__type_2d_id is "type-id": valid, and no series carries it.
	if d := s.get("/api/v1/label/U__type_2d_id/values").wantData(t); string(d) != "[]" {
		t.Errorf("U__type_2d_id: %s", d)
	}
	s.writeRW(labels.FromStrings("__name__", "http_requests_total", "http.status_code", "200", "hostname", "h"), core.Sample{T: 1719859200000, V: 1})
	if got := s.get("/api/v1/label/U__http_2e_status__code/values").strings(t); !slices.Equal(got, []string{"200"}) {
		t.Errorf("U__http_2e_status__code: %v", got)
	}
	s.get("/api/v1/label/%ff/values").wantError(t, 400, "bad_data", `invalid label name: "\xff"`)
	// Several match[] OR-ed; limit; Grafana's POST with parameters in the URL.
	r := s.get("/api/v1/label/hostname/values?" + form("match[]", "mem_used", "match[]", `cpu_load{hostname="f0102"}`, "limit", "1"))
	if e := r.envelope(t); string(e.Data) != `["f0101"]` || len(e.Warnings) != 1 {
		t.Errorf("limit=1: %s", r.body)
	}
	if got := s.post("/api/v1/label/hostname/values?"+form("match[]", `cpu_load{cluster="fritz"}`), "").strings(t); !slices.Equal(got, []string{"f0101", "f0102"}) {
		t.Errorf("POST with URL parameters: %v", got)
	}
}

// Case 16: buildinfo.
func TestBuildInfo(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.Auth = denyAll })
	d := s.get("/api/v1/status/buildinfo").wantData(t)
	var info map[string]any
	if err := json.Unmarshal(d, &info); err != nil {
		t.Fatal(err)
	}
	if _, ok := info["features"]; ok {
		t.Error("buildinfo has features")
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(info["version"].(string)) {
		t.Errorf("version %v is not semver", info["version"])
	}
	for _, k := range []string{"version", "revision", "branch", "buildUser", "buildDate", "goVersion"} {
		if _, ok := info[k].(string); !ok {
			t.Errorf("%s is %T, want string", k, info[k])
		}
	}
}

// Case 17: exemplars, metadata, rules, alerts, runtimeinfo.
func TestAuxiliaryEndpoints(t *testing.T) {
	s := newTestServer(t, nil)
	jobData(s)
	for _, r := range []response{
		s.get("/api/v1/query_exemplars?query=test&start=1719859200000&end=1719859260000"),
		s.post("/api/v1/query_exemplars", form("query", "cpu_load", "start", "1719859200", "end", "1719859260")),
	} {
		if r.code != 200 || r.body != `{"status":"success","data":[]}` {
			t.Errorf("exemplars: %d %s", r.code, r.body)
		}
	}
	if r := s.get("/api/v1/query_exemplars?query=1%2B1"); r.code != http.StatusNoContent || r.body != "" {
		t.Errorf("exemplars without selector: %d %q", r.code, r.body)
	}
	s.get("/api/v1/query_exemplars?query=1&start=10&end=5").wantError(t, 400, "bad_data", "end timestamp must not be before start timestamp")
	s.get("/api/v1/query_exemplars?query=sum(").wantError(t, 400, "bad_data", "parse error")

	var md map[string][]map[string]string
	if err := json.Unmarshal(s.get("/api/v1/metadata?limit=40000").wantData(t), &md); err != nil {
		t.Fatal(err)
	}
	if len(md["cpu_load"]) != 1 || md["cpu_load"][0]["type"] != "unknown" {
		t.Errorf("metadata %v", md)
	}
	if d := s.get("/api/v1/metadata?limit=1&metric=mem_used").wantData(t); !strings.HasPrefix(string(d), `{"mem_used":[{"type":`) {
		t.Errorf("metadata of mem_used: %s", d)
	}
	s.get("/api/v1/metadata?limit=x").wantError(t, 400, "bad_data", "limit must be a number")
	if r := s.get("/api/v1/rules"); r.body != `{"status":"success","data":{"groups":[]}}` {
		t.Errorf("rules: %s", r.body)
	}
	if r := s.get("/api/v1/alerts"); r.body != `{"status":"success","data":{"alerts":[]}}` {
		t.Errorf("alerts: %s", r.body)
	}
	var rt map[string]any
	if err := json.Unmarshal(s.get("/api/v1/status/runtimeinfo").wantData(t), &rt); err != nil {
		t.Fatal(err)
	}
	if rt["timeSeriesCount"] != float64(4) || rt["reloadConfigSuccess"] != true {
		t.Errorf("runtimeinfo %v", rt)
	}
	if r := s.get("/api/v1/status/flags"); r.code != 404 {
		t.Errorf("flags: %d (want 404 so that Grafana does not take the server for Thanos)", r.code)
	}
}

// Case 18: health and readiness.
func TestHealthReady(t *testing.T) {
	ready := false
	s := newTestServer(t, func(o *Options) { o.Ready = func() bool { return ready }; o.Auth = denyAll })
	if r := s.get("/-/healthy"); r.code != 200 || r.body != "Prometheus Server is Healthy.\n" {
		t.Errorf("healthy: %d %q", r.code, r.body)
	}
	if r := s.get("/-/ready"); r.code != 503 || r.body != "Service Unavailable" {
		t.Errorf("ready while restoring: %d %q", r.code, r.body)
	}
	ready = true
	if r := s.get("/-/ready"); r.code != 200 || r.body != "Prometheus Server is Ready.\n" {
		t.Errorf("ready: %d %q", r.code, r.body)
	}
	for _, p := range []string{"/-/ready", "/-/healthy"} {
		if r := s.do(http.MethodHead, p, ""); r.code != 200 || r.body != "" {
			t.Errorf("HEAD %s: %d %q", p, r.code, r.body)
		}
	}
}

// Not ready: data routes answer 503 like a starting Prometheus.
func TestNotReady(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.Ready = func() bool { return false } })
	if r := s.get("/api/v1/query?query=1"); r.code != 503 {
		t.Errorf("query while restoring: %d %s", r.code, r.body)
	}
	if r := s.get("/api/v1/status/buildinfo"); r.code != 200 {
		t.Errorf("buildinfo while restoring: %d", r.code)
	}
}

func denyAll(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusUnauthorized, map[string]string{"error": "no token"})
}

// Auth guards every data route; health, readiness and buildinfo stay open.
func TestAuth(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.Auth = denyAll })
	for _, p := range []string{"/api/v1/query?query=1", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
		"/api/v1/label/x/values", "/api/v1/metadata", "/api/v1/query_exemplars", "/api/v1/rules", "/api/v1/alerts",
		"/api/v1/format_query", "/api/v1/parse_query", "/api/v1/status/runtimeinfo"} {
		if r := s.get(p); r.code != 401 {
			t.Errorf("%s without token: %d", p, r.code)
		}
	}
	for _, p := range []string{"/-/healthy", "/-/ready", "/api/v1/status/buildinfo"} {
		if r := s.get(p); r.code != 200 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
}

// Case 20, 21: a remote-write series answers with exactly its labels.
func TestRemoteWriteSeriesLabels(t *testing.T) {
	s := newTestServer(t, nil)
	now := testNow.UnixMilli()
	s.writeRW(labels.FromStrings("__name__", "up", "job", "node", "instance", "h1:9100"), core.Sample{T: now - 1000, V: 1})
	r := s.get("/api/v1/query?query=up")
	if !strings.Contains(r.body, `"result":[{"metric":{"__name__":"up","instance":"h1:9100","job":"node"},"value":[1719862800,"1"]}]`) {
		t.Errorf("up: %s", r.body)
	}
	if d := s.get("/api/v1/series?match[]=up").wantData(t); string(d) != `[{"__name__":"up","instance":"h1:9100","job":"node"}]` {
		t.Errorf("series: %s", d)
	}
}

// Case 29: a stale marker ends the series for instant queries.
func TestStaleMarker(t *testing.T) {
	s := newTestServer(t, nil)
	ls := labels.FromStrings("__name__", "up", "job", "node", "hostname", "h")
	s.writeRW(ls, core.Sample{T: 1719859200000, V: 1}, core.Sample{T: 1719859215000, V: math.Float64frombits(value.StaleNaN)})
	if d := s.get("/api/v1/query?query=up&time=1719859210").query(t); len(d.Result) != 1 {
		t.Errorf("before the marker: %v", d)
	}
	if d := s.get("/api/v1/query?query=up&time=1719859216").query(t); len(d.Result) != 0 {
		t.Errorf("after the marker: %v", d)
	}
}

// Case 30: UTF-8 metric and label names.
func TestUTF8Names(t *testing.T) {
	s := newTestServer(t, nil)
	s.writeRW(labels.FromStrings("__name__", "resource.cpu.usage", "job name", "x", "hostname", "h"), core.Sample{T: 1719859200000, V: 7})
	r := s.get("/api/v1/query?" + form("query", `{"resource.cpu.usage"}`, "time", "1719859200"))
	if !strings.Contains(r.body, `{"metric":{"__name__":"resource.cpu.usage","hostname":"h","job name":"x"},"value":[1719859200,"7"]}`) {
		t.Errorf("got %s", r.body)
	}
	r = s.get("/api/v1/query?" + form("query", `{"resource.cpu.usage", "job name"="x"}`, "time", "1719859200"))
	if d := r.query(t); len(d.Result) != 1 {
		t.Errorf("quoted label matcher: %s", r.body)
	}
}
