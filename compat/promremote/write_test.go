package promremote

import (
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

// Worked examples of protocols.md 2.2 and 2.3: up{job="node"} 1 @1700000000000.
const (
	exampleV1 = "0a2f0a0e0a085f5f6e616d655f5f120275700a0b0a036a6f6212046e6f6465121009000000000000f03f1080d095ffbc31"
	exampleV2 = "220022085f5f6e616d655f5f2202757022036a6f6222046e6f64652a180a04010203041210" +
		"09000000000000f03f1080d095ffbc31"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProtocolCases runs the remote-write cases of protocols.md section 8
// (20–31) and the status rules of section 2 over HTTP on 127.0.0.1.
func TestProtocolCases(t *testing.T) {
	now := time.Now().UnixMilli()
	up := labels.FromStrings("__name__", "up", "job", "node")
	type check func(t *testing.T, st *core.Store, r response)
	stored := func(ls labels.Labels, ts []int64, vs []float64) check {
		return func(t *testing.T, st *core.Store, r response) {
			s := lookup(st, ls)
			if s == nil {
				t.Fatalf("series %s not stored", ls)
			}
			gotT, gotV := samplesOf(s)
			if !slices.Equal(gotT, ts) || len(gotV) != len(vs) {
				t.Fatalf("samples of %s: %v %v, want %v %v", ls, gotT, gotV, ts, vs)
			}
			for i := range vs {
				if math.Float64bits(gotV[i]) != math.Float64bits(vs[i]) {
					t.Fatalf("value %d of %s: bits %x, want %x", i, ls, math.Float64bits(gotV[i]), math.Float64bits(vs[i]))
				}
			}
		}
	}
	numSeries := func(n int64) check {
		return func(t *testing.T, st *core.Store, r response) {
			if got := st.NumSeries(); got != n {
				t.Fatalf("NumSeries = %d, want %d", got, n)
			}
		}
	}
	bodyContains := func(s string) check {
		return func(t *testing.T, st *core.Store, r response) {
			if !strings.Contains(r.body, s) {
				t.Fatalf("body %q does not contain %q", r.body, s)
			}
		}
	}
	stale := math.Float64frombits(value.StaleNaN)
	smp := func(v float64, ts int64) []writev2.Sample { return []writev2.Sample{{Value: v, Timestamp: ts}} }
	// Field 6 of a 2.0 TimeSeries: created_timestamp of older senders.
	createdTS := protowire.AppendVarint(protowire.AppendTag(nil, 6, protowire.VarintType), uint64(now-60000))

	cases := []struct {
		name   string
		method string
		ct     string
		enc    string
		body   []byte
		opt    Options
		code   int
		// written counts expected in the headers ("" = do not check)
		samples, hists, exs string
		checks              []check
	}{
		{name: "20 v1 worked example", ct: ctV1, enc: "snappy", body: snappy.Encode(nil, mustHex(t, exampleV1)),
			code: 204, samples: "0", hists: "0", exs: "0",
			checks: []check{stored(up, []int64{1700000000000}, []float64{1})}},
		{name: "20 v1 now", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("__name__", "up", "job", "node"), Samples: []prompb.Sample{{Value: 1, Timestamp: now}}}),
			code: 204, checks: []check{stored(up, []int64{now}, []float64{1})}},
		{name: "v1 no content type and no encoding", body: snappy.Encode(nil, mustHex(t, exampleV1)), code: 204,
			checks: []check{stored(up, []int64{1700000000000}, []float64{1})}},
		{name: "v1 explicit proto parameter", ct: "application/x-protobuf;proto=prometheus.WriteRequest", enc: "snappy",
			body: snappy.Encode(nil, mustHex(t, exampleV1)), code: 204},
		{name: "21 v1 unsorted labels", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("job", "node", "__name__", "up"), Samples: []prompb.Sample{{Value: 2, Timestamp: now}}}),
			code: 204, checks: []check{stored(up, []int64{now}, []float64{2}), numSeries(1)}},
		{name: "22 v1 no __name__", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("job", "node"), Samples: []prompb.Sample{{Value: 1, Timestamp: now}}}),
			code: 400, samples: "0", checks: []check{numSeries(0), bodyContains("__name__")}},
		{name: "22 v1 empty __name__ among valid series", ct: ctV1, enc: "snappy",
			body: v1Body(t,
				prompb.TimeSeries{Labels: lbls("__name__", "", "job", "x"), Samples: []prompb.Sample{{Value: 1, Timestamp: now}}},
				prompb.TimeSeries{Labels: lbls("__name__", "up", "job", "node"), Samples: []prompb.Sample{{Value: 3, Timestamp: now}}}),
			code: 400, checks: []check{numSeries(1), stored(up, []int64{now}, []float64{3})}},
		{name: "v1 duplicate label names", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("__name__", "up", "job", "a", "job", "b"), Samples: []prompb.Sample{{Value: 1, Timestamp: now}}}),
			code: 400, checks: []check{numSeries(0)}},
		{name: "23 json content type", ct: "application/json", enc: "snappy", body: []byte("{}"), code: 415},
		{name: "23 image/png", ct: "image/png", enc: "snappy", body: []byte("x"), code: 415},
		{name: "23 gzip encoding", ct: ctV1, enc: "gzip", body: []byte("x"), code: 415},
		{name: "23 deflate encoding", ct: ctV1, enc: "deflate", body: []byte("x"), code: 415},
		{name: "23 unknown proto", ct: "application/x-protobuf;proto=foo.Bar", enc: "snappy", body: []byte("x"), code: 415},
		{name: "malformed content type parameter", ct: "application/x-protobuf;proto", enc: "snappy", body: []byte("x"), code: 415},
		{name: "unknown type and encoding", ct: "text/plain", enc: "zstd", body: []byte("x"), code: 415},
		{name: "24 framed snappy", ct: ctV1, enc: "snappy",
			body: append([]byte("\xff\x06\x00\x00sNaPpY"), snappy.Encode(nil, mustHex(t, exampleV1))...), code: 400},
		{name: "24 random bytes", ct: ctV1, enc: "snappy", body: []byte("\x13\x37 this is not snappy at all"), code: 400},
		{name: "24 snappy of garbage protobuf", ct: ctV1, enc: "snappy", body: snappy.Encode(nil, []byte("\x0a\xff\xff\xff")), code: 400},
		{name: "24 corrupted first byte", ct: ctV2, enc: "snappy",
			body: func() []byte { b := snappy.Encode(nil, mustHex(t, exampleV2)); b[0] ^= 0xff; return b }(), code: 400,
			samples: "0", hists: "0", exs: "0"},
		{name: "24 GET", method: http.MethodGet, code: 405},
		{name: "24 PUT", method: http.MethodPut, ct: ctV1, body: []byte("x"), code: 405},
		{name: "2.3 v2 worked example", ct: ctV2, enc: "snappy", body: snappy.Encode(nil, mustHex(t, exampleV2)),
			code: 204, samples: "1", hists: "0", exs: "0",
			checks: []check{stored(up, []int64{1700000000000}, []float64{1})}},
		{name: "v2 content type with spaces and quotes", ct: `application/x-protobuf; proto="io.prometheus.write.v2.Request"`, enc: "SNAPPY",
			body: snappy.Encode(nil, mustHex(t, exampleV2)), code: 204, samples: "1"},
		{name: "25 v2 2 samples 1 exemplar (exemplars rejected by design)", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "job", "node"},
				samples:   []writev2.Sample{{Value: 1, Timestamp: now - 1000}, {Value: 2, Timestamp: now}},
				exemplars: []writev2.Exemplar{{Value: 1, Timestamp: now}}}),
			code: 400, samples: "2", hists: "0", exs: "0",
			checks: []check{stored(up, []int64{now - 1000, now}, []float64{1, 2}), bodyContains("exemplars")}},
		{name: "26 v2 3 valid + 1 without name", ct: ctV2, enc: "snappy",
			body: v2Body(t,
				v2Series{labels: []string{"__name__", "a", "job", "j"}, samples: smp(1, now)},
				v2Series{labels: []string{"job", "j"}, samples: smp(9, now)},
				v2Series{labels: []string{"__name__", "b", "job", "j"}, samples: smp(2, now)},
				v2Series{labels: []string{"__name__", "c", "job", "j"}, samples: smp(3, now)}),
			code: 400, samples: "3", hists: "0", exs: "0",
			checks: []check{numSeries(3),
				stored(labels.FromStrings("__name__", "a", "job", "j"), []int64{now}, []float64{1}),
				stored(labels.FromStrings("__name__", "c", "job", "j"), []int64{now}, []float64{3})}},
		{name: "v2 all without name", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"job", "j"}, samples: smp(1, now)}, v2Series{samples: smp(1, now)}),
			code: 400, samples: "0", checks: []check{numSeries(0)}},
		{name: "27 v2 native histogram", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "h", "job", "j"},
				histograms: []writev2.Histogram{{Count: &writev2.Histogram_CountInt{CountInt: 1}, Sum: 1, Schema: 0, Timestamp: now}}}),
			code: 400, samples: "0", hists: "0", exs: "0", checks: []check{numSeries(0), bodyContains("histograms")}},
		{name: "27 v1 native histogram", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("__name__", "h"), Histograms: []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 1}, Timestamp: now}}}),
			code: 400, checks: []check{numSeries(0)}},
		{name: "28 v2 metadata only", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "job", "j"}, metadata: &writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE}}),
			code: 204, samples: "0", hists: "0", exs: "0", checks: []check{numSeries(0)}},
		{name: "28 v2 created timestamp field 6", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "c_total", "job", "j"}, samples: smp(5, now),
				metadata: &writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER}, extra: createdTS}),
			code: 204, samples: "1", hists: "0", exs: "0"},
		{name: "v2 start timestamp", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "c_total"}, samples: []writev2.Sample{{Value: 5, Timestamp: now, StartTimestamp: now - 5000}}}),
			code: 204, samples: "1"},
		{name: "29 stale marker", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "job", "node"}, samples: []writev2.Sample{{Value: 1, Timestamp: now - 15000}, {Value: stale, Timestamp: now}}}),
			code: 204, samples: "2", checks: []check{stored(up, []int64{now - 15000, now}, []float64{1, stale})}},
		{name: "special values", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "job", "node"}, samples: []writev2.Sample{
				{Value: math.NaN(), Timestamp: now - 3}, {Value: math.Inf(1), Timestamp: now - 2}, {Value: math.Inf(-1), Timestamp: now - 1}}}),
			code: 204, samples: "3",
			checks: []check{stored(up, []int64{now - 3, now - 2, now - 1}, []float64{math.NaN(), math.Inf(1), math.Inf(-1)})}},
		{name: "30 UTF-8 names", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"job name", "x", "__name__", "resource.cpu.usage", "lbl", "multi\nline"}, samples: smp(7, now)}),
			code: 204, samples: "1",
			checks: []check{stored(labels.FromStrings("__name__", "resource.cpu.usage", "job name", "x", "lbl", "multi\nline"), []int64{now}, []float64{7})}},
		{name: "31 sample too far in the future", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up"}, samples: []writev2.Sample{{Value: 1, Timestamp: now}, {Value: 2, Timestamp: now + int64(11*time.Minute/time.Millisecond)}}}),
			code: 400, samples: "1", checks: []check{bodyContains("future")}},
		{name: "31 sample older than the retention", ct: ctV1, enc: "snappy", opt: Options{MaxAge: time.Hour},
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("__name__", "up"), Samples: []prompb.Sample{{Value: 1, Timestamp: now - 2*3600*1000}}}),
			code: 400, checks: []check{numSeries(0), bodyContains("retention")}},
		{name: "31 same timestamp same value", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("__name__", "up", "job", "node"), Samples: []prompb.Sample{{Value: 1, Timestamp: now}, {Value: 1, Timestamp: now}}}),
			code: 204, checks: []check{stored(up, []int64{now}, []float64{1})}},
		{name: "sample one hour old for a new series", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "job", "node"}, samples: smp(1, now-3600*1000)}),
			code: 204, samples: "1"},
		{name: "v1 exemplars ignored", ct: ctV1, enc: "snappy",
			body: v1Body(t, prompb.TimeSeries{Labels: lbls("__name__", "up", "job", "node"), Samples: []prompb.Sample{{Value: 1, Timestamp: now}},
				Exemplars: []prompb.Exemplar{{Labels: lbls("trace_id", "abc"), Value: 1, Timestamp: now}}}),
			code: 204, checks: []check{stored(up, []int64{now}, []float64{1})}},
		{name: "v1 metadata only request", ct: ctV1, enc: "snappy",
			body: func() []byte {
				b, _ := (&prompb.WriteRequest{Metadata: []prompb.MetricMetadata{{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "up", Help: "h"}}}).Marshal()
				return snappy.Encode(nil, b)
			}(), code: 204},
		{name: "v1 body sent as v2 is an empty v2 request", ct: ctV2, enc: "snappy", body: snappy.Encode(nil, mustHex(t, exampleV1)),
			code: 204, samples: "0", hists: "0", exs: "0", checks: []check{numSeries(0)}},
		{name: "empty body", ct: ctV2, enc: "snappy", body: snappy.Encode(nil, nil), code: 204, samples: "0"},
		{name: "v2 symbols[0] not empty", ct: ctV2, enc: "snappy",
			body: snappy.Encode(nil, protowire.AppendString(protowire.AppendTag(nil, fRequestSymbols, protowire.BytesType), "x")), code: 400},
		{name: "v2 label reference out of range", ct: ctV2, enc: "snappy",
			body: func() []byte {
				ts := protowire.AppendBytes(protowire.AppendTag(nil, fTS2LabelsRefs, protowire.BytesType), []byte{1, 9})
				raw := protowire.AppendString(protowire.AppendTag(nil, fRequestSymbols, protowire.BytesType), "")
				raw = protowire.AppendString(protowire.AppendTag(raw, fRequestSymbols, protowire.BytesType), "__name__")
				raw = protowire.AppendBytes(protowire.AppendTag(raw, fRequestTimeseries, protowire.BytesType), ts)
				return snappy.Encode(nil, raw)
			}(), code: 400, samples: "0"},
		{name: "v2 odd number of label references", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "job"}, samples: smp(1, now)}), code: 400, samples: "0"},
		{name: "v2 symbols after the series (unpacked refs)", ct: ctV2, enc: "snappy",
			body: func() []byte {
				var ts []byte
				for _, r := range []uint64{1, 2} {
					ts = protowire.AppendVarint(protowire.AppendTag(ts, fTS2LabelsRefs, protowire.VarintType), r)
				}
				s := protowire.AppendFixed64(protowire.AppendTag(nil, fSampleValue, protowire.Fixed64Type), math.Float64bits(4))
				s = protowire.AppendVarint(protowire.AppendTag(s, fSampleTimestamp, protowire.VarintType), uint64(now))
				ts = protowire.AppendBytes(protowire.AppendTag(ts, fTS2Samples, protowire.BytesType), s)
				raw := protowire.AppendBytes(protowire.AppendTag(nil, fRequestTimeseries, protowire.BytesType), ts)
				for _, sym := range []string{"", "__name__", "late"} {
					raw = protowire.AppendString(protowire.AppendTag(raw, fRequestSymbols, protowire.BytesType), sym)
				}
				return snappy.Encode(nil, raw)
			}(), code: 204, samples: "1",
			checks: []check{stored(labels.FromStrings("__name__", "late"), []int64{now}, []float64{4})}},
		{name: "reserved marker label", ct: ctV2, enc: "snappy",
			body: v2Body(t, v2Series{labels: []string{"__name__", "up", "__ccmb_rw__", "1"}, samples: smp(1, now)}), code: 400, samples: "0"},
		{name: "too many labels", ct: ctV1, enc: "snappy",
			body: func() []byte {
				ls := lbls("__name__", "up")
				for i := 0; i < MaxLabelsPerSeries; i++ {
					ls = append(ls, prompb.Label{Name: "l" + strings.Repeat("x", i), Value: "v"})
				}
				return v1Body(t, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: 1, Timestamp: now}}})
			}(), code: 400, checks: []check{numSeries(0), bodyContains("labels")}},
		{name: "4 GiB snappy header", ct: ctV1, enc: "snappy", body: []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, code: 400,
			checks: []check{bodyContains("limit")}},
		{name: "body over the limit", ct: ctV1, enc: "snappy", body: make([]byte, 2048), opt: Options{MaxRequestBytes: 1024}, code: 413},
		{name: "decoded body over the limit", ct: ctV1, enc: "snappy", body: snappy.Encode(nil, make([]byte, 4096)), opt: Options{MaxRequestBytes: 1024}, code: 400},
		{name: "not ready", ct: ctV1, enc: "snappy", body: snappy.Encode(nil, mustHex(t, exampleV1)),
			opt: Options{Ready: func() bool { return false }}, code: 503, checks: []check{numSeries(0)}},
		{name: "auth middleware", ct: ctV1, enc: "snappy", body: snappy.Encode(nil, mustHex(t, exampleV1)),
			opt: Options{Auth: func(c *gin.Context) { c.AbortWithStatus(http.StatusUnauthorized) }}, code: 401, checks: []check{numSeries(0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, url := newServer(t, tc.opt)
			var r response
			if tc.method != "" && tc.method != http.MethodPost {
				req, _ := http.NewRequest(tc.method, url, strings.NewReader(string(tc.body)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				r.code = resp.StatusCode
			} else {
				r = post(t, url, tc.ct, tc.enc, tc.body)
			}
			if r.code != tc.code {
				t.Fatalf("status %d, want %d; body %q", r.code, tc.code, r.body)
			}
			if r.code >= 400 && r.code != 405 && r.code != 401 && strings.TrimSpace(r.body) == "" {
				t.Errorf("error answer without a body")
			}
			if r.code == 204 && r.body != "" {
				t.Errorf("204 with body %q", r.body)
			}
			for _, h := range []struct{ name, got, want string }{
				{"samples", r.samples, tc.samples}, {"histograms", r.hists, tc.hists}, {"exemplars", r.exs, tc.exs},
			} {
				if h.want != "" && h.got != h.want {
					t.Errorf("%s written header %q, want %q", h.name, h.got, h.want)
				}
			}
			if tc.ct == ctV2 && r.code != 401 && (r.samples == "" || r.hists == "" || r.exs == "") {
				t.Errorf("2.0 answer without written headers: %v", r.header)
			}
			for _, c := range tc.checks {
				c(t, a.opt.Store, r)
			}
		})
	}
}

// A 6-byte snappy header declaring 4 GiB is refused before anything is
// allocated.
func TestHugeDeclaredSizeIsCheap(t *testing.T) {
	a := New(Options{Store: newStore(t, core.Options{})})
	d := newDecoder()
	body := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}
	start := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.decode(body, v1, a.opt.MaxRequestBytes); err == nil {
			t.Fatal("no error")
		}
	})
	if el := time.Since(start) / 101; el > time.Millisecond {
		t.Errorf("refusal took %v, want < 1 ms", el)
	}
	if allocs > 5 || cap(d.raw) != 0 {
		t.Errorf("refusal allocated: %v allocs, decode buffer of %d bytes", allocs, cap(d.raw))
	}
	_, url := newServer(t, Options{})
	start = time.Now()
	r := post(t, url, ctV1, "snappy", body)
	if r.code != 400 {
		t.Fatalf("status %d", r.code)
	}
	t.Logf("HTTP round trip of the 4 GiB header: %v", time.Since(start))
}

