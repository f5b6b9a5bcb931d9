package promremote

import (
	"context"
	"math"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

// senderSeries are written with Prometheus' own remote-write client and
// read back through core: labels via promlabels.FromSeries, samples via
// Series.AppendRange, bit for bit.
type senderSeries struct {
	ls labels.Labels
	ts []int64
	vs []float64
}

func senderData() []senderSeries {
	base := time.Now().Add(-time.Minute).UnixMilli()
	return []senderSeries{
		{labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "0", "instance", "n1:9100", "job", "node", "mode", "idle"),
			[]int64{base, base + 15000, base + 30000}, []float64{10.5, 11.25, 12}},
		{labels.FromStrings("__name__", "cpu_load", "cluster", "fritz", "hostname", "f0101", "type", "node"),
			[]int64{base}, []float64{0.75}},
		{labels.FromStrings("__name__", "flops_any", "cluster", "fritz", "hostname", "f0101", "type", "hwthread", "type_id", "12"),
			[]int64{base, base + 1}, []float64{1e9, math.Float64frombits(value.StaleNaN)}},
		{labels.FromStrings("__name__", "resource.cpu.usage", "job name", "x", "host", "t1", "cluster", "c2"),
			[]int64{base}, []float64{math.Inf(-1)}},
		{labels.FromStrings("__name__", "up", "instance", "[::1]:9090", "job", "prometheus"),
			[]int64{base, base + 15000}, []float64{1, math.NaN()}},
	}
}

func newSender(t *testing.T, rawURL string, msg remoteapi.WriteMessageType) remote.WriteClient {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.NewWriteClient("ccmb-test", &remote.ClientConfig{
		URL:              &config_util.URL{URL: u},
		Timeout:          model.Duration(10 * time.Second),
		HTTPClientConfig: config_util.DefaultHTTPClientConfig,
		WriteProtoMsg:    msg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkReadBack(t *testing.T, st *core.Store, data []senderSeries) {
	t.Helper()
	if n := st.NumSeries(); n != int64(len(data)) {
		t.Errorf("NumSeries = %d, want %d", n, len(data))
	}
	var b labels.ScratchBuilder
	for _, d := range data {
		s := lookup(st, d.ls)
		if s == nil {
			var got []string
			for _, s := range allSeries(st) {
				got = append(got, promlabels.FromSeries(s, &b).String())
			}
			t.Fatalf("series %s not found; stored: %v", d.ls, got)
		}
		ts, vs := samplesOf(s)
		if !slices.Equal(ts, d.ts) {
			t.Fatalf("%s: timestamps %v, want %v", d.ls, ts, d.ts)
		}
		for i := range vs {
			if math.Float64bits(vs[i]) != math.Float64bits(d.vs[i]) {
				t.Fatalf("%s: value %d bits %016x, want %016x", d.ls, i, math.Float64bits(vs[i]), math.Float64bits(d.vs[i]))
			}
		}
	}
}

func TestPrometheusSenderV1(t *testing.T) {
	a, u := newServer(t, Options{})
	data := senderData()
	var req prompb.WriteRequest
	for _, d := range data {
		var ts prompb.TimeSeries
		d.ls.Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
		for i := range d.ts {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: d.ts[i], Value: d.vs[i]})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	pb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c := newSender(t, u, remoteapi.WriteV1MessageType)
	if _, err := c.Store(context.Background(), snappy.Encode(nil, pb), 0); err != nil {
		t.Fatalf("Store: %v", err)
	}
	checkReadBack(t, a.opt.Store, data)

	// A rejected request is a non-recoverable error for the sender.
	bad := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}}}}
	pb, _ = bad.Marshal()
	_, err = c.Store(context.Background(), snappy.Encode(nil, pb), 0)
	if err == nil {
		t.Fatal("nameless series accepted")
	}
	if _, ok := err.(remote.RecoverableError); ok {
		t.Fatalf("400 treated as recoverable: %v", err)
	}
	t.Logf("sender error for a nameless series: %v", err)
}

func TestPrometheusSenderV2(t *testing.T) {
	a, u := newServer(t, Options{})
	data := senderData()
	syms := writev2.NewSymbolTable()
	var req writev2.Request
	total := 0
	for _, d := range data {
		ts := writev2.TimeSeries{LabelsRefs: syms.SymbolizeLabels(d.ls, nil),
			Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE, HelpRef: syms.Symbolize("help text")}}
		for i := range d.ts {
			ts.Samples = append(ts.Samples, writev2.Sample{Timestamp: d.ts[i], Value: d.vs[i]})
			total++
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = syms.Symbols()
	pb, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c := newSender(t, u, remoteapi.WriteV2MessageType)
	rs, err := c.Store(context.Background(), snappy.Encode(nil, pb), 0)
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if rs.Samples != total || rs.Histograms != 0 || rs.Exemplars != 0 || !rs.Confirmed {
		t.Fatalf("written stats %+v, want %d samples, confirmed", rs, total)
	}
	checkReadBack(t, a.opt.Store, data)
}
