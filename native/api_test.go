package native_test

import (
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/native"
)

var testMetrics = map[string][2]any{"cpu_load": {10, "null"}, "flops_any": {10, "sum"}}

func TestRoutesAndMethods(t *testing.T) {
	srv := startServer(t, testMetrics)
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/api/write", 405, "Method Not Allowed\n"},
		{"GET", "/api/free/", 405, "Method Not Allowed\n"},
		{"DELETE", "/api/query", 405, "Method Not Allowed\n"},
		{"GET", "/api/nosuch", 404, "404 page not found\n"},
		{"GET", "/metricz", 404, "404 page not found\n"},
		{"POST", "/api/write/", 200, ""},
		{"POST", "/api/write", 200, ""},
		{"GET", "/api/query", 400, "{\"status\":\"Bad Request\",\"error\":\"EOF\"}\n"},
		{"POST", "/api/free?to=1", 200, "buffers freed: 0\n"},
		{"POST", "/api/free", 400, "{\"status\":\"Bad Request\",\"error\":\"'to' is a required query parameter\"}\n"},
		{"POST", "/api/free?to=abc", 400, "{\"status\":\"Bad Request\",\"error\":\"strconv.ParseInt: parsing \\\"abc\\\": invalid syntax\"}\n"},
		{"GET", "/api/debug?selector=c9:zz", 400, "{\"status\":\"Bad Request\",\"error\":\"[METRICSTORE]\\u003e not found: []string{\\\"c9\\\"}\"}\n"},
		{"GET", "/api/debug/", 200, "{\"data\":{}}\n"},
	} {
		body := ""
		if c.path == "/api/free?to=1" {
			body = "[[]]"
		}
		status, got := srv.do(t, c.method, c.path, body)
		if status != c.status || got != c.body {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, status, got, c.status, c.body)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	srv := startServer(t, testMetrics)
	body := "cpu_load,cluster=c,hostname=h value=1 1700000000\n" +
		"cpu_load,cluster=c,hostname=h value=2 1700000010\n" +
		"cpu_load,cluster=c,hostname=h val=3 1700000020\n" +
		"cpu_load,cluster=c,hostname=h value=4 1700000030\n"
	status, got := srv.do(t, "POST", "/api/write", body)
	if status != 400 || !strings.Contains(got, "line 3") || !strings.Contains(got, `"status":"Bad Request"`) {
		t.Fatalf("bad line: %d %s", status, got)
	}
	// Lines before the bad one are stored, the rest is not.
	_, got = srv.do(t, "GET", "/api/query", `{"cluster":"c","from":1700000000,"to":1700000040,"queries":[{"metric":"cpu_load","host":"h"}]}`)
	if !strings.Contains(got, `"data":[1.000,2.000]`) {
		t.Fatalf("after partial write: %s", got)
	}
	for _, bad := range []string{
		"cpu_load,cluster=c,hostname=h value=\"x\" 1700000000\n",
		"cpu_load,cluster=c,hostname=h value= 1700000000\n",
		"cpu_load,cluster=c,hostname=../etc value=1 1700000000\n",
		"cpu_load,cluster=c,hostname=h value=1 17000000000000000000000\n",
	} {
		status, got := srv.do(t, "POST", "/api/write", bad)
		if status != 400 || !strings.Contains(got, "line 1") {
			t.Errorf("%q: %d %s", bad, status, got)
		}
	}
}

func TestBodyLimits(t *testing.T) {
	srv := startServer(t, testMetrics, func(o *native.Options) { o.MaxRequestBytes = 1000 })
	big := strings.Repeat("cpu_load,cluster=c,hostname=h value=1 1700000000\n", 100)
	for _, path := range []string{"/api/write", "/api/query"} {
		status, got := srv.do(t, "POST", path, big)
		if status != http.StatusRequestEntityTooLarge || !strings.Contains(got, "max-request-bytes") {
			t.Errorf("%s: %d %s", path, status, got)
		}
	}
}