type failingWAL struct{}

func (failingWAL) Log([]*core.Series, []byte) error { return errors.New("disk full") }

// A batch the WAL cannot log is not acknowledged: 500, so the sender retries.
func TestCommitErrorIs500(t *testing.T) {
	st := newStore(t, core.Options{})
	st.SetWAL(failingWAL{})
	_, url := newServer(t, Options{Store: st})
	r := post(t, url, ctV2, "snappy", snappy.Encode(nil, mustHex(t, exampleV2)))
	if r.code != 500 || !strings.Contains(r.body, "disk full") {
		t.Fatalf("status %d body %q, want 500", r.code, r.body)
	}
	if r.samples != "0" {
		t.Errorf("Samples-Written %q on a 500, want 0", r.samples)
	}
}

// With strict metrics, samples of unconfigured metrics are not written,
// which a 2.0 sender must learn: 400 with the counts.
func TestStrictMetrics(t *testing.T) {
	st := newStore(t, core.Options{StrictMetrics: true, Metrics: []core.MetricConfig{{Name: "known", Frequency: 60}}})
	_, url := newServer(t, Options{Store: st})
	now := time.Now().UnixMilli()
	r := post(t, url, ctV2, "snappy", v2Body(t,
		v2Series{labels: []string{"__name__", "known"}, samples: []writev2.Sample{{Value: 1, Timestamp: now}}},
		v2Series{labels: []string{"__name__", "unknown"}, samples: []writev2.Sample{{Value: 1, Timestamp: now - 1}, {Value: 2, Timestamp: now}}}))
	if r.code != 400 || r.samples != "1" || !strings.Contains(r.body, "2 samples") || !strings.Contains(r.body, "strict") {
		t.Fatalf("status %d samples %q body %q", r.code, r.samples, r.body)
	}
}

