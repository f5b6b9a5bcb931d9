package influx_test

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cc-metric-bridge/cc-metric-bridge/auth"
	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/native"
)

// defaultCluster is the configured default cluster of the test servers
// (protocols.md section 8 assumes "fritz").
const defaultCluster = "fritz"

type testServer struct {
	*httptest.Server
	store *core.Store
	reg   *prometheus.Registry
}

// startServer serves the native and the Influx API on one gin engine over
// real HTTP on 127.0.0.1, as the binary does.
func startServer(t testing.TB, opts ...func(*influx.Options)) *testServer {
	t.Helper()
	return startWrapped(t, nil, opts...)
}

// startWrapped is startServer with wrap (if not nil) around the engine.
func startWrapped(t testing.TB, wrap func(http.Handler) http.Handler, opts ...func(*influx.Options)) *testServer {
	t.Helper()
	engine, st, reg := newEngine(t, opts...)
	var h http.Handler = engine
	if wrap != nil {
		h = wrap(engine)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: st, reg: reg}
}

// newEngine returns a gin engine serving the native and the Influx API on
// a new store, with defaultCluster configured.
func newEngine(t testing.TB, opts ...func(*influx.Options)) (*gin.Engine, *core.Store, *prometheus.Registry) {
	t.Helper()
	st, err := core.New(core.Options{
		Metrics:          []core.MetricConfig{{Name: "cpu_load", Frequency: 60, Aggregation: core.AggNone}},
		DefaultFrequency: 60,
	})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	engine := native.NewEngine()
	native.New(native.Options{Store: st, DefaultCluster: defaultCluster}).Register(engine)
	reg := prometheus.NewRegistry()
	o := influx.Options{Store: st, DefaultCluster: defaultCluster, Metrics: reg}
	for _, f := range opts {
		f(&o)
	}
	influx.New(o).Register(engine)
	return engine, st, reg
}

// request is one HTTP request of a table test.
type request struct {
	method, path string
	body         string
	gzip         bool              // gzip body and set Content-Encoding
	header       map[string]string // extra headers
}

type response struct {
	status int
	header http.Header
	body   string
}

func (s *testServer) do(t testing.TB, r request) response {
	t.Helper()
	return s.send(t, newRequest(t, s, r))
}

// newRequest builds r for s without sending it.
func newRequest(t testing.TB, s *testServer, r request) *http.Request {
	t.Helper()
	if r.method == "" {
		r.method = "POST"
	}
	var body io.Reader = strings.NewReader(r.body)
	if r.gzip {
		body = bytes.NewReader(gzipBytes(t, []byte(r.body)))
	}
	req, err := http.NewRequest(r.method, s.URL+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	return req
}

func (s *testServer) send(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sample reads the series of metric at path (cluster, host, scopes...)
// through core.Store.ReadNative, the read path of the native /api/query,
// and returns the time (Unix seconds) and value of its first sample.
func (s *testServer) sample(t testing.TB, metric string, path ...string) (ts int64, v float64, ok bool) {
	t.Helper()
	res, err := s.read(metric, path...)
	if err != nil || len(res.Data) == 0 {
		return 0, 0, false
	}
	return res.From, res.Data[0], true
}

func (s *testServer) read(metric string, path ...string) (core.NativeResult, error) {
	sel := make([]core.SelectorElem, len(path))
	for i, p := range path {
		sel[i] = core.SelectorElem{Name: p}
	}
	var rd core.Reader
	return s.store.ReadNative(&rd, &core.NativeQuery{Selector: sel, Metric: metric, From: 0, To: math.MaxInt32}, nil)
}

// mustSample is sample that fails the test when nothing is stored.
func (s *testServer) mustSample(t testing.TB, metric string, path ...string) (int64, float64) {
	t.Helper()
	ts, v, ok := s.sample(t, metric, path...)
	if !ok {
		t.Fatalf("no %s stored at %v; store holds %v", metric, path, s.dump())
	}
	return ts, v
}

// nativeQuery asks the native HTTP API (/api/query) for one metric of one
// host and returns the data array.
func (s *testServer) nativeQuery(t testing.TB, cluster, host, metric string, from, to int64) []*float64 {
	t.Helper()
	q, _ := json.Marshal(map[string]any{
		"cluster": cluster, "from": from, "to": to,
		"queries": []map[string]any{{"metric": metric, "host": host}},
	})
	r := s.do(t, request{path: "/api/query", body: string(q)})
	if r.status != 200 {
		t.Fatalf("native query: %d %s", r.status, r.body)
	}
	var out struct {
		Results [][]struct { // one array per query, one entry per host
			Data  []*float64 `json:"data"`
			Error *string    `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("native query answer %s: %v", r.body, err)
	}
	if len(out.Results) != 1 || len(out.Results[0]) != 1 || out.Results[0][0].Error != nil {
		t.Fatalf("native query answer: %s", r.body)
	}
	return out.Results[0][0].Data
}

// seriesInfo describes one stored series for assertions.
type seriesInfo struct {
	path   string // cluster/host/scope...
	metric string
	labels string // k=v,k=v
}

// dump lists every series in the store, sorted.
func (s *testServer) dump() []seriesInfo {
	var out []seriesInfo
	var walk func(l *core.Level, path string)
	walk = func(l *core.Level, path string) {
		for _, ser := range l.Series() {
			out = append(out, seriesInfo{path: path, metric: ser.Metric().Name, labels: labelString(ser.Labels())})
		}
		for _, c := range l.Children() {
			p := c.Name()
			if path != "" {
				p = path + "/" + p
			}
			walk(c, p)
		}
	}
	walk(s.store.Root(), "")
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.path != b.path {
			return a.path < b.path
		}
		if a.metric != b.metric {
			return a.metric < b.metric
		}
		return a.labels < b.labels
	})
	return out
}

// labelString renders canonical labels (name 0xff value 0xff ...) as
// "name=value,...".
func labelString(canon string) string {
	if canon == "" {
		return ""
	}
	sep := string([]byte{core.LabelSep})
	parts := strings.Split(strings.TrimSuffix(canon, sep), sep)
	var b strings.Builder
	for i := 0; i+1 < len(parts); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(parts[i] + "=" + parts[i+1])
	}
	return b.String()
}

// newKey returns a fresh Ed25519 key pair and a verifier for it.
func newKey(t testing.TB) (ed25519.PrivateKey, *auth.Verifier) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv, auth.NewVerifier(pub)
}

// token signs claims with key.
func token(t testing.TB, key ed25519.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// counter returns the value of a counter of the server's registry.
func (s *testServer) counter(t testing.TB, name, api string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "api" && l.GetValue() == api {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("counter %s{api=%q} not found", name, api)
	return 0
}
