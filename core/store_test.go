package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func newTestStore(t testing.TB, metrics ...MetricConfig) *Store {
	t.Helper()
	st, err := New(Options{Metrics: metrics, DefaultFrequency: 60})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func key(cluster, host, metric string, scope ...string) *Key {
	k := &Key{Cluster: []byte(cluster), Host: []byte(host), Metric: []byte(metric)}
	for _, s := range scope {
		k.Scope = append(k.Scope, []byte(s))
	}
	return k
}

func mustAppend(t testing.TB, st *Store, k *Key, samples ...Sample) {
	t.Helper()
	app := st.Appender()
	defer app.Commit()
	for _, s := range samples {
		if err := app.Append(k, s.T, s.V); err != nil {
			t.Fatal(err)
		}
	}
}

// allSamples returns every sample of the single series at k.
func allSamples(t testing.TB, st *Store, k *Key) []Sample {
	t.Helper()
	s := st.lookupSeries(k)
	if s == nil {
		t.Fatalf("no series for %s", k.Metric)
	}
	s.mu.RLock()
	ts, vs := s.appendRange(nil, nil, math.MinInt64, math.MaxInt64)
	s.mu.RUnlock()
	out := make([]Sample, len(ts))
	for i := range ts {
		out[i] = Sample{ts[i], vs[i]}
	}
	return out
}

func (st *Store) lookupSeries(k *Key) *Series {
	canon := appendCanonical(nil, k)
	for i := range st.cache {
		if s := st.cache[i].m[string(canon)]; s != nil {
			return s
		}
	}
	return nil
}

// TestExactStorage writes off-grid, out-of-order, duplicate and gapped
// samples (through head, seal, merge and late re-encode paths) and checks
// that exactly the expected samples come back, compared with a map model.
func TestExactStorage(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(r *rand.Rand, i int) (int64, float64)
	}{
		{"in-order jitter", func(r *rand.Rand, i int) (int64, float64) {
			return 1_700_000_000_000 + int64(i)*60_000 + r.Int64N(30_000) - 15_000, float64(i)
		}},
		{"ms precision gauge", func(r *rand.Rand, i int) (int64, float64) {
			return 1_700_000_000_000 + int64(i)*1_000 + r.Int64N(999), math.Round(r.Float64()*10000) / 100
		}},
		{"out of order and duplicates", func(r *rand.Rand, i int) (int64, float64) {
			return 1_700_000_000_000 + r.Int64N(5_000)*10_000, r.NormFloat64()
		}},
		{"gaps", func(r *rand.Rand, i int) (int64, float64) {
			gap := int64(0)
			if i%100 > 80 {
				gap = 3_600_000
			}
			return 1_700_000_000_000 + int64(i)*10_000 + gap*int64(i/100), float64(i * 3)
		}},
		{"late writes into sealed chunks", func(r *rand.Rand, i int) (int64, float64) {
			if i%7 == 0 && i > 1000 {
				return 1_700_000_000_000 + r.Int64N(int64(i))*1_000, -1
			}
			return 1_700_000_000_000 + int64(i)*1_000, float64(i)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newTestStore(t)
			k := key("c", "h", "m")
			r := rand.New(rand.NewPCG(1, 2))
			model := map[int64]float64{}
			app := st.Appender()
			for i := 0; i < 3000; i++ {
				ts, v := tc.gen(r, i)
				model[ts] = v
				if err := app.Append(k, ts, v); err != nil {
					t.Fatal(err)
				}
			}
			app.Commit()
			got := allSamples(t, st, k)
			if len(got) != len(model) {
				t.Fatalf("got %d samples, want %d", len(got), len(model))
			}
			for i, s := range got {
				if i > 0 && s.T <= got[i-1].T {
					t.Fatalf("samples not strictly increasing at %d", i)
				}
				if want, ok := model[s.T]; !ok || math.Float64bits(want) != math.Float64bits(s.V) {
					t.Fatalf("sample at %d: got %v, want %v (present %v)", s.T, s.V, want, ok)
				}
			}
		})
	}
}