// The same series over 1.0 and 2.0 is one series.
func TestV1AndV2SameSeries(t *testing.T) {
	a, url := newServer(t, Options{})
	if r := post(t, url, ctV1, "snappy", snappy.Encode(nil, mustHex(t, exampleV1))); r.code != 204 {
		t.Fatal(r.code, r.body)
	}
	body := v2Body(t, v2Series{labels: []string{"job", "node", "__name__", "up"}, samples: []writev2.Sample{{Value: 2, Timestamp: 1700000015000}}})
	if r := post(t, url, ctV2, "snappy", body); r.code != 204 {
		t.Fatal(r.code, r.body)
	}
	if n := a.opt.Store.NumSeries(); n != 1 {
		t.Fatalf("NumSeries = %d", n)
	}
}

// Concurrent senders writing overlapping series (run with -race).
func TestConcurrentWrites(t *testing.T) {
	a, url := newServer(t, Options{})
	const workers, requests = 4, 20
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < requests; i++ {
				var ts []prompb.TimeSeries
				for s := 0; s < 10; s++ {
					ts = append(ts, prompb.TimeSeries{
						Labels:  lbls("__name__", "m", "instance", "h"+string(rune('a'+s))+":1", "job", "j"),
						Samples: []prompb.Sample{{Value: float64(w), Timestamp: int64(1700000000000 + i*1000 + w)}},
					})
				}
				if r := post(t, url, ctV1, "snappy", v1Body(t, ts...)); r.code != 204 {
					t.Errorf("status %d: %s", r.code, r.body)
					return
				}
			}
		}(w)
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	if n := a.opt.Store.NumSeries(); n != 10 {
		t.Fatalf("NumSeries = %d, want 10", n)
	}
	for _, s := range allSeries(a.opt.Store) {
		if ts, _ := samplesOf(s); len(ts) != workers*requests {
			t.Fatalf("series has %d samples, want %d", len(ts), workers*requests)
		}
	}
}

