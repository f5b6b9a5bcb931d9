package core

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

const B = 1_700_000_000

func sel(names ...any) []SelectorElem {
	var out []SelectorElem
	for _, n := range names {
		switch x := n.(type) {
		case string:
			out = append(out, SelectorElem{Name: x})
		case []string:
			out = append(out, SelectorElem{Group: x, IsGroup: true})
		}
	}
	return out
}

func fmtData(d []float64) string {
	s := "["
	for i, v := range d {
		if i > 0 {
			s += ","
		}
		if math.IsNaN(v) {
			s += "null"
		} else {
			s += fmt.Sprint(v)
		}
	}
	return s + "]"
}

// TestReadWindows is reference section 1.2.6's table (f = 60 s, samples at
// B, B+60, B+120), plus the same data written off-grid and at ms precision,
// which must answer identically.
func TestReadWindows(t *testing.T) {
	shapes := map[string][]Sample{
		"aligned":   {{B * 1000, 1}, {(B + 60) * 1000, 2}, {(B + 120) * 1000, 3.5}},
		"jittered":  {{B * 1000, 1}, {(B+60)*1000 + 29_000, 2}, {(B+120)*1000 - 30_000, 3.5}},
		"ms":        {{B * 1000, 1}, {(B+60)*1000 + 123, 2}, {(B+120)*1000 + 999, 3.5}},
		"reordered": {{(B + 120) * 1000, 3.5}, {B * 1000, 1}, {(B + 60) * 1000, 2}},
	}
	cases := []struct {
		from, to         int64
		data             string
		wantFrom, wantTo int64
	}{
		{B, B + 180, "[1,2,3.5]", B, B + 180},
		{B + 30, B + 90, "[2]", B + 30, B + 90},
		{B - 100, B + 1000, "[1,2,3.5]", B, B + 180},
		{B, B, "[]", B, B},
		{B + 5000, B + 6000, "[]", B + 5000, B + 5000},
		{B - 5000, B - 4000, "[]", B, B},
		{B + 60, B + 61, "[2]", B + 60, B + 120},
	}
	for name, samples := range shapes {
		st := newTestStore(t, MetricConfig{Name: "m", Frequency: 60})
		// The first sample written fixes the slot grid; write B first.
		first := slices.IndexFunc(samples, func(s Sample) bool { return s.T == B*1000 })
		mustAppend(t, st, key("c", "h", "m"), samples[first])
		mustAppend(t, st, key("c", "h", "m"), slices.Delete(slices.Clone(samples), first, first+1)...)
		var rd Reader
		for _, c := range cases {
			res, err := st.ReadNative(&rd, &NativeQuery{Selector: sel("c", "h"), Metric: "m", From: c.from, To: c.to}, nil)
			if err != nil {
				t.Fatalf("%s %d..%d: %v", name, c.from-B, c.to-B, err)
			}
			if got := fmtData(res.Data); got != c.data || res.From != c.wantFrom || res.To != c.wantTo || res.Frequency != 60 {
				t.Errorf("%s B%+d..B%+d: got %s %d..%d, want %s %d..%d", name, c.from-B, c.to-B,
					got, res.From-B, res.To-B, c.data, c.wantFrom-B, c.wantTo-B)
			}
		}
	}
}

func TestReadErrors(t *testing.T) {
	st := newTestStore(t, MetricConfig{Name: "m", Frequency: 60}, MetricConfig{Name: "n", Frequency: 60, Aggregation: AggNone})
	mustAppend(t, st, key("c", "h", "n", "core0"), Sample{B * 1000, 1})
	mustAppend(t, st, key("c", "h", "n", "core1"), Sample{B * 1000, 1})
	var rd Reader
	for _, c := range []struct {
		q    NativeQuery
		want error
	}{
		{NativeQuery{Selector: sel("c", "h"), Metric: "nosuch", From: B, To: B + 60}, ErrUnknownMetric},
		{NativeQuery{Selector: sel("c", "h"), Metric: "m", From: B + 60, To: B}, ErrInvalidTimeRange},
		{NativeQuery{Selector: sel("c", "zz"), Metric: "m", From: B, To: B + 60}, ErrNotFound},
		{NativeQuery{Selector: sel("c", "h"), Metric: "n", From: B, To: B + 60}, ErrInvalidAggregation},
		{NativeQuery{Selector: sel("c", "h", []string{}), Metric: "n", From: B, To: B + 60}, ErrNotFound},
		{NativeQuery{Selector: sel("c", "h", "core1"), Metric: "n", From: B, To: B + 60}, nil},
	} {
		_, err := st.ReadNative(&rd, &c.q, nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%+v: got %v, want %v", c.q, err, c.want)
		}
	}
}

