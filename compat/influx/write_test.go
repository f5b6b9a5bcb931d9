package influx_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
)

// writeCase is one request and what it must do. Items refer to
// protocols.md section 8. Where an item queries PromQL (which does not
// exist yet), the stored value is read back through the native read path
// instead (core.Store.ReadNative, or the native /api/query over HTTP).
type writeCase struct {
	name     string
	item     int
	opts     func(*influx.Options)
	setup    []request // sent first, each must answer 2xx
	req      request
	status   int
	body     string   // exact answer body when set; 204 always needs ""
	contains []string // substrings of the answer body
	check    func(t *testing.T, s *testServer)
}

func runWriteCases(t *testing.T, cases []writeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(fmt.Sprintf("item%d/%s", tc.item, tc.name), func(t *testing.T) {
			var opts []func(*influx.Options)
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			s := startServer(t, opts...)
			for _, r := range tc.setup {
				if got := s.do(t, r); got.status/100 != 2 {
					t.Fatalf("setup %s %s: %d %s", r.method, r.path, got.status, got.body)
				}
			}
			got := s.do(t, tc.req)
			if got.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", got.status, tc.status, got.body)
			}
			if got.status == 204 && got.body != "" {
				t.Errorf("204 with body %q", got.body)
			}
			if tc.body != "" && got.body != tc.body {
				t.Errorf("body\n got %q\nwant %q", got.body, tc.body)
			}
			for _, sub := range tc.contains {
				if !strings.Contains(got.body, sub) {
					t.Errorf("body %q does not contain %q", got.body, sub)
				}
			}
			if got.status >= 400 {
				if ct := got.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("error Content-Type %q", ct)
				}
			}
			if v := got.header.Get("X-Influxdb-Version"); v != influx.Version {
				t.Errorf("X-Influxdb-Version %q", v)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// wantSample checks the one sample of metric at path.
func wantSample(metric string, ts int64, v float64, path ...string) func(*testing.T, *testServer) {
	return func(t *testing.T, s *testServer) {
		t.Helper()
		gotTs, gotV := s.mustSample(t, metric, path...)
		if gotTs != ts || gotV != v {
			t.Errorf("%s at %v: %g at %d, want %g at %d", metric, path, gotV, gotTs, v, ts)
		}
	}
}

// wantSeries checks the exact set of stored series.
func wantSeries(want ...seriesInfo) func(*testing.T, *testServer) {
	return func(t *testing.T, s *testServer) {
		t.Helper()
		got := s.dump()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("series\n got %v\nwant %v", got, want)
		}
	}
}

func all(checks ...func(*testing.T, *testServer)) func(*testing.T, *testServer) {
	return func(t *testing.T, s *testServer) {
		t.Helper()
		for _, c := range checks {
			c(t, s)
		}
	}
}

const (
	t0     = int64(1719859200) // 2024-07-01T18:40:00Z
	line33 = "cpu_load,cluster=fritz,hostname=f0101,type=node value=1.5 1719859200"
)

func TestWriteV1(t *testing.T) {
	runWriteCases(t, []writeCase{
		{
			name: "one point, precision s", item: 33,
			req:    request{path: "/write?db=x&precision=s", body: line33},
			status: 204,
			check: func(t *testing.T, s *testServer) {
				// query=cpu_load{hostname="f0101"}&time=1719859200 → "1.5",
				// read through the native HTTP API instead of PromQL.
				data := s.nativeQuery(t, "fritz", "f0101", "cpu_load", t0, t0+60)
				if len(data) != 1 || data[0] == nil || *data[0] != 1.5 {
					t.Errorf("native query: %v", data)
				}
				wantSample("cpu_load", t0, 1.5, "fritz", "f0101")(t, s)
			},
		},
		{
			name: "under /influx", item: 33,
			req:    request{path: "/influx/write?db=x&precision=s", body: line33},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "gzip", item: 34,
			req:    request{path: "/write?db=x&precision=s", body: line33 + "\n", gzip: true},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "x-gzip", item: 34,
			req: request{path: "/write?db=x&precision=s", body: line33, gzip: true,
				header: map[string]string{"Content-Encoding": "x-gzip"}},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "two gzip members", item: 34,
			req: request{path: "/write?db=x&precision=s", body: string(gzipBytes(t, []byte("m1,hostname=a value=1 1719859200\n"))) +
				string(gzipBytes(t, []byte("m2,hostname=a value=2 1719859200\n"))), header: map[string]string{"Content-Encoding": "gzip"}},
			status: 204, check: all(wantSample("m1", t0, 1, "fritz", "a"), wantSample("m2", t0, 2, "fritz", "a")),
		},
		{
			name: "corrupt gzip", item: 34,
			req: request{path: "/write?db=x&precision=s", body: "\x1f\x8b\x08\x00garbage",
				header: map[string]string{"Content-Encoding": "gzip"}},
			status: 400, contains: []string{`{"error":"invalid gzip body: `},
			check: wantSeries(),
		},
		{
			name: "not gzip at all", item: 34,
			req:    request{path: "/write?db=x&precision=s", body: line33, header: map[string]string{"Content-Encoding": "gzip"}},
			status: 400, body: `{"error":"invalid gzip body: gzip: invalid header"}` + "\n",
		},
		{
			name: "unknown encoding", item: 34,
			req:    request{path: "/write?db=x", body: line33, header: map[string]string{"Content-Encoding": "br"}},
			status: 400, contains: []string{`unsupported Content-Encoding \"br\"`},
		},
		{
			name: "precision ms", item: 35,
			req:    request{path: "/write?db=x&precision=ms", body: "cpu_load,hostname=f0101 value=1.5 1719859200000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision u", item: 35,
			req:    request{path: "/write?db=x&precision=u", body: "cpu_load,hostname=f0101 value=1.5 1719859200000000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision us", item: 35,
			req:    request{path: "/write?db=x&precision=us", body: "cpu_load,hostname=f0101 value=1.5 1719859200000000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision n", item: 35,
			req:    request{path: "/write?db=x&precision=n", body: "cpu_load,hostname=f0101 value=1.5 1719859200000000000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision ns", item: 35,
			req:    request{path: "/write?db=x&precision=ns", body: "cpu_load,hostname=f0101 value=1.5 1719859200000000000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "default precision", item: 35,
			req:    request{path: "/write?db=x", body: "cpu_load,hostname=f0101 value=1.5 1719859200000000000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision m", item: 35,
			req:    request{path: "/write?db=x&precision=m", body: "cpu_load,hostname=f0101 value=1.5 28664320"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision h", item: 35,
			req:    request{path: "/write?db=x&precision=h", body: "cpu_load,hostname=f0101 value=1.5 477738"},
			status: 204, check: wantSample("cpu_load", 1719856800, 1.5, "fritz", "f0101"),
		},
		{
			name: "bad precision", item: 35,
			req:    request{path: "/write?db=x&precision=d", body: line33},
			status: 400, body: `{"error":"invalid precision \"d\" (valid: n, u, ms, s, m, h)"}` + "\n",
			check: wantSeries(),
		},
		{
			name: "seconds value overflows as ns→s is fine, s→h is not", item: 35,
			req:    request{path: "/write?db=x&precision=h", body: "cpu_load,hostname=a value=1 1719859200000000"},
			status: 400, contains: []string{`{"error":"unable to parse 'cpu_load,hostname=a value=1 1719859200000000': timestamp 1719859200000000 out of range for precision h`},
		},
		{
			name: "partial write", item: 37,
			req:    request{path: "/write?db=x", body: "cpu_load,hostname=a value=1 1719859200000000000\nthis is bad\n"},
			status: 400,
			body:   `{"error":"partial write: unable to parse 'this is bad': syntax error: want '=' after field key \"is\", found ' ' (column 8) dropped=0"}` + "\n",
			check:  wantSample("cpu_load", t0, 1, "fritz", "a"),
		},
		{
			name: "good lines after bad ones are stored", item: 37,
			req: request{path: "/write?db=x&precision=s", body: "" +
				"m1,hostname=a value=1 1719859200\n" +
				"bad one\n" +
				"m2,hostname=a value=2 1719859200\r\n" +
				"m3,hostname=a value=x 1719859200\n" +
				"m4,hostname=a value=4 1719859200\n" +
				"m5,hostname=a value=5 abc\n" +
				"m6,hostname=a value=6 1719859200"},
			status: 400,
			contains: []string{
				`{"error":"partial write: unable to parse 'bad one': `,
				`\nunable to parse 'm3,hostname=a value=x 1719859200': `,
				`\nunable to parse 'm5,hostname=a value=5 abc': `,
				` dropped=0"}`,
			},
			check: all(
				wantSample("m1", t0, 1, "fritz", "a"), wantSample("m2", t0, 2, "fritz", "a"),
				wantSample("m4", t0, 4, "fritz", "a"), wantSample("m6", t0, 6, "fritz", "a"),
				func(t *testing.T, s *testServer) {
					if n := s.store.NumSeries(); n != 4 {
						t.Errorf("%d series, want 4", n)
					}
					if n := s.counter(t, "ccmb_influx_lines_rejected_total", "v1"); n != 3 {
						t.Errorf("rejected counter %g", n)
					}
				}),
		},
		{
			name: "nothing parseable", item: 37,
			req:      request{path: "/write?db=x", body: "this is bad\nso is this\n"},
			status:   400,
			contains: []string{`{"error":"unable to parse 'this is bad': `, `\nunable to parse 'so is this': `},
		},
		{
			name: "store rejects a host name", item: 37,
			req:      request{path: "/write?db=x&precision=s", body: "m,hostname=../x value=1 1719859200\nm,hostname=ok value=2 1719859200\n"},
			status:   400,
			contains: []string{`{"error":"partial write: unable to store 'm,hostname=../x value=1 1719859200': invalid name: host name \"../x\" contains \"..\" dropped=1"}`},
			check:    wantSample("m", t0, 2, "fritz", "ok"),
		},
		{
			name: "comments, blank lines, CRLF", item: 38,
			req:    request{path: "/write?db=x&precision=s", body: "# c\r\n\r\ncpu_load,hostname=a value=2 1719859200\r\n"},
			status: 204,
			check: all(wantSample("cpu_load", t0, 2, "fritz", "a"),
				wantSeries(seriesInfo{path: "fritz/a", metric: "cpu_load"})),
		},
		{
			name: "empty body", item: 38,
			req:    request{path: "/write?db=x", body: ""},
			status: 204, check: wantSeries(),
		},
		{
			name: "field types", item: 39,
			req:    request{path: "/write?db=x&precision=s", body: `cpu,hostname=a usage_user=1,usage_system=2i,idle=3u,up=true,down=F,msg="x" 1719859200`},
			status: 204,
			check: all(
				wantSample("cpu_usage_user", t0, 1, "fritz", "a"),
				wantSample("cpu_usage_system", t0, 2, "fritz", "a"),
				wantSample("cpu_idle", t0, 3, "fritz", "a"),
				wantSample("cpu_up", t0, 1, "fritz", "a"),
				wantSample("cpu_down", t0, 0, "fritz", "a"),
				wantSeries(
					seriesInfo{path: "fritz/a", metric: "cpu_down"},
					seriesInfo{path: "fritz/a", metric: "cpu_idle"},
					seriesInfo{path: "fritz/a", metric: "cpu_up"},
					seriesInfo{path: "fritz/a", metric: "cpu_usage_system"},
					seriesInfo{path: "fritz/a", metric: "cpu_usage_user"},
				),
				func(t *testing.T, s *testServer) {
					if n := s.counter(t, "ccmb_influx_samples_skipped_total", "v1"); n != 1 {
						t.Errorf("string field not counted as skipped: %g", n)
					}
					if n := s.counter(t, "ccmb_influx_samples_written_total", "v1"); n != 5 {
						t.Errorf("written counter %g", n)
					}
				}),
		},
		{
			name: "field value → bare measurement", item: 39,
			req:    request{path: "/write?db=x&precision=s", body: "load,hostname=a value=7 1719859200"},
			status: 204,
			check:  all(wantSample("load", t0, 7, "fritz", "a"), wantSeries(seriesInfo{path: "fritz/a", metric: "load"})),
		},
		{
			name: "out of range integer", item: 39,
			req:    request{path: "/write?db=x", body: "m,hostname=a v=9223372036854775808i"},
			status: 400, contains: []string{"unable to parse 'm,hostname=a v=9223372036854775808i': invalid field value"},
		},
		{
			// Item 40 sends type_id over remote write (compat/promremote);
			// here both spellings come over line protocol.
			name: "type-id and type_id are one series", item: 40,
			req: request{path: "/write?db=x&precision=s", body: "" +
				"cpu_load,hostname=a,type=core,type-id=12 value=1 1719859200\n" +
				"cpu_load,hostname=a,type_id=12,type=core value=2 1719859260\n"},
			status: 204,
			check: all(wantSeries(seriesInfo{path: "fritz/a/core12", metric: "cpu_load"}),
				func(t *testing.T, s *testServer) {
					res, err := s.read("cpu_load", "fritz", "a", "core12")
					if err != nil || len(res.Data) != 2 || res.Data[0] != 1 || res.Data[1] != 2 {
						t.Errorf("core12: %+v %v", res, err)
					}
				}),
		},
		{
			name: "stype-id and stype_id, type=node", item: 40,
			req: request{path: "/write?db=x&precision=s", body: "" +
				"m,hostname=a,type=socket,type-id=0,stype=core,stype_id=3 value=1 1719859200\n" +
				"m,hostname=a,type=socket,type_id=0,stype=core,stype-id=4 value=1 1719859200\n" +
				"m,hostname=a,type=node value=2 1719859200\n"},
			status: 204,
			check: wantSeries(
				seriesInfo{path: "fritz/a", metric: "m"},
				seriesInfo{path: "fritz/a/socket0/core3", metric: "m"},
				seriesInfo{path: "fritz/a/socket0/core4", metric: "m"},
			),
		},
		{
			name: "escapes", item: 40,
			req:    request{path: "/write?db=x&precision=s", body: `my\ m,host\=x=a\,b,hostname=h v=1 1719859200`},
			status: 204,
			check:  wantSeries(seriesInfo{path: "fritz/h", metric: "my m_v", labels: "host=x=a,b"}),
		},
		{
			name: "escapes, exact line of the item", item: 40,
			req:    request{path: "/write?db=x", body: `my\ m,host\=x=a\,b v=1`},
			status: 204,
			check:  wantSeries(seriesInfo{path: "fritz/", metric: "my m_v", labels: "host=x=a,b"}),
		},
		{
			name: "host → hostname, Telegraf's tags kept as labels", item: 40,
			req: request{path: "/write?db=telegraf", body: "" +
				"cpu,cpu=cpu0,host=node01 usage_user=1 1719859200000000000\n" +
				"cpu,cpu=cpu1,host=node01 usage_user=2 1719859200000000000\n"},
			status: 204,
			check: wantSeries(
				seriesInfo{path: "fritz/node01", metric: "cpu_usage_user", labels: "cpu=cpu0"},
				seriesInfo{path: "fritz/node01", metric: "cpu_usage_user", labels: "cpu=cpu1"},
			),
		},
		{
			name: "hostname wins, host stays a label", item: 40,
			req:    request{path: "/write?db=x", body: "m,host=h1,hostname=h2 value=1 1719859200000000000"},
			status: 204,
			check:  wantSeries(seriesInfo{path: "fritz/h2", metric: "m", labels: "host=h1"}),
		},
		{
			name: "cluster tag, then ?cluster=, then the default", item: 40,
			req: request{path: "/write?db=x&cluster=alex&precision=s", body: "" +
				"m,cluster=woody,hostname=a value=1 1719859200\nm,hostname=b value=1 1719859200\n"},
			status: 204,
			check:  wantSeries(seriesInfo{path: "alex/b", metric: "m"}, seriesInfo{path: "woody/a", metric: "m"}),
		},
		{
			name: "db ignored by default", item: 40,
			req:    request{path: "/write?db=telegraf&rp=autogen&consistency=one", body: "m,hostname=a value=1"},
			status: 204, check: wantSeries(seriesInfo{path: "fritz/a", metric: "m"}),
		},
		{
			name: "db names the cluster when configured", item: 40,
			opts:   func(o *influx.Options) { o.ClusterFromDB = true },
			req:    request{path: "/write?db=woody", body: "m,hostname=a value=1\nm,cluster=c2,hostname=a value=1"},
			status: 204, check: wantSeries(seriesInfo{path: "c2/a", metric: "m"}, seriesInfo{path: "woody/a", metric: "m"}),
		},
		{
			name: "bad consistency", item: 33,
			req:    request{path: "/write?db=x&consistency=most", body: line33},
			status: 400, body: `{"error":"invalid consistency level"}` + "\n",
		},
	})
}

// TestWriteWithoutTimestamp: item 36, receive time (truncated to the
// precision, as InfluxDB does).
func TestWriteWithoutTimestamp(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		path, metric string
		unit         int64
	}{
		{"/write?db=x", "m_ns", 1},
		{"/write?db=x&precision=s", "m_s", 1},
		{"/write?db=x&precision=h", "m_h", 3600},
		{"/api/v2/write?bucket=b&org=o", "m_v2", 1},
	} {
		before := time.Now().Unix()
		if r := s.do(t, request{path: tc.path, body: tc.metric + ",hostname=a value=3\n"}); r.status != 204 {
			t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
		}
		after := time.Now().Unix()
		ts, v := s.mustSample(t, tc.metric, "fritz", "a")
		lo, hi := before/tc.unit*tc.unit, after/tc.unit*tc.unit
		if v != 3 || ts < lo-5 || ts > hi+5 || ts%tc.unit != 0 {
			t.Errorf("%s: %g at %d, want 3 within [%d, %d]", tc.path, v, ts, lo, hi)
		}
	}
}

func TestWriteV2(t *testing.T) {
	key, verifier := newKey(t)
	good := token(t, key, map[string]any{"sub": "telegraf"})
	other, _ := newKey(t)
	bad := token(t, other, map[string]any{"sub": "telegraf"})
	withAuth := func(o *influx.Options) { o.Verifier = verifier }
	tokenHeader := func(tok string) map[string]string { return map[string]string{"Authorization": "Token " + tok} }
	runWriteCases(t, []writeCase{
		{
			name: "good token", item: 41, opts: withAuth,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=s", body: line33, header: tokenHeader(good)},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "Bearer token, gzip, under /influx", item: 41, opts: withAuth,
			req: request{path: "/influx/api/v2/write?org=o&bucket=b&precision=s", body: line33, gzip: true,
				header: map[string]string{"Authorization": "Bearer " + good}},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "bad token", item: 41, opts: withAuth,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=s", body: line33, header: tokenHeader(bad)},
			status: 401, body: `{"code":"unauthorized","message":"unauthorized access"}` + "\n",
			check: wantSeries(),
		},
		{
			name: "no token", item: 41, opts: withAuth,
			req:    request{path: "/api/v2/write?org=o&bucket=b", body: line33},
			status: 401, body: `{"code":"unauthorized","message":"unauthorized access"}` + "\n",
		},
		{
			name: "precision m", item: 41,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=m", body: line33},
			status: 400, body: `{"code":"invalid","message":"invalid precision; valid precision units are ns, us, ms, and s"}` + "\n",
		},
		{
			name: "no bucket", item: 41,
			req:    request{path: "/api/v2/write?org=o&precision=s", body: line33},
			status: 404, body: `{"code":"not found","message":"bucket not found"}` + "\n",
		},
		{
			name: "empty body", item: 41,
			req:    request{path: "/api/v2/write?org=o&bucket=b", body: ""},
			status: 400, body: `{"code":"invalid","message":"writing requires points"}` + "\n",
		},
		{
			name: "precisions", item: 35,
			req: request{path: "/api/v2/write?org=o&bucket=b&precision=us", body: "" +
				"cpu_load,hostname=f0101 value=1.5 1719859200000000\n"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "precision ms", item: 35,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=ms", body: "cpu_load,hostname=f0101 value=1.5 1719859200000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "default precision ns", item: 35,
			req:    request{path: "/api/v2/write?org=o&bucket=b", body: "cpu_load,hostname=f0101 value=1.5 1719859200000000000"},
			status: 204, check: wantSample("cpu_load", t0, 1.5, "fritz", "f0101"),
		},
		{
			name: "v1 spelling u is not v2", item: 35,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=u", body: line33},
			status: 400, contains: []string{`"code":"invalid"`},
		},
		{
			name: "a bad line rejects the whole batch", item: 37,
			req:    request{path: "/api/v2/write?org=o&bucket=b", body: "cpu_load,hostname=a value=1 1719859200000000000\nthis is bad\n"},
			status: 400,
			body:   `{"code":"invalid","message":"unable to parse 'this is bad': syntax error: want '=' after field key \"is\", found ' ' (column 8)","line":2}` + "\n",
			check:  wantSeries(),
		},
		{
			name: "store rejection is 422, the rest stored", item: 37,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=s", body: "m,hostname=a/b value=1 1719859200\nm,hostname=ok value=2 1719859200\n"},
			status: 422,
			body:   `{"code":"unprocessable entity","message":"failure writing points to database: partial write: unable to store 'm,hostname=a/b value=1 1719859200': invalid name: host name \"a/b\" contains a path separator dropped=1"}` + "\n",
			check:  wantSeries(seriesInfo{path: "fritz/ok", metric: "m"}),
		},
		{
			name: "comments, CRLF, field types, bucket ignored", item: 39,
			req:    request{path: "/api/v2/write?org=o&bucket=b&precision=s", body: "# c\r\n\r\ncpu,hostname=a usage_user=1,up=true,msg=\"x\" 1719859200\r\n"},
			status: 204,
			check: wantSeries(seriesInfo{path: "fritz/a", metric: "cpu_up"},
				seriesInfo{path: "fritz/a", metric: "cpu_usage_user"}),
		},
		{
			name: "bucket names the cluster when configured", item: 40,
			opts:   func(o *influx.Options) { o.ClusterFromDB = true },
			req:    request{path: "/api/v2/write?org=o&bucket=woody&precision=s", body: "m,hostname=a value=1 1719859200"},
			status: 204, check: wantSeries(seriesInfo{path: "woody/a", metric: "m"}),
		},
		{
			name: "corrupt gzip", item: 34,
			req: request{path: "/api/v2/write?org=o&bucket=b", body: line33,
				header: map[string]string{"Content-Encoding": "gzip"}},
			status: 400, body: `{"code":"invalid","message":"gzipped HTTP body contains an invalid header"}` + "\n",
		},
		{
			name: "truncated gzip", item: 34,
			req: request{path: "/api/v2/write?org=o&bucket=b", body: string(gzipBytes(t, []byte(line33))[:20]),
				header: map[string]string{"Content-Encoding": "gzip"}},
			status: 400, contains: []string{`{"code":"invalid","message":"unable to read data: invalid gzip body: `},
		},
	})
}

// TestPartialWriteReportCap: many bad lines are all skipped and counted,
// the answer names the first MaxReportedErrors of them, every good line is
// stored.
func TestPartialWriteReportCap(t *testing.T) {
	s := startServer(t)
	var b strings.Builder
	bad := influx.MaxReportedErrors + 50
	for i := range bad {
		fmt.Fprintf(&b, "m,hostname=h%d value=%d %d\nbad line %d\n", i, i, t0, i)
	}
	r := s.do(t, request{path: "/write?precision=s", body: b.String()})
	if r.status != 400 || !strings.HasPrefix(r.body, `{"error":"partial write: unable to parse 'bad line 0': `) ||
		!strings.HasSuffix(r.body, `\n(50 more rejected lines not shown) dropped=0"}`+"\n") ||
		strings.Count(r.body, "unable to parse") != influx.MaxReportedErrors {
		t.Fatalf("%d %.300s ... %s", r.status, r.body, r.body[max(0, len(r.body)-100):])
	}
	if n := s.store.NumSeries(); n != int64(bad) {
		t.Errorf("%d series stored, want %d", n, bad)
	}
	if h := r.header.Get("X-Influxdb-Error"); len(h) > 1024 || !strings.HasPrefix(h, "partial write: ") || strings.ContainsAny(h, "\r\n") {
		t.Errorf("X-Influxdb-Error %q", h)
	}
	if n := s.counter(t, "ccmb_influx_lines_rejected_total", "v1"); n != float64(bad) {
		t.Errorf("rejected counter %g", n)
	}
}
