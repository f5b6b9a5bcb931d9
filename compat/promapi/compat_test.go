package promapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// compatSeries is the data of TestMatchesPrometheus: 2 h at 15 s of
// gauges, a counter with resets and special values, on four hosts.
func compatSeries() map[string][]core.Sample {
	const start, n = int64(1719859200000), 480
	out := map[string][]core.Sample{}
	for h := range 4 {
		for _, m := range []string{"cpu_load", "mem_used", "requests_total", "special"} {
			key := fmt.Sprintf("%s|f%04d", m, h+1)
			var v float64
			for i := range n {
				ts := start + int64(i)*15000
				switch m {
				case "cpu_load":
					v = float64((i*7+h*13)%100) / 10
				case "mem_used":
					v = 1e9 + float64(i*h)*1e6
				case "requests_total":
					v += float64(h + 1 + i%3)
					if i%97 == 96 {
						v = 0 // counter reset
					}
				case "special":
					v = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e-7, 0.5, 100, math.Copysign(0, -1), 1.5e21}[(i+h)%8]
				}
				if m == "mem_used" && h == 3 && i > 200 {
					continue // a series that ends early
				}
				out[key] = append(out[key], core.Sample{T: ts, V: v})
			}
		}
	}
	return out
}

func compatLabels(key string) labels.Labels {
	m, host, _ := strings.Cut(key, "|")
	return labels.FromStrings("__name__", m, "cluster", "fritz", "hostname", host, "type", "node")
}

// writeOpenMetrics writes the data for promtool tsdb create-blocks-from.
func writeOpenMetrics(w io.Writer, data map[string][]core.Sample) {
	bw := bufio.NewWriter(w)
	for key, ss := range data {
		ls := compatLabels(key)
		for _, s := range ss {
			v := fmt.Sprint(s.V)
			switch {
			case math.IsInf(s.V, 1):
				v = "+Inf"
			case math.IsInf(s.V, -1):
				v = "-Inf"
			}
			fmt.Fprintf(bw, "%s{cluster=%q,hostname=%q,type=%q} %s %d.%03d\n", ls.Get("__name__"), "fritz", ls.Get("hostname"), "node", v, s.T/1000, s.T%1000)
		}
	}
	bw.WriteString("# EOF\n")
	bw.Flush()
}

