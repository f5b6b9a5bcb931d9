package promremote

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

const benchSeries = 1000

// benchRequest is a 1.0 request of benchSeries series with one sample each;
// ts rewrites the timestamps in place (they are all 6-byte varints).
type benchRequest struct {
	raw    []byte
	tsOffs []int
	body   []byte
}

func newBenchRequest(b testing.TB, shape string) *benchRequest {
	var req prompb.WriteRequest
	t0 := time.Now().UnixMilli()
	for i := 0; i < benchSeries; i++ {
		var ls []prompb.Label
		switch shape {
		case "prometheus": // node_exporter through Prometheus: 9 labels, host from instance
			ls = lbls("__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i%64), "dc", "dc1", "env", "prod",
				"instance", fmt.Sprintf("host-%d:9100", i/64), "job", "node", "mode", "idle", "region", "eu", "team", "hpc")
		case "clustercockpit": // the label set line protocol produces: no marker
			ls = lbls("__name__", "flops_any", "cluster", "fritz", "hostname", fmt.Sprintf("f%04d", i/64),
				"type", "hwthread", "type_id", fmt.Sprint(i%64))
		}
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: float64(i), Timestamp: t0}}})
	}
	raw, err := req.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	// Find the timestamp fields: tag 0x10 followed by the 6-byte varint of t0.
	var pat []byte
	pat = append(pat, 0x10)
	for v := uint64(t0); ; v >>= 7 {
		if v < 0x80 {
			pat = append(pat, byte(v))
			break
		}
		pat = append(pat, byte(v)|0x80)
	}
	if len(pat) != 7 {
		b.Fatalf("timestamp varint of %d bytes", len(pat)-1)
	}
	r := &benchRequest{raw: raw}
	for off := 0; ; {
		i := bytes.Index(raw[off:], pat)
		if i < 0 {
			break
		}
		r.tsOffs = append(r.tsOffs, off+i+1)
		off += i + len(pat)
	}
	if len(r.tsOffs) != benchSeries {
		b.Fatalf("found %d timestamps", len(r.tsOffs))
	}
	return r
}

// at sets every timestamp to t and snappy-encodes the request.
func (r *benchRequest) at(t int64) []byte {
	for _, off := range r.tsOffs {
		v := uint64(t)
		for j := 0; j < 6; j++ {
			c := byte(v & 0x7f)
			v >>= 7
			if j < 5 {
				c |= 0x80
			}
			r.raw[off+j] = c
		}
	}
	r.body = snappy.Encode(r.body[:cap(r.body)], r.raw)
	return r.body
}

// BenchmarkRemoteWriteV1 sends 1,000-series 1.0 requests, each sample 15 s
// after the previous one, through the whole handler: in process (gin engine
// ServeHTTP) and over loopback HTTP.
func BenchmarkRemoteWriteV1(b *testing.B) {
	for _, shape := range []string{"prometheus", "clustercockpit"} {
		b.Run(shape+"/inprocess", func(b *testing.B) { benchWrite(b, shape, false) })
		b.Run(shape+"/loopback", func(b *testing.B) { benchWrite(b, shape, true) })
	}
}

func benchWrite(b *testing.B, shape string, loopback bool) {
	st, err := core.New(core.Options{DefaultFrequency: 15})
	if err != nil {
		b.Fatal(err)
	}
	a := New(Options{Store: st, DefaultCluster: "bench"})
	// Timestamps advance 15 s per request from a day ago; a fast run passes
	// the present, so move "now" out of the way of the future-sample check.
	a.now = func() time.Time { return time.Now().Add(1000 * 24 * time.Hour) }
	r := gin.New()
	a.Register(r)
	var url string
	if loopback {
		srv := httptest.NewServer(r)
		defer srv.Close()
		url = srv.URL + "/api/v1/write"
	}
	br := newBenchRequest(b, shape)
	t := time.Now().Add(-24 * time.Hour).UnixMilli()
	send := func(body []byte) {
		if loopback {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", ctV1)
			req.Header.Set("Content-Encoding", "snappy")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 204 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			return
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctV1)
		req.Header.Set("Content-Encoding", "snappy")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 204 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	// Warm up: create the series, fill the pools.
	for i := 0; i < 3; i++ {
		t += 15000
		send(br.at(t))
	}
	var ms0, ms1 runtime.MemStats
	var mallocs uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t += 15000
		body := br.at(t)
		runtime.ReadMemStats(&ms0)
		b.StartTimer()
		send(body)
		b.StopTimer()
		runtime.ReadMemStats(&ms1)
		mallocs += ms1.Mallocs - ms0.Mallocs
		b.StartTimer()
	}
	b.StopTimer()
	el := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*benchSeries)/el, "samples/s")
	b.ReportMetric(float64(mallocs)/float64(b.N*benchSeries), "allocs/series")
	b.ReportMetric(float64(len(br.body)), "body-bytes")
}