// TestAggregation covers sum and avg over children, own series winning over
// children, group order, and ragged children padded with NaN.
func TestAggregation(t *testing.T) {
	st := newTestStore(t,
		MetricConfig{Name: "flops", Frequency: 10, Aggregation: AggSum},
		MetricConfig{Name: "util", Frequency: 10, Aggregation: AggAvg})
	for c := 0; c < 4; c++ {
		for i := 0; i < 6; i++ {
			ts := int64(B+10*i) * 1000
			mustAppend(t, st, key("c", "h", "flops", fmt.Sprint("hwthread", c)), Sample{ts, float64(10*c + i)})
			mustAppend(t, st, key("c", "h", "util", fmt.Sprint("hwthread", c)), Sample{ts, float64(c)})
		}
	}
	// a lagging child: one sample less
	for i := 0; i < 5; i++ {
		mustAppend(t, st, key("c", "r", "flops", fmt.Sprint("core", i%2)), Sample{int64(B+10*(i/2)) * 1000, 1})
	}
	var rd Reader
	for _, c := range []struct {
		sel  []SelectorElem
		m    string
		want string
	}{
		{sel("c", "h"), "flops", "[60,64,68,72,76,80]"},
		{sel("c", "h", []string{"hwthread0", "hwthread1"}), "flops", "[10,12,14,16,18,20]"},
		{sel("c", "h", []string{"hwthread1", "nosuch"}), "flops", "[10,11,12,13,14,15]"},
		{sel("c", "h"), "util", "[1.5,1.5,1.5,1.5,1.5,1.5]"},
		{sel("c", "r"), "flops", "[2,2,null]"},
	} {
		res, err := st.ReadNative(&rd, &NativeQuery{Selector: c.sel, Metric: c.m, From: B, To: B + 60}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmtData(res.Data); got != c.want {
			t.Errorf("%v %s: got %s, want %s", c.sel, c.m, got, c.want)
		}
	}
	// Own series wins over children.
	mustAppend(t, st, key("c", "h", "flops"), Sample{B * 1000, 999})
	res, _ := st.ReadNative(&rd, &NativeQuery{Selector: sel("c", "h"), Metric: "flops", From: B, To: B + 60}, nil)
	if got := fmtData(res.Data); got != "[999]" {
		t.Errorf("own series: got %s", got)
	}
}

// TestHostileWindows: absurd windows give a bounded answer or an error
// before anything large is allocated.
func TestHostileWindows(t *testing.T) {
	st := newTestStore(t, MetricConfig{Name: "m", Frequency: 1})
	mustAppend(t, st, key("c", "h", "m"), Sample{B * 1000, 1}, Sample{(B + 1) * 1000, 2})
	var rd Reader
	for _, c := range []struct{ from, to int64 }{
		{B, math.MaxInt64}, {0, B + 2}, {math.MinInt64, math.MaxInt64}, {B - 1e12, B + 1e12}, {math.MaxInt64 - 5, math.MaxInt64},
	} {
		res, err := st.ReadNative(&rd, &NativeQuery{Selector: sel("c", "h"), Metric: "m", From: c.from, To: c.to, MaxPoints: 1000}, nil)
		if err != nil {
			t.Fatalf("%d..%d: %v", c.from, c.to, err)
		}
		if len(res.Data) > 2 {
			t.Errorf("%d..%d: %d points", c.from, c.to, len(res.Data))
		}
	}
}