func TestRangeReads(t *testing.T) {
	st := newTestStore(t)
	k := key("c", "h", "m")
	var in []Sample
	for i := 0; i < 1000; i++ {
		in = append(in, Sample{int64(i) * 1000, float64(i)})
	}
	mustAppend(t, st, k, in...)
	s := st.lookupSeries(k)
	for _, r := range [][2]int64{{0, 1}, {0, 1000_000}, {-5, 5}, {63_000, 64_001}, {511_500, 700_000}, {999_000, 2_000_000}, {5, 5}, {7, 3}} {
		ts, _ := s.appendRange(nil, nil, r[0], r[1])
		var want []int64
		for _, x := range in {
			if x.T >= r[0] && x.T < r[1] {
				want = append(want, x.T)
			}
		}
		if !slices.Equal(ts, want) {
			t.Errorf("range %v: got %d samples, want %d", r, len(ts), len(want))
		}
	}
}

func TestInvalidNames(t *testing.T) {
	st := newTestStore(t)
	for _, k := range []*Key{
		key("..", "h", "m"), key("c", "a/b", "m"), key("c", `a\b`, "m"), key("c", "h\x00", "m"),
		key("c", string(make([]byte, 256)), "m"), key("c", "h", "m", ""), key("c", "h", "m", "x/../y"),
	} {
		app := st.Appender()
		err := app.Append(k, 1, 1)
		app.Commit()
		if err == nil {
			t.Errorf("%q/%q/%q: accepted", k.Cluster, k.Host, k.Scope)
		}
	}
}

