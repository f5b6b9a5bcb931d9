package influx_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// hostBatch returns n lines of Telegraf-like data (five fields each) for
// distinct series, all at one timestamp, so that sending it again
// overwrites samples instead of growing the store.
func hostBatch(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "cpu,cpu=cpu%d,host=node%03d usage_user=%d.5,usage_system=2i,usage_idle=97u,up=true,msg=\"ok\" 1719859200000000000\n", i%64, i/64, i)
	}
	return []byte(b.String())
}

// TestNoPerSampleAllocations: once the series exist, a write costs a fixed
// number of allocations (request plumbing), whatever the number of lines:
// decoding and appending allocate nothing per line or sample. Inflating
// gzip allocates a little per deflate block (compress/flate's Huffman
// tables), which the bound of one allocation per 100 lines leaves room for.
func TestNoPerSampleAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	engine, _, _ := newEngine(t)
	for _, tc := range []struct{ path, enc string }{
		{"/write?db=telegraf", ""},
		{"/write?db=telegraf", "gzip"},
		{"/api/v2/write?bucket=b&org=o", ""},
		{"/api/v2/write?bucket=b&org=o", "gzip"},
	} {
		allocs := func(lines int) float64 {
			body := hostBatch(lines)
			if tc.enc == "gzip" {
				body = gzipBytes(t, body)
			}
			do := func() {
				req := httptest.NewRequest("POST", tc.path, bytes.NewReader(body))
				if tc.enc != "" {
					req.Header.Set("Content-Encoding", tc.enc)
				}
				rec := httptest.NewRecorder()
				engine.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					t.Fatalf("%s: %d %s", tc.path, rec.Code, rec.Body)
				}
			}
			do() // create the series, grow the pooled buffers
			return testing.AllocsPerRun(20, do)
		}
		small, large := allocs(100), allocs(2000)
		t.Logf("%s %s: %.0f allocs for 100 lines, %.0f for 2000 lines (8000 samples)", tc.path, tc.enc, small, large)
		if large-small >= 1900/100 {
			t.Errorf("%s %s: %.0f allocations more for 1900 more lines", tc.path, tc.enc, large-small)
		}
	}
}

// BenchmarkWrite measures a 1000-line Telegraf-like batch (4000 samples)
// through each write handler, in process, series already present.
func BenchmarkWrite(b *testing.B) {
	for _, tc := range []struct{ name, path, enc string }{
		{"v1", "/write?db=telegraf", ""},
		{"v1-gzip", "/write?db=telegraf", "gzip"},
		{"v2", "/api/v2/write?bucket=b&org=o", ""},
		{"v2-gzip", "/api/v2/write?bucket=b&org=o", "gzip"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			engine, _, _ := newEngine(b)
			body := hostBatch(1000)
			if tc.enc == "gzip" {
				body = gzipBytes(b, body)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for i := 0; b.Loop(); i++ {
				req := httptest.NewRequest("POST", tc.path, bytes.NewReader(body))
				if tc.enc != "" {
					req.Header.Set("Content-Encoding", tc.enc)
				}
				rec := httptest.NewRecorder()
				engine.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N)*4000/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
