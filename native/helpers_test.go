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

type testServer struct {
	*httptest.Server
	store *core.Store
}

// startServer serves the native API over real HTTP on 127.0.0.1 with the
// given metrics (name → {frequency, "sum"|"avg"|"null"}).
func startServer(t testing.TB, metrics map[string][2]any, opts ...func(*native.Options)) *testServer {
	t.Helper()
	var cfgs []core.MetricConfig
	for name, m := range metrics {
		agg := map[string]core.Aggregation{"sum": core.AggSum, "avg": core.AggAvg, "null": core.AggNone}[m[1].(string)]
		cfgs = append(cfgs, core.MetricConfig{Name: name, Frequency: toInt64(m[0]), Aggregation: agg})
	}
	st, err := core.New(core.Options{Metrics: cfgs, DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	engine := native.NewEngine()
	o := native.Options{Store: st}
	for _, f := range opts {
		f(&o)
	}
	native.New(o).Register(engine)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: st}
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	}
	panic("frequency must be an integer")
}

// do sends one request and returns status and body.
func (s *testServer) do(t testing.TB, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}