// A line-protocol series and a remote-write series with the same resulting
// label set are one series.
func TestLineProtocolAndRemoteWriteOneSeries(t *testing.T) {
	a, url := newServer(t, Options{})
	st := a.opt.Store
	app := st.Appender()
	if _, err := lineproto.Decode([]byte("cpu_load,cluster=c,hostname=h,type=node value=1 1700000000"),
		lineproto.Options{Mode: lineproto.Native, DefaultCluster: []byte("dflt")}, app); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	body := v1Body(t, prompb.TimeSeries{Labels: lbls("type", "node", "__name__", "cpu_load", "hostname", "h", "cluster", "c"),
		Samples: []prompb.Sample{{Value: 2, Timestamp: 1700000060000}}})
	if r := post(t, url, ctV1, "snappy", body); r.code != 204 {
		t.Fatal(r.code, r.body)
	}
	if n := st.NumSeries(); n != 1 {
		t.Fatalf("NumSeries = %d, want 1", n)
	}
	s := lookup(st, labels.FromStrings("__name__", "cpu_load", "cluster", "c", "hostname", "h", "type", "node"))
	if s == nil {
		t.Fatal("series not found by its labels")
	}
	if ts, vs := samplesOf(s); !slices.Equal(ts, []int64{1700000000000, 1700000060000}) || !slices.Equal(vs, []float64{1, 2}) {
		t.Fatalf("samples %v %v", ts, vs)
	}
}

// A warmed-up decoder allocates nothing per series (goal: ≤ 1).
func TestDecoderAllocsPerSeries(t *testing.T) {
	st := newStore(t, core.Options{})
	br := newBenchRequest(t, "prometheus")
	d := newDecoder()
	ts := time.Now().Add(-time.Hour).UnixMilli()
	run := func() {
		ts += 15000
		body := br.at(ts)
		app := st.Appender()
		d.reset("c", math.MaxInt64, math.MinInt64)
		d.app = app
		if err := d.decode(body, v1, DefaultMaxRequestBytes); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil || d.st.samples != benchSeries {
			t.Fatalf("commit %v, %d samples", err, d.st.samples)
		}
	}
	run() // creates the series
	allocs := testing.AllocsPerRun(20, run)
	if perSeries := allocs / benchSeries; perSeries > 0.1 {
		t.Fatalf("%.3f allocs per series (%v per request)", perSeries, allocs)
	}
	t.Logf("%v allocs per 1,000-series request", allocs)
}
