package promlabels

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

func newStore(t testing.TB) *core.Store {
	t.Helper()
	st, err := core.New(core.Options{DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// put stores one sample under k and returns the series it landed in.
func put(t testing.TB, st *core.Store, k *core.Key) *core.Series {
	t.Helper()
	app := st.Appender()
	if err := app.Append(k, 1000, 1); err != nil {
		app.Commit()
		t.Fatalf("append %s: %v", keyString(k), err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	s := findSeries(st, k)
	if s == nil {
		t.Fatalf("series %s not found after append", keyString(k))
	}
	return s
}

// findSeries walks the tree to the series named by k.
func findSeries(st *core.Store, k *core.Key) *core.Series {
	l := st.Root()
	path := append([][]byte{k.Cluster, k.Host}, k.Scope...)
	for _, p := range path {
		var next *core.Level
		for _, c := range l.Children() {
			if c.Name() == string(p) {
				next = c
			}
		}
		if next == nil {
			return nil
		}
		l = next
	}
	for _, s := range l.Series() {
		if s.Metric().Name == string(k.Metric) && s.Labels() == string(k.Labels) {
			return s
		}
	}
	return nil
}

// allSeries lists every series of the store.
func allSeries(st *core.Store) []*core.Series {
	var out []*core.Series
	var walk func(l *core.Level)
	walk = func(l *core.Level) {
		out = append(out, l.Series()...)
		for _, c := range l.Children() {
			walk(c)
		}
	}
	walk(st.Root())
	return out
}

// keyString renders a key readably: cluster/host/scope... metric {labels}.
func keyString(k *core.Key) string {
	var b strings.Builder
	b.WriteString(string(k.Cluster) + "/" + string(k.Host))
	for _, s := range k.Scope {
		b.WriteString("/" + string(s))
	}
	b.WriteString(" " + string(k.Metric) + " {" + canonString(string(k.Labels)) + "}")
	return b.String()
}

func canonString(c string) string {
	var parts []string
	forEachLabel(c, func(n, v string) { parts = append(parts, n+"="+v) })
	return strings.Join(parts, ",")
}

func TestToKey(t *testing.T) {
	cases := []struct {
		name string
		ls   labels.Labels
		def  string
		want string // keyString
	}{
		{"lp shape host level", labels.FromStrings("__name__", "cpu_load", "cluster", "c", "hostname", "h", "type", "node"), "d",
			"c/h cpu_load {}"},
		{"lp shape hwthread", labels.FromStrings("__name__", "flops_any", "cluster", "c", "hostname", "h", "type", "hwthread", "type_id", "12"), "d",
			"c/h/hwthread12 flops_any {}"},
		{"lp shape socket/core", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "type", "socket", "type_id", "1", "stype", "core", "stype_id", "3"), "d",
			"c/h/socket1/core3 m {}"},
		{"lp shape accelerator", labels.FromStrings("__name__", "acc_utilization", "cluster", "alex", "hostname", "a0124", "type", "accelerator", "type_id", "00000000:49:00.0"), "d",
			"alex/a0124/accelerator00000000:49:00.0 acc_utilization {}"},
		{"lp shape extra labels", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "job", "j", "type", "node", "zz", "z"), "d",
			"c/h m {job=j,zz=z}"},
		{"lp shape with host label kept", labels.FromStrings("__name__", "m", "cluster", "c", "host", "x", "hostname", "h", "type", "node"), "d",
			"c/h m {host=x}"},
		{"prometheus scrape", labels.FromStrings("__name__", "up", "instance", "node1:9100", "job", "node"), "fritz",
			"fritz/node1 up {__ccmb_rw__=1,instance=node1:9100,job=node}"},
		{"ipv6 instance", labels.FromStrings("__name__", "up", "instance", "[fe80::1]:9100"), "c",
			"c/fe80::1 up {__ccmb_rw__=1,instance=[fe80::1]:9100}"},
		{"telegraf host", labels.FromStrings("__name__", "system_load1", "cluster", "fritz", "host", "t1"), "d",
			"fritz/t1 system_load1 {__ccmb_rw__=1,cluster=fritz,host=t1}"},
		{"no type label", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h"), "d",
			"c/h m {__ccmb_rw__=1,cluster=c,hostname=h}"},
		{"default cluster", labels.FromStrings("__name__", "m", "hostname", "h", "type", "node"), "d",
			"d/h m {__ccmb_rw__=1,hostname=h,type=node}"},
		{"dash spelling", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "type", "core", "type-id", "3"), "d",
			"c/h/core3 m {__ccmb_rw__=1,cluster=c,hostname=h,type=core,type-id=3}"},
		{"node with type_id", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "type", "node", "type_id", "3"), "d",
			"c/h m {__ccmb_rw__=1,cluster=c,hostname=h,type=node,type_id=3}"},
		{"ambiguous split", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "type", "gpu1", "type_id", "0"), "d",
			"c/h/gpu10 m {__ccmb_rw__=1,cluster=c,hostname=h,type=gpu1,type_id=0}"},
		{"unsafe host sanitised", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "a/../b", "type", "node"), "d",
			"c/a_.__b m {__ccmb_rw__=1,cluster=c,hostname=a/../b,type=node}"},
		{"instance url", labels.FromStrings("__name__", "probe_success", "instance", "https://example.com/health"), "c",
			"c/example.com probe_success {__ccmb_rw__=1,instance=https://example.com/health}"},
		{"utf8 names", labels.FromStrings("__name__", "resource.cpu.usage", "job name", "x\ny"), "c",
			"c/ resource.cpu.usage {__ccmb_rw__=1,job name=x\ny}"},
		{"empty value is absent", labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "job", "", "type", "node"), "d",
			"c/h m {}"},
		{"reserved-looking label sorts before marker", labels.FromStrings("__a", "1", "__name__", "m"), "c",
			"c/ m {__a=1,__ccmb_rw__=1}"},
	}
	var k core.Key
	var buf []byte
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			buf, err = ToKey(tc.ls, tc.def, &k, buf)
			if err != nil {
				t.Fatal(err)
			}
			if got := keyString(&k); got != tc.want {
				t.Errorf("ToKey(%s)\n got %q\nwant %q", tc.ls, got, tc.want)
			}
			st := newStore(t)
			s := put(t, st, &k)
			var b labels.ScratchBuilder
			want := tc.ls.WithoutEmpty()
			if got := FromSeries(s, &b); !labels.Equal(got, want) {
				t.Errorf("FromSeries = %s, want %s", got, want)
			}
		})
	}
}

