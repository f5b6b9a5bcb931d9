package influx_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
)

// Requests below are built the way Telegraf 1.37 builds them
// (plugins/outputs/influxdb/http.go and plugins/outputs/influxdb_v2/http.go)
// with the default settings: content_encoding = "gzip", no precision
// parameter (nanosecond timestamps), a body of unknown length (so the Go
// client sends it chunked), User-Agent "Telegraf/<version> Go/<version>".

const telegrafUA = "Telegraf/1.37.2 Go/1.26.8"

// telegrafBatch is what the influx serializer writes for inputs.cpu and
// inputs.mem: tags sorted, host tag added by the agent, float and integer
// fields, nanosecond timestamps, one metric per line.
const telegrafBatch = "" +
	"cpu,cpu=cpu0,host=node01 usage_guest=0,usage_guest_nice=0,usage_idle=97.5,usage_iowait=0.25,usage_irq=0,usage_nice=0,usage_softirq=0.05,usage_steal=0,usage_system=1.2,usage_user=1.25 1719859200000000000\n" +
	"cpu,cpu=cpu-total,host=node01 usage_guest=0,usage_guest_nice=0,usage_idle=98,usage_iowait=0.1,usage_irq=0,usage_nice=0,usage_softirq=0.02,usage_steal=0,usage_system=0.9,usage_user=0.98 1719859200000000000\n" +
	"mem,host=node01 active=4120338432i,available=29023694848i,available_percent=86.4,buffered=482996224i,cached=6097977344i,free=23011786752i,inactive=5069746176i,total=33593823232i,used=3983818752i,used_percent=11.85 1719859200000000000\n"

// telegrafV1Query is outputs.influxdb's start-up request (Connect →
// CreateDatabase), unless skip_database_creation is set.
func telegrafV1Query(t *testing.T, base, user, pass string) *http.Request {
	params := url.Values{}
	params.Set("q", `CREATE DATABASE "telegraf"`)
	req, err := http.NewRequest("POST", base+"/query", strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	telegrafHeaders(req, user, pass)
	return req
}

// telegrafV1Write is outputs.influxdb's write: the body is gzipped through a
// pipe as it is serialized, so its length is unknown.
func telegrafV1Write(t *testing.T, base, body, user, pass string) *http.Request {
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := io.Copy(zw, strings.NewReader(body))
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest("POST", base+"/write?db=telegraf", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	telegrafHeaders(req, user, pass)
	req.Header.Set("Content-Encoding", "gzip")
	return req
}

// telegrafV2Write is outputs.influxdb_v2's write: the batch is gzipped in
// memory and sent through io.NopCloser, which hides its length.
func telegrafV2Write(t *testing.T, base, body, tok string) *http.Request {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	u := base + "/api/v2/write?" + url.Values{"bucket": {"hpc"}, "org": {"cc"}}.Encode()
	req, err := http.NewRequest("POST", u, io.NopCloser(bytes.NewBuffer(gz.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Authorization", "Token "+tok)
	req.Header.Set("User-Agent", telegrafUA)
	return req
}

func telegrafHeaders(req *http.Request, user, pass string) {
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("User-Agent", telegrafUA)
}

// TestTelegrafReplay is item 45 without the binary: the exact requests of
// outputs.influxdb (CREATE DATABASE, then a gzipped chunked write) and
// outputs.influxdb_v2, with and without auth, at the root and under
// /influx. Each must answer what Telegraf counts as success, and the data
// must be stored as the mapping says.
func TestTelegrafReplay(t *testing.T) {
	key, verifier := newKey(t)
	tok := token(t, key, jwt.MapClaims{"sub": "telegraf"})
	for _, tc := range []struct {
		name   string
		prefix string
		auth   bool
	}{
		{"no auth", "", false},
		{"auth", "", true},
		{"auth under /influx", "/influx", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			record := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					seen = append(seen, r.URL.Path+" "+strings.Join(r.TransferEncoding, ","))
					mu.Unlock()
					h.ServeHTTP(w, r)
				})
			}
			s := startWrapped(t, record, func(o *influx.Options) {
				if tc.auth {
					o.Verifier = verifier
				}
			})
			base := s.URL + tc.prefix
			user, pass := "", ""
			if tc.auth {
				user, pass = "telegraf", tok
			}

			// outputs.influxdb: Connect, then Write. Telegraf accepts a 200
			// whose results[0] has no error.
			r := s.send(t, telegrafV1Query(t, base, user, pass))
			if r.status != 200 || r.body != `{"results":[{"statement_id":0}]}`+"\n" {
				t.Fatalf("CREATE DATABASE: %d %s", r.status, r.body)
			}
			r = s.send(t, telegrafV1Write(t, base, telegrafBatch, user, pass))
			if r.status != 204 || r.body != "" {
				t.Fatalf("v1 write: %d %s", r.status, r.body)
			}

			// outputs.influxdb_v2, one flush later.
			v2Batch := strings.ReplaceAll(telegrafBatch, "1719859200000000000", "1719859260000000000")
			r = s.send(t, telegrafV2Write(t, base, v2Batch, tok))
			if r.status != 204 || r.body != "" {
				t.Fatalf("v2 write: %d %s", r.status, r.body)
			}

			mu.Lock()
			writes := 0
			for _, e := range seen {
				if strings.Contains(e, "write ") {
					writes++
					if !strings.HasSuffix(e, "write chunked") {
						t.Errorf("write request not chunked: %q", e)
					}
				}
			}
			if writes != 2 {
				t.Errorf("requests seen: %q", seen)
			}
			mu.Unlock()

			// Read back through the native HTTP API (item 45 asks for
			// cpu_usage_user{cpu="cpu0"} over PromQL, which does not exist
			// yet): host-level series, Telegraf's host tag → hostname,
			// cpu kept as a label so that cpu0 and cpu-total stay apart.
			data := s.nativeQuery(t, "fritz", "node01", "mem_used_percent", t0, t0+120)
			if len(data) != 2 || data[0] == nil || *data[0] != 11.85 || data[1] == nil || *data[1] != 11.85 {
				t.Errorf("mem_used_percent: %v", data)
			}
			data = s.nativeQuery(t, "fritz", "node01", "mem_total", t0, t0+120)
			if len(data) != 2 || data[0] == nil || *data[0] != 33593823232 {
				t.Errorf("mem_total: %v", data)
			}
			// Two label sets at the host level: the native query sums them
			// (auto-registered metrics aggregate by sum).
			data = s.nativeQuery(t, "fritz", "node01", "cpu_usage_user", t0, t0+120)
			if len(data) != 2 || data[0] == nil || *data[0] != 1.25+0.98 {
				t.Errorf("cpu_usage_user: %v", data)
			}
			var cpuSeries []string
			for _, si := range s.dump() {
				if si.metric == "cpu_usage_user" {
					cpuSeries = append(cpuSeries, si.path+"{"+si.labels+"}")
				}
			}
			if strings.Join(cpuSeries, " ") != "fritz/node01{cpu=cpu-total} fritz/node01{cpu=cpu0}" {
				t.Errorf("cpu_usage_user series: %v", cpuSeries)
			}
			if n := len(s.dump()); n != 2*10+10 {
				t.Errorf("%d series, want 30 (10 cpu fields × 2 cpus, 10 mem fields)", n)
			}
		})
	}
}