// TestTimestampPrecisions writes the same samples in s, ms, µs and ns and
// off-grid; every host answers the same, and the exact times are kept.
func TestTimestampPrecisions(t *testing.T) {
	srv := startServer(t, testMetrics)
	scales := map[string]int64{"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}
	for name, scale := range scales {
		var b strings.Builder
		for i := int64(0); i < 6; i++ {
			fmt.Fprintf(&b, "cpu_load,cluster=c,hostname=%s value=%d %d\n", name, i, (1_700_000_000+10*i)*scale)
		}
		if status, got := srv.do(t, "POST", "/api/write", b.String()); status != 200 {
			t.Fatalf("%s: %d %s", name, status, got)
		}
	}
	// Off-grid: jitter within ±f/2 and sub-second parts, out of order.
	var b strings.Builder
	// The first sample written anchors the slot grid (as in the reference).
	for _, i := range []int64{0, 3, 5, 1, 4, 2} {
		jitter := []int64{0, 4_900, -4_999, 3_123, -2_000, 4_999}[i]
		fmt.Fprintf(&b, "cpu_load,cluster=c,hostname=jitter value=%d %d\n", i, (1_700_000_000+10*i)*1000+jitter)
	}
	if status, got := srv.do(t, "POST", "/api/write", b.String()); status != 200 {
		t.Fatalf("jitter: %d %s", status, got)
	}
	want := `{"data":[0.000,1.000,2.000,3.000,4.000,5.000],"from":1700000000,"to":1700000060,"resolution":10,"avg":2.50,"min":0.00,"max":5.00}`
	for _, host := range []string{"s", "ms", "us", "ns", "jitter"} {
		_, got := srv.do(t, "GET", "/api/query", fmt.Sprintf(`{"cluster":"c","from":1700000000,"to":1700000060,"queries":[{"metric":"cpu_load","host":%q}]}`, host))
		if !strings.Contains(got, want) {
			t.Errorf("%s: %s", host, got)
		}
	}
	// Gaps: a missing sample is null, not shifted data.
	srv.do(t, "POST", "/api/write", "cpu_load,cluster=c,hostname=gap value=1 1700000000\ncpu_load,cluster=c,hostname=gap value=3 1700000020\ncpu_load,cluster=c,hostname=gap value=6 1700000050\n")
	_, got := srv.do(t, "GET", "/api/query", `{"cluster":"c","from":1700000000,"to":1700000060,"queries":[{"metric":"cpu_load","host":"gap"}]}`)
	if !strings.Contains(got, `"data":[1.000,null,3.000,null,null,6.000]`) {
		t.Errorf("gap: %s", got)
	}
}

// TestHostileWindows: windows that crash or exhaust the reference get a
// bounded answer, with flat memory.
func TestHostileWindows(t *testing.T) {
	srv := startServer(t, testMetrics, func(o *native.Options) { o.MaxPointsPerSeries = 100_000; o.MaxPointsPerRequest = 150_000 })
	srv.do(t, "POST", "/api/write", "cpu_load,cluster=c,hostname=h value=1 1700000000\ncpu_load,cluster=c,hostname=h value=2 1700000010\n")
	query := func(from, to int64, extra string) (int, string) {
		return srv.do(t, "GET", "/api/query", fmt.Sprintf(`{"cluster":"c","from":%d,"to":%d%s,"queries":[{"metric":"cpu_load","host":"h"}]}`, from, to, extra))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, c := range []struct {
		from, to int64
		extra    string
		status   int
		contains string
	}{
		{1700000000, math.MaxInt64, "", 200, `"data":[1.000,2.000]`},
		{1700000000 - 1e12, 1700000000 + 1e12, `,"with-padding":false`, 200, `"data":[1.000,2.000]`},
		{1700000000 - 1e12, 1700000000 + 1e12, "", 200, `max-points-per-series`},
		{0, 1700000020, "", 200, `max-points-per-series`},
		{math.MinInt64, math.MaxInt64, "", 200, `max-points-per-series`},
		{1700000000 - 20, 1700000020, "", 200, `"data":[null,null,1.000,2.000]`},
	} {
		status, got := query(c.from, c.to, c.extra)
		if status != c.status || !strings.Contains(got, c.contains) {
			t.Errorf("%d..%d%s: %d %.300s", c.from, c.to, c.extra, status, got)
		}
	}
	// Two entries of 90k padded points each pass the series limit but not
	// the request limit.
	status, got := srv.do(t, "GET", "/api/query", fmt.Sprintf(`{"cluster":"c","from":%d,"to":1700000020,"queries":[{"metric":"cpu_load","host":"h"},{"metric":"cpu_load","host":"h"}]}`, 1700000000-900_000))
	if status != 400 || !strings.Contains(got, "max-points-per-request") {
		t.Errorf("request limit: %d %.200s", status, got)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 64<<20 {
		t.Errorf("heap grew by %d MB", grown>>20)
	}
}

func TestHealthcheck(t *testing.T) {
	srv := startServer(t, testMetrics, func(o *native.Options) {
		o.Health = func() any { return map[string]any{"status": "ok", "ready": true} }
	})
	now := time.Now().Unix()
	srv.do(t, "POST", "/api/write", fmt.Sprintf("cpu_load,cluster=c,hostname=fresh value=1 %d\ncpu_load,cluster=c,hostname=stale value=1 %d\n", now, now-3600))
	for _, c := range []struct {
		method, body string
		status       int
		want         string
	}{
		{"GET", "", 200, "{\"ready\":true,\"status\":\"ok\"}"},
		{"HEAD", "", 200, ""},
		{"GET", `{"cluster":"c","nodes":["fresh","stale","none"],"metric-names":["cpu_load","flops_any"]}`, 200,
			`{"fresh":{"State":"partial","HealthMetrics":"{\"degraded\":[],\"missing\":[\"flops_any\"]}"},"none":{"State":"failed","HealthMetrics":""},"stale":{"State":"failed","HealthMetrics":"{\"degraded\":[\"cpu_load\"],\"missing\":[\"flops_any\"]}"}}` + "\n"},
		{"GET", `{"cluster":"c","nodes":["fresh"],"metric-names":["cpu_load"]}`, 200,
			`{"fresh":{"State":"full","HealthMetrics":"{\"degraded\":[],\"missing\":[]}"}}` + "\n"},
		{"GET", `{"cluster":"c","extra":1}`, 400, `{"status":"Bad Request","error":"parsing request body failed: json: unknown field \"extra\""}` + "\n"},
	} {
		status, got := srv.do(t, c.method, "/api/healthcheck/", c.body)
		if status != c.status || got != c.want {
			t.Errorf("%s %q: %d %q, want %d %q", c.method, c.body, status, got, c.status, c.want)
		}
	}
}

func TestQueryDetails(t *testing.T) {
	srv := startServer(t, testMetrics)
	srv.do(t, "POST", "/api/write?cluster=c", "cpu_load,hostname=h value=1 1700000000\ncpu_load,hostname=h value=2 1700000010\n")
	for _, c := range []struct{ body, want string }{
		// scale-by null turns everything into null, as in the reference.
		{`{"cluster":"c","from":1700000000,"to":1700000020,"queries":[{"metric":"cpu_load","host":"h","scale-by":null}]}`,
			`{"results":[[{"data":[null,null],"from":1700000000,"to":1700000020,"resolution":10,"avg":null,"min":null,"max":null}]]}` + "\n"},
		{`{"cluster":"c","from":1700000000,"to":1700000020,"queries":[]}`, `{"results":[]}` + "\n"},
		{`{"cluster":"nosuch","from":1700000000,"to":1700000020,"for-all-nodes":["cpu_load"]}`, `{"results":[]}` + "\n"},
		{`{"cluster":"c","from":1700000000,"to":1700000000,"queries":[{"metric":"cpu_load","host":"h"}]}`,
			`{"results":[[{"from":1700000000,"to":1700000000,"resolution":10,"avg":null,"min":null,"max":null}]]}` + "\n"},
		{`{"cluster":"c","from":1700000000,"to":1700000020,"queries":[{"metric":"cpu_load","host":"h","type":"hwthread"}]}`, `{"results":[[]]}` + "\n"},
		{`{"cluster":"c","from":1.7e9,"to":1700000020}`, ""},
	} {
		status, got := srv.do(t, "GET", "/api/query", c.body)
		if c.want == "" {
			if status != 400 {
				t.Errorf("%s: %d %s", c.body, status, got)
			}
			continue
		}
		if status != 200 || got != c.want {
			t.Errorf("%s:\n got %d %q\nwant %q", c.body, status, got, c.want)
		}
	}
}

func TestDefaultCluster(t *testing.T) {
	srv := startServer(t, testMetrics, func(o *native.Options) { o.DefaultCluster = "dflt" })
	srv.do(t, "POST", "/api/write", "cpu_load,hostname=h value=1 1700000000\n")
	srv.do(t, "POST", "/api/write?cluster=given", "cpu_load,hostname=h value=2 1700000000\n")
	srv.do(t, "POST", "/api/write?cluster=given", "cpu_load,cluster=tagged,hostname=h value=3 1700000000\n")
	for cluster, want := range map[string]string{"dflt": "1.000", "given": "2.000", "tagged": "3.000"} {
		_, got := srv.do(t, "GET", "/api/query", fmt.Sprintf(`{"cluster":%q,"from":1700000000,"to":1700000010,"queries":[{"metric":"cpu_load","host":"h"}]}`, cluster))
		if !strings.Contains(got, `"data":[`+want+`]`) {
			t.Errorf("cluster %s: %s", cluster, got)
		}
	}
}