func TestToKeyErrors(t *testing.T) {
	cases := []struct {
		name string
		ls   labels.Labels
		want error
	}{
		{"no name", labels.FromStrings("job", "x"), ErrMissingName},
		{"empty name", labels.FromStrings("__name__", "", "job", "x"), ErrMissingName},
		{"empty set", labels.EmptyLabels(), ErrMissingName},
		{"marker", labels.FromStrings("__ccmb_rw__", "1", "__name__", "m"), ErrInvalidLabels},
		{"empty label name", labels.New(labels.Label{Name: "", Value: "v"}, labels.Label{Name: "__name__", Value: "m"}), ErrInvalidLabels},
		{"duplicate", labels.New(labels.Label{Name: "__name__", Value: "m"}, labels.Label{Name: "a", Value: "1"}, labels.Label{Name: "a", Value: "2"}), ErrInvalidLabels},
		{"invalid utf8 value", labels.FromStrings("__name__", "m", "a", "x\xffy"), ErrInvalidLabels},
		{"invalid utf8 name", labels.FromStrings("__name__", "m", "a\xfe", "x"), ErrInvalidLabels},
		{"nul in metric", labels.FromStrings("__name__", "m\x00n"), ErrInvalidLabels},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var k core.Key
			_, err := ToKey(tc.ls, "c", &k, nil)
			if !errors.Is(err, tc.want) || !errors.Is(err, core.ErrInvalidName) {
				t.Fatalf("ToKey(%s) error = %v, want %v (and core.ErrInvalidName)", tc.ls, err, tc.want)
			}
		})
	}
}

// lpWrite stores line-protocol lines in Native mode, as /api/write does.
func lpWrite(t testing.TB, st *core.Store, body string) {
	t.Helper()
	app := st.Appender()
	_, err := lineproto.Decode([]byte(body), lineproto.Options{Mode: lineproto.Native, DefaultCluster: []byte("dflt")}, app)
	if cerr := app.Commit(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatalf("line protocol %q: %v", body, err)
	}
}