// TestMatchesPrometheus sends the same requests to the bridge and to
// Prometheus 3.16 (when installed in ~/.cache/peers/bin) holding the same
// data, and compares status codes and bodies byte for byte.
func TestMatchesPrometheus(t *testing.T) {
	prom, promtool := peerBinary("prometheus"), peerBinary("promtool")
	if prom == "" || promtool == "" {
		t.Skip("prometheus/promtool not installed (run /work/shared/tools/install-peers.sh prometheus)")
	}
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	data := compatSeries()
	s := newTestServer(t, nil)
	for key, ss := range data {
		s.writeRW(compatLabels(key), ss...)
	}
	base := startPrometheusWith(t, prom, promtool, func(w io.Writer) { writeOpenMetrics(w, data) })

	r := func(q ...string) string { return form(q...) }
	reqs := []string{
		"/api/v1/query?" + r("query", "1+1", "time", "4"),
		"/api/v1/query?" + r("query", "cpu_load", "time", "1719862800"),
		"/api/v1/query?" + r("query", `cpu_load{hostname=~"f000[12]"}`, "time", "1719860000.123"),
		"/api/v1/query?" + r("query", "special", "time", "1719860000"),
		"/api/v1/query?" + r("query", "rate(requests_total[5m])", "time", "1719861000"),
		"/api/v1/query?" + r("query", "mem_used", "time", "1719862700"),
		"/api/v1/query?" + r("query", "topk(2, cpu_load)", "time", "1719860300"),
		"/api/v1/query?" + r("query", `histogram_quantile(0.9, rate(requests_total[5m]))`, "time", "1719861000"),
		"/api/v1/query?" + r("query", "cpu_load[1m]", "time", "1719860000"),
		"/api/v1/query?" + r("query", `"a string"`, "time", "1719860000"),
		"/api/v1/query?" + r("query", "time()", "time", "1719860000.5"),
		"/api/v1/query?" + r("query", "cpu_load", "time", "1719860000", "limit", "2"),
		"/api/v1/query?" + r("query", `label_replace(cpu_load, "host", "$1", "hostname", "f(.*)")`, "time", "1719860000"),
		"/api/v1/query?" + r("query", "sum(", "time", "1719860000"),
		"/api/v1/query?" + r("query", `abs({__name__=~"cpu_load|mem_used"})`, "time", "1719860000"),
		"/api/v1/query?" + r("query", "1", "time", "x"),
		"/api/v1/query?" + r("query", "1", "limit", "-1"),
		"/api/v1/query?" + r("query", "1", "timeout", "x"),
		"/api/v1/query?" + r("query", "1", "time", "4", "lookback_delta", "x"),
		"/api/v1/query_range?" + r("query", "cpu_load", "start", "1719859200", "end", "1719862800", "step", "60"),
		"/api/v1/query_range?" + r("query", `sum by (hostname) (rate(requests_total[5m]))`, "start", "1719859200", "end", "1719866400", "step", "1m"),
		"/api/v1/query_range?" + r("query", "special", "start", "1719859200", "end", "1719859800", "step", "15"),
		"/api/v1/query_range?" + r("query", "mem_used", "start", "1719862000", "end", "1719863000", "step", "33.3"),
		"/api/v1/query_range?" + r("query", "avg_over_time(cpu_load[10m:1m])", "start", "1719859200", "end", "1719862800", "step", "300"),
		"/api/v1/query_range?" + r("query", "1+1", "start", "0", "end", "60", "step", "30"),
		"/api/v1/query_range?" + r("query", "cpu_load", "start", "1719859200", "end", "1719862800", "step", "1.5m"),
		"/api/v1/query_range?" + r("query", "cpu_load", "start", "100", "end", "50", "step", "1"),
		"/api/v1/query_range?" + r("query", "cpu_load", "start", "0", "end", "11001", "step", "1"),
		"/api/v1/query_range?" + r("query", "cpu_load", "start", "0", "end", "60", "step", "0"),
		"/api/v1/query_range?" + r("query", "cpu_load", "end", "60", "step", "1"),
		"/api/v1/query_range?" + r("query", `"s"`, "start", "0", "end", "60", "step", "1"),
		"/api/v1/series?" + r("match[]", "cpu_load"),
		"/api/v1/series?" + r("match[]", `{hostname="f0002"}`, "match[]", "special"),
		"/api/v1/series?" + r("match[]", `{__name__!=""}`, "limit", "3"),
		"/api/v1/series?" + r("match[]", "mem_used", "start", "1719862700", "end", "1719862800"),
		"/api/v1/series",
		"/api/v1/series?" + r("match[]", `{__name__=~".*"}`),
		"/api/v1/labels",
		"/api/v1/labels?" + r("match[]", "cpu_load", "limit", "2"),
		"/api/v1/label/hostname/values",
		"/api/v1/label/__name__/values?" + r("match[]", `{hostname="f0001"}`, "start", "1719859200", "end", "1719862800", "limit", "40000"),
		"/api/v1/label/U__type_2d_id/values",
		"/api/v1/label/hostname/values?" + r("match[]", "x{"),
		"/api/v1/query_exemplars?" + r("query", "test", "start", "1719859200000", "end", "1719862800000"),
		"/api/v1/format_query?" + r("query", "sum by(a)(rate(x[5m]))/on(a) group_left y"),
		"/api/v1/parse_query?" + r("query", `sum by (a) (rate(x{y="z"}[5m] offset 1m)) / on(a) group_left(b) -y @ 100`),
		"/api/v1/parse_query?" + r("query", "x[5m:1m]"),
	}
	codes := map[int]int{}
	for _, path := range reqs {
		got, want := s.get(path), getURL(t, base+path)
		if got.code != want.code || got.body != want.body {
			t.Errorf("%s:\nbridge     %d %s\nprometheus %d %s", path, got.code, clip(got.body), want.code, clip(want.body))
		}
		codes[want.code]++
		if len(want.body) < 50 && want.code == 200 && want.body != `{"status":"success","data":[]}` {
			t.Errorf("%s: suspiciously small answer %q", path, want.body)
		}
	}
	t.Logf("%d requests, identical answers; Prometheus status codes %v", len(reqs), codes)
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func getURL(t testing.TB, u string) response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// startPrometheusWith writes OpenMetrics data with write, turns it into
// TSDB blocks with promtool and starts Prometheus on them.
func startPrometheusWith(t testing.TB, prom, promtool string, write func(io.Writer)) string {
	t.Helper()
	dir := t.TempDir()
	om := filepath.Join(dir, "data.om")
	f, err := os.Create(om)
	if err != nil {
		t.Fatal(err)
	}
	write(f)
	f.Close()
	data := filepath.Join(dir, "tsdb")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
		"--storage.tsdb.retention.time=100y", "--log.level=error")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("prometheus did not become ready")
	return ""
}