func TestStrictMetrics(t *testing.T) {
	st, err := New(Options{Metrics: []MetricConfig{{Name: "known", Frequency: 10}}, DefaultFrequency: 60, StrictMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	app := st.Appender()
	defer app.Commit()
	if err := app.Append(key("c", "h", "other"), 1, 1); err != ErrUnknownMetric {
		t.Fatalf("got %v, want ErrUnknownMetric", err)
	}
	if err := app.Append(key("c", "h", "known"), 1, 1); err != nil {
		t.Fatal(err)
	}
}

func TestAutoRegister(t *testing.T) {
	st := newTestStore(t)
	mustAppend(t, st, key("c", "h", "new_metric"), Sample{1000, 1})
	m := st.Metric("new_metric")
	if m == nil || m.Frequency != 60 || m.Configured {
		t.Fatalf("auto-registered metric: %+v", m)
	}
}

func TestFreePrunes(t *testing.T) {
	st := newTestStore(t, MetricConfig{Name: "m", Frequency: 1})
	for h := 0; h < 3; h++ {
		var in []Sample
		for i := 0; i < 200; i++ {
			in = append(in, Sample{int64(i) * 1000, 1})
		}
		mustAppend(t, st, key("c", fmt.Sprint("h", h), "m", "hwthread0"), in...)
	}
	if n := st.Free([]string{"c", "h0"}, 1_000_000); n == 0 {
		t.Fatal("nothing freed")
	}
	names := []string{}
	for _, l := range st.Root().Children()[0].Children() {
		names = append(names, l.Name())
	}
	if !slices.Equal(names, []string{"h1", "h2"}) {
		t.Fatalf("hosts after free: %v", names)
	}
	// A write after the free recreates the series.
	mustAppend(t, st, key("c", "h0", "m", "hwthread0"), Sample{5_000_000, 2})
	if got := allSamples(t, st, key("c", "h0", "m", "hwthread0")); len(got) != 1 {
		t.Fatalf("after rewrite: %v", got)
	}
	// Freeing everything keeps newer data.
	st.Free(nil, 150_000)
	if got := allSamples(t, st, key("c", "h1", "m", "hwthread0")); len(got) == 0 || got[len(got)-1].T != 199_000 {
		t.Fatalf("h1 after partial free: %d samples", len(got))
	}
}

func TestNaturalOrder(t *testing.T) {
	names := []string{"hwthread10", "hwthread2", "hwthread1", "socket0", "hwthread02", "a", "accelerator00000000:3B:00.0"}
	slices.SortFunc(names, naturalCompare)
	want := []string{"a", "accelerator00000000:3B:00.0", "hwthread1", "hwthread2", "hwthread02", "hwthread10", "socket0"}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}
}

// TestConcurrentWritersReaders runs writers, readers and frees at once; the
// race detector in `make test` checks the locking.
func TestConcurrentWritersReaders(t *testing.T) {
	st := newTestStore(t, MetricConfig{Name: "m", Frequency: 1, Aggregation: AggSum})
	var wg sync.WaitGroup
	const writers, perWriter = 4, 3000
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app := st.Appender()
			defer app.Commit()
			for i := 0; i < perWriter; i++ {
				k := key("c", fmt.Sprint("h", i%5), "m", fmt.Sprint("hwthread", w))
				if err := app.Append(k, int64(i)*1000, float64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 3; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var rd Reader
			for {
				select {
				case <-stop:
					return
				default:
				}
				q := NativeQuery{Selector: []SelectorElem{{Name: "c"}, {Name: "h1"}}, Metric: "m", From: 0, To: 10_000}
				if _, err := st.ReadNative(&rd, &q, nil); err != nil && err != ErrNotFound {
					t.Error(err)
					return
				}
				st.Health("c", "h2", []string{"m"}, 0)
				_ = st.Root().Children()
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	for h := 0; h < 5; h++ {
		for w := 0; w < writers; w++ {
			if got := len(allSamples(t, st, key("c", fmt.Sprint("h", h), "m", fmt.Sprint("hwthread", w)))); got != perWriter/5 {
				t.Fatalf("h%d/hwthread%d: %d samples, want %d", h, w, got, perWriter/5)
			}
		}
	}
}

// TestConcurrentFreeAndWrite checks that a series freed while a writer
// races to it never swallows acknowledged samples.
func TestConcurrentFreeAndWrite(t *testing.T) {
	st := newTestStore(t, MetricConfig{Name: "m", Frequency: 1})
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				st.Free([]string{"c"}, 1_000_000_000)
			}
		}
	}()
	// Each series gets an old sample (freed by the racing Free, which then
	// deletes the series and prunes its levels) and then a new one, which
	// must land in a live series.
	for i := 0; i < 2000; i++ {
		k := key("c", fmt.Sprint("h", i%3), "m", "core0")
		mustAppend(t, st, k, Sample{int64(i), 1})
		mustAppend(t, st, k, Sample{2_000_000_000 + int64(i)*1000, 1})
		st.Free([]string{"c"}, 1_000_000_000)
	}
	close(done)
	wg.Wait()
	total := 0
	for h := 0; h < 3; h++ {
		for _, s := range allSamples(t, st, key("c", fmt.Sprint("h", h), "m", "core0")) {
			if s.T >= 2_000_000_000 {
				total++
			}
		}
	}
	if total != 2000 {
		t.Fatalf("%d samples survived, want 2000", total)
	}
}

func TestAppendSeries(t *testing.T) {
	st := newTestStore(t, MetricConfig{Name: "m", Frequency: 1})
	k := key("c", "h", "m")
	app := st.Appender()
	if err := app.Append(k, 1000, 1); err != nil {
		t.Fatal(err)
	}
	s := app.LastSeries()
	if !app.AppendSeries(s, 2000, 2) {
		t.Fatal("live series refused")
	}
	app.Commit()
	st.Free(nil, 1<<60) // deletes the series
	app = st.Appender()
	defer app.Commit()
	if app.AppendSeries(s, 3000, 3) {
		t.Fatal("deleted series accepted")
	}
	if err := app.Append(k, 3000, 3); err != nil || app.LastSeries() == s {
		t.Fatalf("not recreated: %v", err)
	}
}