func TestFromSeriesLineProtocol(t *testing.T) {
	cases := []struct {
		line string
		want labels.Labels
	}{
		{"cpu_load,cluster=c,hostname=h,type=node value=1 1700000000",
			labels.FromStrings("__name__", "cpu_load", "cluster", "c", "hostname", "h", "type", "node")},
		{"cpu_load,hostname=h value=1 1700000000", // no type tag, default cluster
			labels.FromStrings("__name__", "cpu_load", "cluster", "dflt", "hostname", "h", "type", "node")},
		{"flops_any,cluster=c,hostname=h,type=hwthread,type-id=12 value=1 1700000000",
			labels.FromStrings("__name__", "flops_any", "cluster", "c", "hostname", "h", "type", "hwthread", "type_id", "12")},
		{"m,cluster=c,hostname=h,type=socket,type-id=1,stype=core,stype-id=3 value=1 1700000000",
			labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "type", "socket", "type_id", "1", "stype", "core", "stype_id", "3")},
		{"acc_utilization,cluster=alex,hostname=a0124,type=accelerator,type-id=00000000:49:00.0 value=97i 1700000040",
			labels.FromStrings("__name__", "acc_utilization", "cluster", "alex", "hostname", "a0124", "type", "accelerator", "type_id", "00000000:49:00.0")},
		{"m,cluster=c,host=x,hostname=h,job=j,type=memoryDomain,type_id=0 value=1 1700000000",
			labels.FromStrings("__name__", "m", "cluster", "c", "host", "x", "hostname", "h", "job", "j", "type", "memoryDomain", "type_id", "0")},
		{"m,cluster=c,host=h value=1 1700000000",
			labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "h", "type", "node")},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			st := newStore(t)
			lpWrite(t, st, tc.line)
			ss := allSeries(st)
			if len(ss) != 1 {
				t.Fatalf("got %d series", len(ss))
			}
			var b labels.ScratchBuilder
			got := FromSeries(ss[0], &b)
			if !labels.Equal(got, tc.want) {
				t.Fatalf("FromSeries = %s, want %s", got, tc.want)
			}
			// The same label set over remote write is the same series.
			var k core.Key
			if _, err := ToKey(got, "dflt", &k, nil); err != nil {
				t.Fatal(err)
			}
			if s := put(t, st, &k); s != ss[0] {
				t.Fatalf("RW labels %s landed in %s, want the line-protocol series", got, keyString(&k))
			}
			if n := st.NumSeries(); n != 1 {
				t.Fatalf("NumSeries = %d, want 1", n)
			}
		})
	}
}

// TestOneSeries is the brief's example: the same series over line protocol
// (native mode) and remote write is one series.
func TestOneSeries(t *testing.T) {
	st := newStore(t)
	lpWrite(t, st, "cpu_load,cluster=c,hostname=h,type=node value=1 1700000000")
	ls := labels.FromStrings("__name__", "cpu_load", "cluster", "c", "hostname", "h", "type", "node")
	var k core.Key
	if _, err := ToKey(ls, "other", &k, nil); err != nil {
		t.Fatal(err)
	}
	app := st.Appender()
	if err := app.Append(&k, 1700000060000, 2); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := st.NumSeries(); n != 1 {
		t.Fatalf("NumSeries = %d, want 1", n)
	}
	s := allSeries(st)[0]
	ts, vs := s.AppendRange(nil, nil, 0, 1<<62)
	if !slices.Equal(ts, []int64{1700000000000, 1700000060000}) || !slices.Equal(vs, []float64{1, 2}) {
		t.Fatalf("samples %v %v", ts, vs)
	}
}

