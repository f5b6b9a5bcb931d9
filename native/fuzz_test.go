package native_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/native"
)

// fuzzHandler is the native API without a listener: fuzzing drives it in
// process for speed; the other tests use real HTTP.
func fuzzHandler(f *testing.F) http.Handler {
	st, err := core.New(core.Options{
		Metrics:          []core.MetricConfig{{Name: "cpu_load", Frequency: 10}, {Name: "flops_any", Frequency: 10, Aggregation: core.AggSum}},
		DefaultFrequency: 60,
	})
	if err != nil {
		f.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	engine := native.NewEngine()
	native.New(native.Options{Store: st, MaxRequestBytes: 1 << 20, MaxPointsPerSeries: 10_000, MaxPointsPerRequest: 100_000}).Register(engine)
	app := st.Appender()
	for i := int64(0); i < 100; i++ {
		app.Append(&core.Key{Cluster: []byte("c"), Host: []byte("h"), Metric: []byte("cpu_load")}, (1_700_000_000+10*i)*1000, float64(i))
		app.Append(&core.Key{Cluster: []byte("c"), Host: []byte("h"), Scope: [][]byte{[]byte("hwthread1")}, Metric: []byte("flops_any")}, (1_700_000_000+10*i)*1000, float64(i))
	}
	app.Commit()
	return engine
}

func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec
}

// FuzzQueryRequest: any query body gets a 200 or a 400, never a panic, a
// 5xx or an unbounded answer.
func FuzzQueryRequest(f *testing.F) {
	h := fuzzHandler(f)
	for _, s := range []string{
		`{"cluster":"c","from":1700000000,"to":1700001000,"queries":[{"metric":"cpu_load","host":"h"}]}`,
		`{"cluster":"c","from":0,"to":9223372036854775807,"queries":[{"metric":"flops_any","host":"h","type":"hwthread","type-ids":["1","2"],"aggreg":true,"resolution":20}]}`,
		`{"cluster":"c","from":-9223372036854775808,"to":1700000500,"for-all-nodes":["cpu_load","nosuch"],"with-padding":true}`,
		`{"cluster":"c","from":1700000000,"to":1700001000,"queries":[{"metric":"flops_any","host":"h","type":"hwthread","type-ids":["1"],"subtype":"x","subtype-ids":["1","2"],"scale-by":1e308}]}`,
		`{bad`, ``, `null`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := serve(h, "GET", "/api/query", body)
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Body.Len() > 4<<20 {
			t.Fatalf("answer of %d bytes", rec.Body.Len())
		}
	})
}

// FuzzWriteBody: any line-protocol body gets a 200 or a 400, never a panic
// or a 5xx.
func FuzzWriteBody(f *testing.F) {
	h := fuzzHandler(f)
	for _, s := range []string{
		"cpu_load,cluster=c,hostname=h value=1 1700000000\n",
		"flops_any,cluster=c,hostname=h,type=socket,type-id=0,stype=core,stype-id=1 value=5i 1700000000000\n",
		"cpu_load,hostname=h value=1\r\n# comment\n\nx y=1",
		"cpu_load,cluster=c,hostname=h value=1 -9223372036854775808\n",
		"cpu_load,cluster=c,hostname=h\\ x,type-id=1 value=1e400 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := serve(h, "POST", "/api/write?cluster=c", body)
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
