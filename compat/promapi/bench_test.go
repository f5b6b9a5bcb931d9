package promapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// The job-query workload of anchors.md (section 0): 64 hosts × 10 metrics
// × 24 h at 60 s = 640 series, 921,600 samples; Grafana-style query_range
// (POST form, gzip accepted) over all of them with a 60 s step.
const (
	benchHosts   = 64
	benchMetrics = 10
	benchStart   = int64(1719792000) // 2024-07-01T00:00:00Z
	benchSteps   = 1440
	benchStep    = 60
)

// benchQueries are the measured queries: an aggregation of all 640
// series, a Grafana panel's rate of one metric on every host, and a plain
// selector returning every sample (the largest answer). (rate() over all
// ten metrics at once is an error in Prometheus: dropping __name__ leaves
// equal label sets.)
var benchQueries = []struct{ name, query string }{
	{"sum_by_host_all", `sum by (hostname) ({cluster="bench"})`},
	{"sum_rate_by_host", `sum by (hostname) (rate(bench_metric_0{cluster="bench"}[5m]))`},
	{"selector_all", `{cluster="bench"}`},
}

// benchValue is the deterministic value of a sample.
func benchValue(h, m, i int) float64 {
	r := rand.New(rand.NewPCG(uint64(h*benchMetrics+m), uint64(i)))
	return float64(int(r.Float64()*10000)) / 100 // cpu_load-like: 2 decimals
}

// benchLP writes the workload as line protocol (or, with openMetrics, as
// an OpenMetrics file for promtool tsdb create-blocks-from openmetrics).
func benchWrite(w io.Writer, openMetrics bool) {
	bw := bufio.NewWriterSize(w, 1<<20)
	for m := range benchMetrics {
		if openMetrics {
			fmt.Fprintf(bw, "# TYPE bench_metric_%d gauge\n", m)
		}
		for h := range benchHosts {
			for i := range benchSteps {
				ts := benchStart + int64(i*benchStep)
				if openMetrics {
					fmt.Fprintf(bw, "bench_metric_%d{cluster=\"bench\",hostname=\"h%02d\",type=\"node\"} %g %d\n", m, h, benchValue(h, m, i), ts)
				} else {
					fmt.Fprintf(bw, "bench_metric_%d,cluster=bench,hostname=h%02d,type=node value=%g %d\n", m, h, benchValue(h, m, i), ts)
				}
			}
		}
	}
	if openMetrics {
		bw.WriteString("# EOF\n")
	}
	bw.Flush()
}

// BenchmarkQueryRange measures query_range latency over HTTP against the
// bridge and, when ~/.cache/peers/bin/prometheus and promtool exist,
// against Prometheus 3.16 holding the same data; it reports p50 and p99.
//
//	go test -run '^$' -bench BenchmarkQueryRange -benchtime 50x ./compat/promapi/
func BenchmarkQueryRange(b *testing.B) {
	st := newStore(b)
	var lp strings.Builder
	benchWrite(&lp, false)
	writeLP(b, st, lp.String())
	if n := st.NumSeries(); n != benchHosts*benchMetrics {
		b.Fatalf("%d series", n)
	}
	a, err := New(Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	srv := newBenchServer(b, a)
	targets := []struct{ name, url string }{{"bridge", srv}}
	if prom := startPrometheus(b); prom != "" {
		targets = append(targets, struct{ name, url string }{"prometheus", prom})
	}
	if len(targets) > 1 {
		// Both answer with the same bytes.
		for _, q := range benchQueries {
			if a, b2 := fetchRange(b, targets[0].url, q.query), fetchRange(b, targets[1].url, q.query); a != b2 {
				b.Errorf("%s: answers differ (%d vs %d bytes)", q.name, len(a), len(b2))
			}
		}
	}
	for _, q := range benchQueries {
		for _, tg := range targets {
			b.Run(q.name+"/"+tg.name, func(b *testing.B) { benchQuery(b, tg.url, q.query) })
		}
	}
}

func newBenchServer(b *testing.B, a *API) string {
	b.Helper()
	r := ginEngine()
	a.Register(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: r}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

func benchForm(query string) string {
	return url.Values{
		"query": {query},
		"start": {fmt.Sprint(benchStart)},
		"end":   {fmt.Sprint(benchStart + (benchSteps-1)*benchStep)},
		"step":  {fmt.Sprint(benchStep)},
	}.Encode()
}

func fetchRange(b *testing.B, base, query string) string {
	resp, err := http.Post(base+"/api/v1/query_range", "application/x-www-form-urlencoded", strings.NewReader(benchForm(query)))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return string(body)
}

func benchQuery(b *testing.B, base, query string) {
	body := benchForm(query)
	client := &http.Client{Transport: &http.Transport{}} // accepts gzip, as Grafana's client
	do := func() int {
		resp, err := client.Post(base+"/api/v1/query_range", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return int(n)
	}
	size := do() // warm up: index, connections
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		do()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(size), "resp-bytes")
}

// startPrometheus loads the workload into TSDB blocks with promtool and
// starts Prometheus on them; "" when the binaries are not installed.
func startPrometheus(b *testing.B) string {
	prom, promtool := peerBinary("prometheus"), peerBinary("promtool")
	if prom == "" || promtool == "" {
		b.Log("prometheus/promtool not installed: measuring the bridge only")
		return ""
	}
	return startPrometheusWith(b, prom, promtool, func(w io.Writer) { benchWrite(w, true) })
}

// benchStore builds the workload store (for profiling the adapter alone).
func benchStore(b *testing.B) *core.Store {
	st := newStore(b)
	var lp strings.Builder
	benchWrite(&lp, false)
	writeLP(b, st, lp.String())
	return st
}

// BenchmarkEngineQueryRange runs the queries without HTTP and JSON: the
// engine over the adapter.
func BenchmarkEngineQueryRange(b *testing.B) {
	a, err := New(Options{Store: benchStore(b)})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Unix(benchStart, 0)
	end := start.Add((benchSteps - 1) * benchStep * time.Second)
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				q, err := a.Engine().NewRangeQuery(context.Background(), a.Queryable(), nil, bq.query, start, end, benchStep*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if res := q.Exec(context.Background()); res.Err != nil {
					b.Fatal(res.Err)
				}
				q.Close()
			}
		})
	}
}

// BenchmarkIndex measures the label index of a large store: 2,000 hosts
// × 50 metrics = 100,000 series. "cold" maps every series with
// promlabels.FromSeries, "rebuild" is the periodic rebuild that reuses
// known labels, "select" one metric's series on all hosts.
func BenchmarkIndex(b *testing.B) {
	st := newStore(b)
	var lp strings.Builder
	for h := range 2000 {
		for m := range 50 {
			fmt.Fprintf(&lp, "metric_%d,cluster=big,hostname=n%04d,type=node value=1 1719859200\n", m, h)
		}
	}
	writeLP(b, st, lp.String())
	x := newIndexer(st)
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			x.build(nil)
		}
	})
	prev := x.build(nil)
	b.Run("rebuild", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			x.build(prev)
		}
	})
	q := &queryable{ix: x}
	b.Run("select", func(b *testing.B) {
		b.ReportAllocs()
		m := labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_7")
		for range b.N {
			qr, _ := q.Querier(0, math.MaxInt64)
			set := qr.Select(context.Background(), false, nil, m)
			n := 0
			for set.Next() {
				n++
			}
			if n != 2000 {
				b.Fatal(n)
			}
		}
	})
}
