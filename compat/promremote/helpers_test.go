package promremote

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

func init() { gin.SetMode(gin.TestMode) }

const (
	ctV1 = "application/x-protobuf"
	ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

func newStore(t testing.TB, opt core.Options) *core.Store {
	t.Helper()
	if opt.DefaultFrequency == 0 {
		opt.DefaultFrequency = 60
	}
	st, err := core.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newServer serves a receiver on 127.0.0.1 and returns its write URL.
func newServer(t testing.TB, opt Options) (*API, string) {
	t.Helper()
	if opt.Store == nil {
		opt.Store = newStore(t, core.Options{})
	}
	if opt.DefaultCluster == "" {
		opt.DefaultCluster = "dflt"
	}
	a := New(opt)
	r := gin.New()
	a.Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return a, srv.URL + "/api/v1/write"
}

type response struct {
	code    int
	body    string
	samples string // written headers
	hists   string
	exs     string
	header  http.Header
}

func post(t testing.TB, url, ct, enc string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{
		code: resp.StatusCode, body: string(b), header: resp.Header,
		samples: resp.Header.Get(headerSamplesWritten),
		hists:   resp.Header.Get(headerHistogramsWritten),
		exs:     resp.Header.Get(headerExemplarsWritten),
	}
}

// v1Body is snappy(WriteRequest{ts...}).
func v1Body(t testing.TB, ts ...prompb.TimeSeries) []byte {
	t.Helper()
	b, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

func lbls(ss ...string) []prompb.Label {
	var out []prompb.Label
	for i := 0; i+1 < len(ss); i += 2 {
		out = append(out, prompb.Label{Name: ss[i], Value: ss[i+1]})
	}
	return out
}

// v2Series describes one 2.0 series for v2Body; labels are symbolised in
// the given (possibly unsorted) order.
type v2Series struct {
	labels     []string
	samples    []writev2.Sample
	histograms []writev2.Histogram
	exemplars  []writev2.Exemplar
	metadata   *writev2.Metadata
	extra      []byte // raw fields appended to the TimeSeries (e.g. field 6)
}

// v2Raw builds the protobuf of an io.prometheus.write.v2.Request by hand.
func v2Raw(t testing.TB, series ...v2Series) []byte {
	t.Helper()
	syms := writev2.NewSymbolTable()
	var tss [][]byte
	for _, s := range series {
		var ts writev2.TimeSeries
		for _, l := range s.labels {
			ts.LabelsRefs = append(ts.LabelsRefs, syms.Symbolize(l))
		}
		ts.Samples = s.samples
		ts.Histograms = s.histograms
		ts.Exemplars = s.exemplars
		if s.metadata != nil {
			ts.Metadata = *s.metadata
		}
		b, err := ts.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, append(b, s.extra...))
	}
	var out []byte
	for _, sym := range syms.Symbols() {
		out = protowire.AppendTag(out, fRequestSymbols, protowire.BytesType)
		out = protowire.AppendString(out, sym)
	}
	for _, ts := range tss {
		out = protowire.AppendTag(out, fRequestTimeseries, protowire.BytesType)
		out = protowire.AppendBytes(out, ts)
	}
	return out
}

func v2Body(t testing.TB, series ...v2Series) []byte { return snappy.Encode(nil, v2Raw(t, series...)) }

// allSeries lists every series of the store.
func allSeries(st *core.Store) []*core.Series {
	var out []*core.Series
	var walk func(l *core.Level)
	walk = func(l *core.Level) {
		out = append(out, l.Series()...)
		for _, c := range l.Children() {
			walk(c)
		}
	}
	walk(st.Root())
	return out
}

// lookup returns the series that reads back as exactly ls, or nil.
func lookup(st *core.Store, ls labels.Labels) *core.Series {
	var b labels.ScratchBuilder
	for _, s := range allSeries(st) {
		if labels.Equal(promlabels.FromSeries(s, &b), ls) {
			return s
		}
	}
	return nil
}

// samplesOf returns every sample of s.
func samplesOf(s *core.Series) ([]int64, []float64) {
	return s.AppendRange(nil, nil, -1<<62, 1<<62)
}

func hexBytes(s string) ([]byte, error) { return hex.DecodeString(s) }
