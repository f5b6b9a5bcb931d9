package promapi

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

// testCluster is the default cluster of test writes (protocols.md section 8
// assumes "fritz").
const testCluster = "fritz"

// testNow is the pinned server time of test servers.
var testNow = time.Unix(1719862800, 0).UTC()

func init() { gin.SetMode(gin.TestMode) }

// ginEngine is a gin engine configured like the server's.
func ginEngine() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	return r
}

// testServer is the API on a real HTTP listener on 127.0.0.1.
type testServer struct {
	t   testing.TB
	st  *core.Store
	api *API
	srv *httptest.Server
}

func newStore(t testing.TB) *core.Store {
	t.Helper()
	st, err := core.New(core.Options{DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newTestServer starts the API; mod may change the options.
func newTestServer(t testing.TB, mod func(*Options)) *testServer {
	t.Helper()
	st := newStore(t)
	opt := Options{Store: st, Version: "0.0.0-test", Now: func() time.Time { return testNow }}
	if mod != nil {
		mod(&opt)
	}
	a, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	r := ginEngine()
	a.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &testServer{t: t, st: st, api: a, srv: srv}
}

// writeLP stores a line-protocol body the way the native API does.
func (s *testServer) writeLP(body string) {
	s.t.Helper()
	writeLP(s.t, s.st, body)
}

func writeLP(t testing.TB, st *core.Store, body string) {
	t.Helper()
	app := st.Appender()
	_, err := lineproto.Decode([]byte(body), lineproto.Options{Mode: lineproto.Native, DefaultCluster: []byte(testCluster)}, app)
	if cerr := app.Commit(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("cannot write %q: %v", body, err)
	}
}

// writeRW stores samples of one label set the way remote write does
// (promlabels.ToKey, then the store's appender).
func (s *testServer) writeRW(ls labels.Labels, samples ...core.Sample) {
	s.t.Helper()
	writeRW(s.t, s.st, ls, samples...)
}

func writeRW(t testing.TB, st *core.Store, ls labels.Labels, samples ...core.Sample) {
	t.Helper()
	var k core.Key
	if _, err := promlabels.ToKey(ls, testCluster, &k, nil); err != nil {
		t.Fatalf("cannot map %s: %v", ls, err)
	}
	app := st.Appender()
	for _, smp := range samples {
		if err := app.Append(&k, smp.T, smp.V); err != nil {
			app.Commit()
			t.Fatalf("cannot append to %s: %v", ls, err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// response is an HTTP answer with its body read (and decompressed).
type response struct {
	code   int
	header http.Header
	body   string
}

// do sends a request; body, when not empty, is sent as a form.
func (s *testServer) do(method, path, form string, hdr ...string) response {
	s.t.Helper()
	var rd io.Reader
	if form != "" {
		rd = strings.NewReader(form)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" && !resp.Uncompressed {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (s *testServer) get(path string) response { return s.do(http.MethodGet, path, "") }

func (s *testServer) post(path, form string) response { return s.do(http.MethodPost, path, form) }

// envelope is a decoded answer.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

func (r response) envelope(t testing.TB) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("answer is not JSON (%v): %q", err, r.body)
	}
	return e
}

// wantError checks an error answer: status, errorType, JSON content type
// and a message containing msg.
func (r response) wantError(t testing.TB, code int, typ, msg string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := r.envelope(t)
	if e.Status != "error" || e.ErrorType != typ || !strings.Contains(e.Error, msg) {
		t.Fatalf("got %s, want status error, errorType %s, error containing %q", r.body, typ, msg)
	}
}

// wantData checks a success answer and returns its data.
func (r response) wantData(t testing.TB) json.RawMessage {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	e := r.envelope(t)
	if e.Status != "success" {
		t.Fatalf("status %q: %s", e.Status, r.body)
	}
	return e.Data
}

// queryData is the data of a query answer, values kept raw.
type queryData struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Metric map[string]string   `json:"metric"`
		Value  []json.RawMessage   `json:"value"`
		Values [][]json.RawMessage `json:"values"`
	} `json:"result"`
	Stats json.RawMessage `json:"stats"`
}

func (r response) query(t testing.TB) queryData {
	t.Helper()
	var d queryData
	if err := json.Unmarshal(r.wantData(t), &d); err != nil {
		t.Fatalf("cannot decode query data: %v: %s", err, r.body)
	}
	return d
}

func (r response) strings(t testing.TB) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal(r.wantData(t), &out); err != nil {
		t.Fatalf("data is not a string list: %v: %s", err, r.body)
	}
	return out
}

// form builds a URL-encoded parameter string from name/value pairs.
func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}
