package native_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// The job of the query goals: 64 hosts × 10 metrics × 24 h at
// 60 s (921,600 points), node level or aggregated over 72 hwthreads.
const (
	jobHosts     = 64
	jobMetrics   = 10
	jobSteps     = 1440
	jobHWThreads = 72
	jobStart     = 1_700_000_040
)

func jobMetricName(m int) string { return fmt.Sprintf("metric%d", m) }

// jobServer fills a store with the job's data: one series per host and
// metric at node level, or one per hwthread when hwthreads is true.
func jobServer(b *testing.B, hwthreads bool) *testServer {
	metrics := map[string][2]any{}
	for m := 0; m < jobMetrics; m++ {
		metrics[jobMetricName(m)] = [2]any{60, "sum"}
	}
	srv := startServer(b, metrics)
	r := rand.New(rand.NewPCG(1, 1))
	app := srv.store.Appender()
	defer app.Commit()
	k := &core.Key{Cluster: []byte("fritz")}
	for h := 0; h < jobHosts; h++ {
		k.Host = fmt.Appendf(k.Host[:0], "f%04d", h)
		for m := 0; m < jobMetrics; m++ {
			k.Metric = []byte(jobMetricName(m))
			children := 1
			if hwthreads {
				children = jobHWThreads
			}
			for c := 0; c < children; c++ {
				k.Scope = k.Scope[:0]
				if hwthreads {
					k.Scope = append(k.Scope, fmt.Appendf(nil, "hwthread%d", c))
				}
				v := r.Float64() * 100
				for i := 0; i < jobSteps; i++ {
					v += r.Float64() - 0.5
					if err := app.Append(k, int64(jobStart+60*i)*1000, float64(int64(v*100))/100); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	return srv
}

// jobRequest is cc-backend's LoadData request for the job at resolution 0.
func jobRequest(withData, hwthreads bool) string {
	var qs []string
	ids := make([]string, jobHWThreads)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	for m := 0; m < jobMetrics; m++ {
		for h := 0; h < jobHosts; h++ {
			if hwthreads {
				qs = append(qs, fmt.Sprintf(`{"type":"hwthread","metric":%q,"host":"f%04d","resolution":0,"type-ids":[%s],"aggreg":true}`, jobMetricName(m), h, strings.Join(ids, ",")))
			} else {
				qs = append(qs, fmt.Sprintf(`{"metric":%q,"host":"f%04d","resolution":0,"aggreg":false}`, jobMetricName(m), h))
			}
		}
	}
	return fmt.Sprintf(`{"cluster":"fritz","queries":[%s],"for-all-nodes":null,"from":%d,"to":%d,"with-stats":true,"with-data":%v}`,
		strings.Join(qs, ","), jobStart, jobStart+60*jobSteps, withData)
}

// benchQuery sends the request b.N times over HTTP and reports p50/p99.
func benchQuery(b *testing.B, srv *testServer, body string, wantBytes int) {
	b.ReportAllocs()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		req, _ := http.NewRequest("GET", srv.URL+"/api/query?version=v2", strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 || n < int64(wantBytes) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}

// BenchmarkJobQuery: goals p50 ≤ 40 ms, p99 ≤ 100 ms with data; stats only
// ≤ 10 ms; aggregated over 72 hwthreads ≤ 250 ms.
func BenchmarkJobQuery(b *testing.B) {
	node := jobServer(b, false)
	b.Run("data+stats", func(b *testing.B) { benchQuery(b, node, jobRequest(true, false), 921_600*5) })
	b.Run("stats-only", func(b *testing.B) { benchQuery(b, node, jobRequest(false, false), 640*50) })
	node.Close()
	hw := jobServer(b, true)
	b.Run("hwthread-aggregated", func(b *testing.B) { benchQuery(b, hw, jobRequest(true, true), 921_600*5) })
}
