package promapi

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// FuzzQueryParams sends fuzzed parameters to query, query_range, series,
// labels and label values (GET and POST form) and checks that every answer
// is a well-formed Prometheus envelope with a status that matches its
// errorType, never a 5xx other than 503 timeout, never a panic.
func FuzzQueryParams(f *testing.F) {
	seeds := []struct{ query, time, start, end, step, extra string }{
		{"1+1", "4", "0", "60", "30", ""},
		{`cpu_load{hostname="f0101"}`, "2024-07-01T18:40:00Z", "1719859200", "1719859320", "1m", "limit=1"},
		{"rate(cpu_load[5m])", "1719859200.781", "1719859200", "1719862800", "60.0", "stats=all"},
		{"sum(", "x", "100", "50", "0", "timeout=1.5m"},
		{`{__name__=~".*"}`, "1e300", "NaN", "+Inf", "-1", "lookback_delta=1ms"},
		{"topk(2, cpu_load) @ end()", minTimeFormatted, minTimeFormatted, maxTimeFormatted, "1y", "limit=-1"},
		{`label_replace(up, "a", "$1", "b", "(.*)")`, "1719859200000", "-1e18", "1e18", "2562047h", "timeout=0"},
	}
	for _, s := range seeds {
		f.Add(s.query, s.time, s.start, s.end, s.step, s.extra)
	}
	st := newStore(f)
	writeLP(f, st, `cpu_load,cluster=fritz,hostname=f0101,type=node value=3.1 1719859200
cpu_load,cluster=fritz,hostname=f0102,type=node value=-2.5e-9 1719859260
mem_used,cluster=fritz,hostname=f0101,type=core,type-id=3 value=100 1719859200
`)
	a, err := New(Options{Store: st, MaxSamples: 100_000, Timeout: 2 * time.Second, Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	r := gin.New()
	a.Register(r)
	f.Fuzz(func(t *testing.T, query, ts, start, end, step, extra string) {
		v := url.Values{"query": {query}, "time": {ts}, "start": {start}, "end": {end}, "step": {step}, "match[]": {query}}
		if extra != "" {
			if k, val, ok := strings.Cut(extra, "="); ok {
				v.Set(k, val)
			}
		}
		enc := v.Encode()
		for _, path := range []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/label/" + url.PathEscape(ts) + "/values"} {
			for _, post := range []bool{false, true} {
				var req *http.Request
				if post {
					req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(enc))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				} else {
					req = httptest.NewRequest(http.MethodGet, path+"?"+enc, nil)
				}
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				checkEnvelope(t, path, w)
			}
		}
	})
}

func checkEnvelope(t *testing.T, path string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code == http.StatusNotFound && strings.HasPrefix(path, "/api/v1/label/") {
		return // the fuzzed name did not route
	}
	var e envelope
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("%s: %d answer is not JSON: %v: %q", path, w.Code, err, w.Body.String())
	}
	switch w.Code {
	case http.StatusOK:
		if e.Status != "success" || e.Data == nil {
			t.Fatalf("%s: 200 with %s", path, w.Body.String())
		}
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusServiceUnavailable:
		if e.Status != "error" || e.Error == "" || errorType(e.ErrorType).status() != w.Code {
			t.Fatalf("%s: %d with %s", path, w.Code, w.Body.String())
		}
	default:
		t.Fatalf("%s: status %d: %s", path, w.Code, w.Body.String())
	}
}

// FuzzParseTime: any input either parses to a time whose milliseconds are
// defined, or fails with Prometheus' message; numbers always parse.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"0", "1435781451.781", "-1.5", "1e9", "NaN", "Inf", "2015-07-01T20:10:51.781Z", "2015-07-01T22:10:51+02:00", minTimeFormatted, maxTimeFormatted, "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTime(s)
		if err != nil {
			if want := "cannot parse " + strconv.Quote(s) + " to a valid timestamp"; err.Error() != want {
				t.Fatalf("%q: error %q, want %q", s, err, want)
			}
			if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				t.Fatalf("%q is a number but did not parse", s)
			}
			return
		}
		ms := toMillis(tm)
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && math.Abs(f) < 1e15 && !math.IsNaN(f) {
			// Seconds with the fraction rounded to milliseconds.
			if want := math.Round(f*1000) / 1000; math.Abs(float64(ms)/1000-want) > 1e-3*math.Max(1, math.Abs(want)*1e-12) {
				t.Fatalf("%q: %d ms", s, ms)
			}
		}
	})
}

// FuzzParseDuration: float seconds or Prometheus durations, nothing else.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"15", "0.5", "1m30s", "1.5m", "2d", "1y", "-1", "1e300", "NaN", "250ms", "", "5m1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cannot parse "+strconv.Quote(s)+" to a valid duration") {
				t.Fatalf("%q: error %q", s, err)
			}
			return
		}
		if fl, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			if time.Duration(fl*float64(time.Second)) != d {
				t.Fatalf("%q: %v", s, d)
			}
			return
		}
		if strings.ContainsAny(s, ".") {
			t.Fatalf("%q: fractional unit value accepted as %v", s, d)
		}
	})
}
