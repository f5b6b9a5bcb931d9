package promapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Line protocol written through core/lineproto (Native mode, the path of
// /api/write and NATS) is queryable by PromQL with the mapped labels.
func TestLineProtocolIsQueryable(t *testing.T) {
	s := newTestServer(t, nil)
	s.writeLP(`cpu_load,cluster=c,hostname=h,type=node value=3.5 1719859200
cpu_load,cluster=c,hostname=h,type=node value=4 1719859260
cpu_load,cluster=c,hostname=h,type=core,type-id=12 value=0.5 1719859200
mem_bw,cluster=c,hostname=h,type=socket,type-id=0,stype=mc,stype-id=3,unit=GB/s value=7 1719859200
nv_util,hostname=g,type=accelerator,type-id=00000000:3b:00.0 value=90 1719859200
`)
	r := s.get("/api/v1/query?" + form("query", `cpu_load{cluster="c",hostname="h",type="node"}`, "time", "1719859200"))
	const want = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"cpu_load","cluster":"c","hostname":"h","type":"node"},"value":[1719859200,"3.5"]}]}}`
	if r.body != want {
		t.Fatalf("got  %s\nwant %s", r.body, want)
	}
	for _, c := range []struct{ query, want string }{
		{`cpu_load{type="core"}`, `{"metric":{"__name__":"cpu_load","cluster":"c","hostname":"h","type":"core","type_id":"12"},"value":[1719859200,"0.5"]}`},
		{`mem_bw`, `{"metric":{"__name__":"mem_bw","cluster":"c","hostname":"h","stype":"mc","stype_id":"3","type":"socket","type_id":"0","unit":"GB/s"},"value":[1719859200,"7"]}`},
		{`nv_util`, `{"metric":{"__name__":"nv_util","cluster":"fritz","hostname":"g","type":"accelerator","type_id":"00000000:3b:00.0"},"value":[1719859200,"90"]}`},
		{`sum by (type) (cpu_load)`, `[{"metric":{"type":"core"},"value":[1719859200,"0.5"]},{"metric":{"type":"node"},"value":[1719859200,"3.5"]}]`},
	} {
		r := s.get("/api/v1/query?" + form("query", c.query, "time", "1719859200"))
		if !strings.Contains(r.body, c.want) {
			t.Errorf("%s: got %s\nwant it to contain %s", c.query, r.body, c.want)
		}
	}
	r = s.get("/api/v1/query_range?" + form("query", `rate(cpu_load{type="node"}[2m])`, "start", "1719859260", "end", "1719859260", "step", "60"))
	if !strings.Contains(r.body, `"values":[[1719859260,"0.008333333333333333"]]`) {
		t.Errorf("rate: %s", r.body)
	}
}

// A line-protocol series and a remote-write series with the same label set
// are one series.
func TestLineProtocolAndRemoteWriteAreOneSeries(t *testing.T) {
	s := newTestServer(t, nil)
	s.writeLP("cpu_load,cluster=fritz,hostname=f0101,type=node value=1 1719859200\n")
	s.writeRW(labels.FromStrings("__name__", "cpu_load", "cluster", "fritz", "hostname", "f0101", "type", "node"), core.Sample{T: 1719859260000, V: 2})
	if d := s.get("/api/v1/series?match[]=cpu_load").wantData(t); string(d) != `[{"__name__":"cpu_load","cluster":"fritz","hostname":"f0101","type":"node"}]` {
		t.Errorf("series: %s", d)
	}
	r := s.get("/api/v1/query_range?" + form("query", "cpu_load", "start", "1719859200", "end", "1719859260", "step", "60"))
	if !strings.Contains(r.body, `"values":[[1719859200,"1"],[1719859260,"2"]]`) {
		t.Errorf("range: %s", r.body)
	}
}

// The engine reads exact samples, not cc-metric-store's slot view: two
// samples inside one 60 s slot are both seen, at their own milliseconds.
func TestExactSamples(t *testing.T) {
	st := newStore(t)
	writeRW(t, st, labels.FromStrings("__name__", "m", "hostname", "h"),
		core.Sample{T: 1719859200123, V: 1}, core.Sample{T: 1719859210456, V: 2}, core.Sample{T: 1719859259999, V: 4})
	a, err := New(Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	q, err := a.Engine().NewInstantQuery(context.Background(), a.Queryable(), nil, "m[1m]", time.UnixMilli(1719859260000))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m := res.Value.(promql.Matrix)
	if len(m) != 1 || len(m[0].Floats) != 3 || m[0].Floats[1].T != 1719859210456 || m[0].Floats[2].F != 4 {
		t.Fatalf("got %v", m)
	}
}