// randomLabels builds label sets that stress the mapping: tree names with
// random presence and values (node or not, both id spellings), names that
// collide with tree names, reserved-looking names, UTF-8 and unsafe text.
func randomLabels(r *rand.Rand) labels.Labels {
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	m := map[string]string{"__name__": pick("up", "cpu_load", "resource.cpu.usage", "métrique", "a b", "x_value")}
	maybe := func(name string, vals ...string) {
		if r.IntN(2) == 0 {
			m[name] = pick(vals...)
		}
	}
	maybe("cluster", "c", "fritz", "a/b", "..")
	maybe("hostname", "h1", "f0101", "h:1", "ü", "a..b")
	maybe("host", "h1", "t1", "x")
	maybe("instance", "h1:9100", "[::1]:80", "http://e.x/p", "::1", "h1")
	maybe("type", "node", "hwthread", "core", "socket", "accelerator", "gpu1", "", "12")
	maybe("type_id", "0", "12", "00000000:3b:00.0", "x", "007")
	maybe("type-id", "0", "3")
	maybe("stype", "core", "node", "l3")
	maybe("stype_id", "1", "")
	maybe("stype-id", "2")
	maybe("job", "node", "job name", "\n")
	maybe("__meta", "x")
	maybe("job name", "värde", "a\x00b")
	maybe("le", "+Inf")
	for i := r.IntN(3); i > 0; i-- {
		m[fmt.Sprintf("l%d", r.IntN(5))] = fmt.Sprint(r.IntN(3))
	}
	return labels.FromMap(m)
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	st := newStore(t)
	var k core.Key
	var buf []byte
	var b labels.ScratchBuilder
	distinct := map[string]bool{}
	for i := 0; i < 20000; i++ {
		ls := randomLabels(r)
		var err error
		def := []string{"d", "", "c"}[r.IntN(3)]
		buf, err = ToKey(ls, def, &k, buf)
		if err != nil {
			t.Fatalf("ToKey(%s): %v", ls, err)
		}
		s := put(t, st, &k)
		want := ls.WithoutEmpty()
		if got := FromSeries(s, &b); !labels.Equal(got, want) {
			t.Fatalf("round trip of %s (default %q) via %s: got %s", ls, def, keyString(&k), got)
		}
		distinct[want.String()] = true
	}
	// Different label sets never collide into one series. (A label set that
	// differs only by the default cluster may land in two series.)
	if n := st.NumSeries(); n < int64(len(distinct)) {
		t.Fatalf("%d distinct label sets stored in %d series", len(distinct), n)
	}
	seen := map[string]*core.Series{}
	for _, s := range allSeries(st) {
		key := FromSeries(s, &b).String()
		if prev := seen[key]; prev != nil && prev != s {
			// Same labels in two series is allowed only when the default
			// cluster differed, i.e. the series are marked.
			if !marked(s.Labels()) || !marked(prev.Labels()) {
				t.Fatalf("two unmarked series read back as %s", key)
			}
		}
		seen[key] = s
	}
}

func TestToKeyAllocs(t *testing.T) {
	sets := []labels.Labels{
		labels.FromStrings("__name__", "flops_any", "cluster", "c", "hostname", "h", "type", "hwthread", "type_id", "12"),
		labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "3", "instance", "n1:9100", "job", "node", "mode", "idle"),
		labels.FromStrings("__name__", "m", "cluster", "c", "hostname", "a/../b", "type", "socket", "type-id", "1", "stype", "core", "stype_id", "3"),
	}
	var k core.Key
	buf := make([]byte, 0, 256)
	k.Scope = make([][]byte, 0, 2)
	for _, ls := range sets {
		n := testing.AllocsPerRun(100, func() {
			var err error
			if buf, err = ToKey(ls, "d", &k, buf); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("ToKey(%s): %v allocs, want 0", ls, n)
		}
	}
}

func TestSplitLevel(t *testing.T) {
	for _, tc := range []struct{ in, typ, id string }{
		{"hwthread12", "hwthread", "12"},
		{"core007", "core", "007"},
		{"memoryDomain3", "memoryDomain", "3"},
		{"accelerator00000000:3b:00.0", "accelerator", "00000000:3b:00.0"},
		{"accelerator", "accelerator", ""},
		{"socket", "socket", ""},
		{"12", "", "12"},
		{"gpu10", "gpu", "10"},
		{"", "", ""},
	} {
		if typ, id := SplitLevel(tc.in); typ != tc.typ || id != tc.id {
			t.Errorf("SplitLevel(%q) = %q, %q; want %q, %q", tc.in, typ, id, tc.typ, tc.id)
		}
	}
}

func TestHostFromInstance(t *testing.T) {
	for in, want := range map[string]string{
		"node1:9100":              "node1",
		"node1":                   "node1",
		"10.0.0.1:80":             "10.0.0.1",
		"[::1]:9100":              "::1",
		"[::1]":                   "::1",
		"fe80::1":                 "fe80::1",
		"http://h.example:80/x?y": "h.example",
		"https://u:p@h/":          "h",
		"":                        "",
	} {
		if got := HostFromInstance(in); got != want {
			t.Errorf("HostFromInstance(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkToKey(b *testing.B) {
	ls := labels.FromStrings("__name__", "node_cpu_seconds_total", "cluster", "c", "cpu", "3", "instance", "n1:9100", "job", "node", "mode", "idle")
	var k core.Key
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = ToKey(ls, "d", &k, buf)
	}
}

func BenchmarkFromSeries(b *testing.B) {
	st := newStore(b)
	var k core.Key
	ls := labels.FromStrings("__name__", "flops_any", "cluster", "c", "hostname", "h", "job", "j", "type", "hwthread", "type_id", "12")
	ToKey(ls, "d", &k, nil)
	s := put(b, st, &k)
	var sb labels.ScratchBuilder
	b.ReportAllocs()
	for b.Loop() {
		FromSeries(s, &sb)
	}
}
