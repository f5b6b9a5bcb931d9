package grafana

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/compat/promapi"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// The fixture is what cc-metric-collector sends to a small site: ClusterCockpit
// line protocol (cc-metric-store.md §2.5), one sample per metric and scope
// every 60 s for three hours.
const (
	fixtureStart   = 1700000000 // Unix seconds of the first tick
	fixtureStep    = 60         // seconds between ticks (ClusterCockpit's usual frequency)
	fixtureTicks   = 180        // three hours
	fixtureSockets = 2
	fixtureCores   = 2 // per socket
	fixtureSMT     = 2 // hardware threads per core
)

// fixtureHost is one node of the fixture and its accelerators (PCI ids, as
// cc-metric-collector's nvidia collector names them).
type fixtureHost struct {
	cluster, name string
	accels        []string
}

// fixtureHosts: a CPU cluster where only some nodes have a GPU and a GPU
// cluster. The first two hosts of each cluster have accelerators, so the
// dashboards' accelerator panels have data for the hosts a test picks first.
var fixtureHosts = []fixtureHost{
	{"alex", "a0121", []string{"00000000:01:00.0", "00000000:41:00.0"}},
	{"alex", "a0122", []string{"00000000:01:00.0", "00000000:41:00.0"}},
	{"fritz", "f0101", []string{"00000000:49:00.0"}},
	{"fritz", "f0102", []string{"00000000:49:00.0"}},
	{"fritz", "f0103", nil},
	{"fritz", "f0104", nil},
}

// fixtureLineProtocol returns the fixture as cc-metric-collector writes it
// (tags in lexical order, seconds precision, some lines with a unit tag as
// with meta_as_tags).
func fixtureLineProtocol() []byte {
	var b bytes.Buffer
	line := func(metric, cluster, host, typ, typeID, extra string, v float64, ts int64) {
		b.WriteString(metric)
		b.WriteString(",cluster=")
		b.WriteString(cluster)
		b.WriteString(",hostname=")
		b.WriteString(host)
		b.WriteString(",type=")
		b.WriteString(typ)
		if typeID != "" {
			b.WriteString(",type-id=")
			b.WriteString(typeID)
		}
		b.WriteString(extra)
		b.WriteString(" value=")
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(ts, 10))
		b.WriteByte('\n')
	}
	hwthreads := fixtureSockets * fixtureCores * fixtureSMT
	for i := 0; i < fixtureTicks; i++ {
		ts := int64(fixtureStart + i*fixtureStep)
		for hi, h := range fixtureHosts {
			// busy follows a slow wave per host, in [0.05, 0.95].
			busy := 0.5 + 0.45*math.Sin(float64(i)/25+float64(hi))
			line("cpu_load", h.cluster, h.name, "node", "", "", round(busy*float64(hwthreads), 2), ts)
			line("mem_used", h.cluster, h.name, "node", "", ",unit=GB", round(20+60*busy+float64(i%7), 1), ts)
			line("net_bw", h.cluster, h.name, "node", "", "", round(1e6*(1+busy)+float64(i*1000), 0), ts)
			line("file_bw", h.cluster, h.name, "node", "", "", round(5e5*(2-busy)+float64(i*100), 0), ts)
			for hw := 0; hw < hwthreads; hw++ {
				id := strconv.Itoa(hw)
				// odd hwthreads (SMT siblings) are mostly idle, as in a typical MPI job.
				share := busy
				if hw%2 == 1 {
					share *= 0.2
				}
				line("cpu_user", h.cluster, h.name, "hwthread", id, "", round(100*share, 1), ts)
				line("flops_any", h.cluster, h.name, "hwthread", id, "", round(12*share+0.01*float64(hw), 3), ts)
				line("ipc", h.cluster, h.name, "hwthread", id, "", round(0.3+2*share, 3), ts)
				line("clock", h.cluster, h.name, "hwthread", id, "", round(1200+1800*share, 0), ts)
			}
			for s := 0; s < fixtureSockets; s++ {
				id := strconv.Itoa(s)
				line("mem_bw", h.cluster, h.name, "socket", id, ",unit=GB/s", round(5+90*busy+float64(s), 2), ts)
				line("core_power", h.cluster, h.name, "socket", id, "", round(40+150*busy, 1), ts)
			}
			for ai, acc := range h.accels {
				line("acc_utilization", h.cluster, h.name, "accelerator", acc, "", math.Round(100*busy)-float64(ai), ts)
			}
		}
	}
	return b.Bytes()
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// Fixture time frame: a dashboard showing the last hour of the fixture,
// "now" being half an hour before its end.
var (
	fixtureNow      = time.Unix(fixtureStart+150*fixtureStep, 0)
	fixtureRange    = time.Hour
	fixtureStepSize = time.Duration(fixtureStep) * time.Second
)

