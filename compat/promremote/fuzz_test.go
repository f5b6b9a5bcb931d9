package promremote

import (
	"math"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

// fuzzLimit bounds decoded bodies in the fuzz targets.
const fuzzLimit = 1 << 20

// fuzzDecode runs one body through the decoder into a fresh store. With
// raw set, data is protobuf that is snappy-encoded first, so that the
// fuzzer explores the message structure rather than snappy.
func fuzzDecode(t *testing.T, ver version, data []byte, raw bool) {
	if raw {
		if len(data) > fuzzLimit {
			return
		}
		data = snappy.Encode(nil, data)
	}
	st, err := core.New(core.Options{DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder()
	d.reset("c", math.MaxInt64, math.MinInt64)
	app := st.Appender()
	d.app = app
	derr := d.decode(data, ver, fuzzLimit)
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	// Bounded allocation: nothing larger than the limit, and tables no
	// larger than the body they come from.
	if cap(d.raw) > fuzzLimit {
		t.Fatalf("decode buffer of %d bytes over the limit", cap(d.raw))
	}
	if len(d.symbols) > len(d.raw) || len(d.refs) > len(d.raw) {
		t.Fatalf("tables larger than the body: %d symbols, %d refs, %d bytes", len(d.symbols), len(d.refs), len(d.raw))
	}
	if derr == nil && d.st.err() == nil && d.st.samples == 0 && st.NumSeries() != 0 {
		t.Fatal("series created without samples")
	}
	// Whatever was stored reads back as a valid label set that maps to the
	// same series again.
	var b labels.ScratchBuilder
	var k core.Key
	for _, s := range allSeries(st) {
		ls := promlabels.FromSeries(s, &b)
		if _, err := promlabels.ToKey(ls, "c", &k, nil); err != nil {
			t.Fatalf("stored series %s does not map back: %v", ls, err)
		}
	}
	if int(st.NumSeries()) > d.st.samples {
		t.Fatalf("%d series for %d samples", st.NumSeries(), d.st.samples)
	}
}

func FuzzDecodeV1(f *testing.F) {
	ex, _ := hexBytes(exampleV1)
	f.Add(ex, true)
	f.Add(snappy.Encode(nil, ex), false)
	req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: lbls("job", "x", "__name__", "m", "cluster", "c", "hostname", "h", "type", "core", "type-id", "3"),
			Samples:    []prompb.Sample{{Value: 1, Timestamp: 2}, {Value: math.NaN(), Timestamp: 1}},
			Exemplars:  []prompb.Exemplar{{Value: 1}},
			Histograms: []prompb.Histogram{{Count: &prompb.Histogram_CountInt{CountInt: 1}}}},
		{Labels: lbls("__name__", "")},
	}, Metadata: []prompb.MetricMetadata{{MetricFamilyName: "m", Help: "h"}}}
	b, _ := req.Marshal()
	f.Add(b, true)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, false)
	f.Add([]byte("\xff\x06\x00\x00sNaPpY"), false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) { fuzzDecode(t, v1, data, raw) })
}

func FuzzDecodeV2(f *testing.F) {
	ex, _ := hexBytes(exampleV2)
	f.Add(ex, true)
	f.Add(snappy.Encode(nil, ex), false)
	syms := writev2.NewSymbolTable()
	req := writev2.Request{Timeseries: []writev2.TimeSeries{
		{LabelsRefs: []uint32{syms.Symbolize("__name__"), syms.Symbolize("m"), syms.Symbolize("job"), syms.Symbolize("j")},
			Samples:    []writev2.Sample{{Value: 1, Timestamp: 5, StartTimestamp: 1}},
			Exemplars:  []writev2.Exemplar{{Value: 1, LabelsRefs: []uint32{2, 3}}},
			Histograms: []writev2.Histogram{{Count: &writev2.Histogram_CountFloat{CountFloat: 1}}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 3}},
		{LabelsRefs: []uint32{1, 7}},
	}}
	req.Symbols = syms.Symbols()
	b, _ := req.Marshal()
	f.Add(b, true)
	f.Add(append(b, 0x30, 0x01), true) // stray varint field 6
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) { fuzzDecode(t, v2, data, raw) })
}
