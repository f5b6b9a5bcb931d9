package influx_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// fuzzPrecisions are the precision parameters a fuzz input picks from,
// valid and invalid for either API.
var fuzzPrecisions = []string{"", "n", "ns", "u", "us", "ms", "s", "m", "h", "x"}

// FuzzWriteBody drives the body path of both write handlers (gzip, size
// and line limits, LP decoding, partial writes) with arbitrary bytes.
// flags: bit 0 gzips the body, bit 1 declares gzip without compressing,
// the rest picks a precision. Checked for every input:
//   - no panic, no 5xx; statuses are 204, 400, 413 (and 422 for v2);
//   - 204 has an empty body, errors a JSON body of the API's shape;
//   - v2 stores nothing unless it answers 204 or 422;
//   - v1 and v2 agree: a body v2 accepts whole, v1 accepts whole with the
//     same number of samples, and what v2 rejects as unparseable v1
//     reports too.
func FuzzWriteBody(f *testing.F) {
	for _, s := range []string{
		line33,
		"cpu_load,hostname=a value=1 1719859200000000000\nthis is bad\n",
		"# c\r\n\r\ncpu_load,hostname=a value=2 1719859200\r\n",
		`cpu,hostname=a usage_user=1,usage_system=2i,idle=3u,up=true,msg="x" 1719859200`,
		`my\ m,host\=x=a\,b v=1`,
		"cpu_load,hostname=a,type=core,type-id=12 value=1 1719859200\ncpu_load,hostname=a,type_id=12,type=core value=2 1719859260\n",
		"m,hostname=../x value=1\nm,hostname=ok value=2\n",
		"m,hostname=a v=9223372036854775808i\nm v=\"multi\nline\" 1\nm v=-1u",
		telegrafBatch,
	} {
		for _, flags := range []uint8{0, 1, 2, 4*6 + 1, 4 * 9} {
			f.Add([]byte(s), flags)
		}
	}
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"), uint8(2))

	// One engine per API, reused across inputs (a new one per input makes
	// fuzzing ten times slower); replaced once its store has grown.
	limits := func(o *influx.Options) { o.MaxRequestBytes = 2048; o.MaxLineBytes = 256 }
	type target struct {
		engine http.Handler
		store  *core.Store
		reg    *prometheus.Registry
	}
	var targets [2]*target
	zw := gzip.NewWriter(nil) // reused: a new gzip.Writer costs ~800 KB
	get := func(t testing.TB, i int) *target {
		if targets[i] == nil || targets[i].store.NumSeries() > 5000 {
			e, st, reg := newEngine(t, limits)
			targets[i] = &target{e, st, reg}
		}
		return targets[i]
	}

	f.Fuzz(func(t *testing.T, body []byte, flags uint8) {
		prec := fuzzPrecisions[int(flags>>2)%len(fuzzPrecisions)]
		send := body
		gz := flags&3 != 0
		if flags&1 != 0 {
			var b bytes.Buffer
			zw.Reset(&b)
			zw.Write(body)
			zw.Close()
			send = b.Bytes()
		}

		type result struct {
			name    string
			status  int
			body    []byte
			samples float64 // samples stored
			ok      []int
		}
		run := func(i int, path string, ok []int) result {
			tg := get(t, i)
			api := [...]string{"v1", "v2"}[i]
			before := gather(t, tg.reg, "ccmb_influx_samples_written_total", api)
			req := httptest.NewRequest("POST", path+"&precision="+prec, bytes.NewReader(send))
			if gz {
				req.Header.Set("Content-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			tg.engine.ServeHTTP(rec, req)
			after := gather(t, tg.reg, "ccmb_influx_samples_written_total", api)
			return result{api, rec.Code, rec.Body.Bytes(), after - before, ok}
		}
		r1 := run(0, "/write?db=x", []int{204, 400, 413})
		r2 := run(1, "/api/v2/write?bucket=b", []int{204, 400, 413, 422})

		for _, r := range []result{r1, r2} {
			if !slices.Contains(r.ok, r.status) {
				t.Fatalf("%s: status %d: %s", r.name, r.status, r.body)
			}
			if r.status == 204 {
				if len(r.body) != 0 {
					t.Fatalf("%s: 204 with body %q", r.name, r.body)
				}
				continue
			}
			var e struct {
				Error   *string `json:"error"`
				Code    *string `json:"code"`
				Message *string `json:"message"`
			}
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("%s: %d body is not JSON: %q", r.name, r.status, r.body)
			}
			if r.name == "v1" && e.Error == nil || r.name == "v2" && (e.Code == nil || e.Message == nil) {
				t.Fatalf("%s: error shape %q", r.name, r.body)
			}
		}
		if r2.status != 204 && r2.status != 422 && r2.samples != 0 {
			t.Fatalf("v2 %d stored %g samples", r2.status, r2.samples)
		}
		// Both APIs read the precision the same way: same outcome.
		both := prec == "" || prec == "ns" || prec == "us" || prec == "ms" || prec == "s"
		if r2.status == 204 && both && (r1.status != 204 || r1.samples != r2.samples) {
			t.Fatalf("v2 204 (%g samples), v1 %d (%g samples): %s", r2.samples, r1.status, r1.samples, r1.body)
		}
		if r2.status == 400 && r1.status == 204 && both && !bytes.Contains(r2.body, []byte("writing requires points")) {
			t.Fatalf("v2 rejects (%s), v1 accepts", r2.body)
		}
	})
}

// gather returns a counter of reg.
func gather(t testing.TB, reg *prometheus.Registry, name, api string) float64 {
	return (&testServer{reg: reg}).counter(t, name, api)
}