// fixtureStorage is one storage holding the fixture, for the engine.
type fixtureStorage struct {
	name string
	q    storage.Queryable
}

// loadFixtures stores the fixture twice and returns both storages:
//
//   - "bridge": the product's own path. The body goes through core/lineproto
//     in Native mode (as /api/write and NATS decode it) into a core.Store,
//     and the engine reads it through compat/promapi's storage.Queryable,
//     the adapter the bridge's /api/v1/query and query_range use.
//   - "tsdb": a reference. The body is mapped to Prometheus labels by the
//     DESIGN.md contract (__name__, cluster, hostname, type with "node" at
//     host level, type_id, stype, stype_id, other tags as labels) and
//     written to Prometheus' own TSDB. A query that passes here but fails on
//     "bridge" points at the bridge, not at the dashboard.
func loadFixtures(t testing.TB) []fixtureStorage {
	t.Helper()
	body := fixtureLineProtocol()
	return []fixtureStorage{
		{"bridge", loadBridge(t, body)},
		{"tsdb", loadTSDB(t, body)},
	}
}

func loadBridge(t testing.TB, body []byte) storage.Queryable {
	t.Helper()
	st, err := core.New(core.Options{DefaultFrequency: fixtureStep})
	if err != nil {
		t.Fatal(err)
	}
	app := st.Appender()
	stats, err := lineproto.Decode(body, lineproto.Options{Mode: lineproto.Native}, app)
	if cerr := app.Commit(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("cannot load fixture into the store: %v", err)
	}
	if stats.Samples == 0 || stats.Skipped != 0 {
		t.Fatalf("fixture: %d samples stored, %d skipped", stats.Samples, stats.Skipped)
	}
	api, err := promapi.New(promapi.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return api.Queryable()
}

func loadTSDB(t testing.TB, body []byte) storage.Queryable {
	t.Helper()
	db := teststorage.New(t)
	app := db.Appender(context.Background())
	n, err := appendLineProtocol(app, body)
	if err != nil {
		t.Fatalf("cannot load fixture: %v", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("cannot commit fixture: %v", err)
	}
	if n == 0 {
		t.Fatal("fixture is empty")
	}
	return db
}

// labelNames maps ClusterCockpit tag keys to their Prometheus label names.
var labelNames = map[string]string{
	"host":     "hostname",
	"type-id":  "type_id",
	"stype-id": "stype_id",
}

// appendLineProtocol decodes ClusterCockpit line protocol (field "value",
// seconds timestamps) and appends every sample with its mapped labels.
func appendLineProtocol(app storage.Appender, body []byte) (int, error) {
	dec := lineprotocol.NewDecoderWithBytes(body)
	sb := labels.NewScratchBuilder(10)
	n := 0
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			return n, fmt.Errorf("cannot decode measurement: %w", err)
		}
		sb.Reset()
		sb.Add(labels.MetricName, string(m))
		hasType := false
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				return n, fmt.Errorf("cannot decode tag: %w", err)
			}
			if k == nil {
				break
			}
			name := string(k)
			if mapped, ok := labelNames[name]; ok {
				name = mapped
			}
			if name == "type" {
				hasType = true
			}
			sb.Add(name, string(v))
		}
		if !hasType {
			sb.Add("type", "node")
		}
		var val float64
		found := false
		for {
			k, v, err := dec.NextField()
			if err != nil {
				return n, fmt.Errorf("cannot decode field: %w", err)
			}
			if k == nil {
				break
			}
			if string(k) != "value" {
				return n, fmt.Errorf("unexpected field %q", k)
			}
			switch v.Kind() {
			case lineprotocol.Float:
				val = v.FloatV()
			case lineprotocol.Int:
				val = float64(v.IntV())
			case lineprotocol.Uint:
				val = float64(v.UintV())
			default:
				return n, fmt.Errorf("unsupported value kind %v", v.Kind())
			}
			found = true
		}
		if !found {
			return n, fmt.Errorf("line without value field")
		}
		ts, err := dec.Time(lineprotocol.Second, time.Time{})
		if err != nil || ts.IsZero() {
			return n, fmt.Errorf("cannot decode timestamp: %v", err)
		}
		sb.Sort()
		if _, err := app.Append(0, sb.Labels(), ts.UnixMilli(), val); err != nil {
			return n, fmt.Errorf("cannot append sample: %w", err)
		}
		n++
	}
	return n, nil
}
