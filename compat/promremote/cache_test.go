package promremote

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// TestSeriesCache sends the same 1,000 series three times (the later
// requests go through the raw-label cache), frees everything in between
// (cached series are deleted) and checks that every sample is stored once,
// exactly, in live series.
func TestSeriesCache(t *testing.T) {
	st, err := core.New(core.Options{DefaultFrequency: 15})
	if err != nil {
		t.Fatal(err)
	}
	a := New(Options{Store: st, DefaultCluster: "c"})
	r := gin.New()
	a.Register(r)
	send := func(body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctV1)
		req.Header.Set("Content-Encoding", "snappy")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	for _, shape := range []string{"prometheus", "clustercockpit"} {
		br := newBenchRequest(t, shape)
		t0 := time.Now().Add(-time.Hour).UnixMilli()
		send(br.at(t0))
		send(br.at(t0 + 15000)) // cache hits
		st.Free(nil, math.MaxInt64>>2)
		if st.NumSeries() != 0 {
			t.Fatalf("%s: %d series left after free", shape, st.NumSeries())
		}
		send(br.at(t0 + 30000)) // cached series were deleted: recreated
		send(br.at(t0 + 45000))
		if n := st.NumSeries(); n != benchSeries {
			t.Fatalf("%s: %d series, want %d", shape, n, benchSeries)
		}
		var walk func(l *core.Level)
		samples := 0
		walk = func(l *core.Level) {
			for _, s := range l.Series() {
				ts, _ := s.AppendRange(nil, nil, math.MinInt64, math.MaxInt64)
				if len(ts) != 2 || ts[0] != t0+30000 || ts[1] != t0+45000 {
					t.Fatalf("%s: series %s holds %v", shape, s.Key(), ts)
				}
				samples += len(ts)
			}
			for _, c := range l.Children() {
				walk(c)
			}
		}
		walk(st.Root())
		if samples != 2*benchSeries {
			t.Fatalf("%s: %d samples", shape, samples)
		}
		st.Free(nil, math.MaxInt64>>2)
	}
}
