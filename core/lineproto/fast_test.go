package lineproto

import (
	"math"
	"strconv"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

func newTestStore(t *testing.T) *core.Store {
	st, err := core.New(core.Options{DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The series cache must notice a deleted series, another store, and a
// changed default cluster.
func TestSeriesCache(t *testing.T) {
	d := NewDecoder()
	body := collectorBody(100)
	opt := Options{Mode: Native, DefaultCluster: []byte("dflt"), Now: now}
	stA := newTestStore(t)
	for range 2 {
		if r := decodeInto(d, stA, body, opt); r.err != "" || r.st.Samples != 100 {
			t.Fatalf("%+v", r)
		}
	}
	if len(d.cache) == 0 {
		t.Fatal("nothing cached")
	}
	n := stA.NumSeries()

	// Deleted series are recreated.
	stA.Free(nil, math.MaxInt64)
	if stA.NumSeries() != 0 {
		t.Fatalf("%d series left after Free", stA.NumSeries())
	}
	if r := decodeInto(d, stA, body, opt); r.err != "" || r.st.Samples != 100 || stA.NumSeries() != n {
		t.Fatalf("after Free: %+v, %d series, want %d", r, stA.NumSeries(), n)
	}

	// Another store gets its own series.
	stB := newTestStore(t)
	if r := decodeInto(d, stB, body, opt); r.err != "" || r.st.Samples != 100 || stB.NumSeries() != n {
		t.Fatalf("other store: %+v, %d series, want %d", r, stB.NumSeries(), n)
	}

	// Lines without a cluster tag go to the new default cluster.
	noCluster := []byte("m,hostname=h value=1 1\nm,hostname=h value=2 2\n")
	decodeInto(d, stB, noCluster, opt)
	opt.DefaultCluster = []byte("other")
	decodeInto(d, stB, noCluster, opt)
	clusters := map[string]bool{}
	for _, l := range stB.Root().Children() {
		clusters[l.Name()] = true
	}
	if !clusters["dflt"] || !clusters["other"] {
		t.Errorf("clusters %v, want dflt and other", clusters)
	}
}

// The cache is bounded.
func TestSeriesCacheBounded(t *testing.T) {
	d := NewDecoder()
	st := newTestStore(t)
	d.cache = make(map[string]*core.Series)
	decodeInto(d, st, []byte("m value=1 1\n"), Options{Now: now})
	s := d.cache["m"]
	for i := len(d.cache); i < seriesCacheMax; i++ {
		d.cache["x"+strconv.Itoa(i)] = s
	}
	decodeInto(d, st, []byte("m value=1 1\nn value=1 1\n"), Options{Now: now})
	if len(d.cache) > 2 {
		t.Errorf("cache not dropped when full: %d entries", len(d.cache))
	}
}

// Simple decimals are converted exactly as strconv does.
func TestSimpleFloat(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "1.", ".5", "-.5", "123.25", "1.2e9", "1.5E+3", "2e-5",
		"9007199254740991", "9007199254740993", "0.1", "3.14159265358979", "1e22", "1e23", "12345678901234567e-22",
		"00000000000000000001", "1.2.3", "1e", "1e+", "-", ".", "1_0", "4503599627370497.5"} {
		got, ok := simpleFloat([]byte(s))
		w, werr := strconv.ParseFloat(s, 64)
		if ok && (werr != nil || math.Float64bits(got) != math.Float64bits(w)) {
			t.Errorf("simpleFloat(%q) = %v, strconv: %v %v", s, got, w, werr)
		}
	}
}
