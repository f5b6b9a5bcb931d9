package resample

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"testing"
)

// fixture rebuilds the series written by the golden case
// "write: h3 1200 points (LTTB fixture)": 1200 points, value=(i*37)%101.
func fixture() []float64 {
	d := make([]float64, 1200)
	for i := range d {
		d[i] = float64((i * 37) % 101)
	}
	return d
}

type goldenFile struct {
	Cases []struct {
		Name             string   `json:"name"`
		Resolution       int64    `json:"resolution"`
		ResultResolution int64    `json:"result_resolution"`
		Data             []string `json:"data"`
	} `json:"cases"`
}

func TestGoldenH3(t *testing.T) {
	raw, err := os.ReadFile("testdata/h3_lttb_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != 5 {
		t.Fatalf("want 5 golden cases, got %d", len(g.Cases))
	}
	data := fixture()
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, dst := range [][]float64{nil, make([]float64, 3, 2000)} {
				out, freq, err := LTTB(dst, data, 10, c.Resolution)
				if err != nil {
					t.Fatal(err)
				}
				if freq != c.ResultResolution {
					t.Errorf("freq = %d, want %d", freq, c.ResultResolution)
				}
				if len(out) != len(c.Data) {
					t.Fatalf("len = %d, want %d", len(out), len(c.Data))
				}
				for i, v := range out {
					if got := strconv.FormatFloat(v, 'f', 3, 64); got != c.Data[i] {
						t.Fatalf("data[%d] = %s, want %s", i, got, c.Data[i])
					}
				}
			}
		})
	}
}

// refLTTB is a deliberately naive transcription of the reference's rules
// (see package doc), used to cross-check the optimised loop on random input.
func refLTTB(data []float64, oldF, newF int64) ([]float64, int64, error) {
	if oldF == 0 || newF == 0 || newF <= oldF {
		return data, oldF, nil
	}
	if newF%oldF != 0 {
		return nil, 0, &NotMultipleError{newF, oldF}
	}
	step := int(newF / oldF)
	nl := len(data) / step
	if nl == 0 || len(data) < MinimumRequiredPoints || nl >= len(data) {
		return data, oldF, nil
	}
	res := []float64{data[0]}
	bs := float64(len(data)-2) / float64(nl-2)
	lo, mid, prev := 1, int(math.Floor(bs))+1, 0
	for i := 0; i < nl-2; i++ {
		hi := int(math.Floor(float64(i+2)*bs)) + 1
		if hi >= len(data)-1 {
			hi = len(data) - 2
		}
		var ax, ay float64
		nan := false
		for j := mid; j <= hi; j++ {
			ax += float64(j)
			ay += data[j]
			nan = nan || math.IsNaN(data[j])
		}
		ax /= float64(hi + 1 - mid)
		ay /= float64(hi + 1 - mid)
		if nan {
			ay = math.NaN()
		}
		best, pick := -1.0, 0
		px, py := float64(prev), data[prev]
		for c := lo; c < mid; c++ {
			a := math.Abs(float64(float64((px-float64(c))*(ay-py))-float64((px-ax)*(data[c]-py))) * 0.5)
			if a > best || math.IsNaN(a) {
				best, pick = a, c
			}
		}
		res = append(res, data[pick])
		prev = pick
		lo, mid = mid, hi
	}
	res = append(res, data[len(data)-1])
	return res, newF, nil
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func TestNoOp(t *testing.T) {
	data := fixture()
	dst := make([]float64, 0, 10)
	for _, tc := range []struct{ old, new int64 }{
		{10, 0}, {10, 10}, {10, 5}, {0, 60}, {-10, 20}, {10, 13000}, {10, 20000},
	} {
		out, f, err := LTTB(dst, data, tc.old, tc.new)
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if f != tc.old || len(out) != len(data) || &out[0] != &data[0] {
			t.Errorf("%v: expected data itself and old freq, got len %d freq %d", tc, len(out), f)
		}
	}
	// fewer than MinimumRequiredPoints
	short := data[:MinimumRequiredPoints-1]
	out, f, err := LTTB(nil, short, 10, 20)
	if err != nil || f != 10 || len(out) != len(short) {
		t.Errorf("short series: len %d freq %d err %v", len(out), f, err)
	}
	// exactly MinimumRequiredPoints is resampled
	out, f, err = LTTB(nil, data[:MinimumRequiredPoints], 10, 20)
	if err != nil || f != 20 || len(out) != 500 {
		t.Errorf("1000 points: len %d freq %d err %v", len(out), f, err)
	}
}

func TestNotMultiple(t *testing.T) {
	for _, n := range []int{0, 5, 1200} {
		_, f, err := LTTB(nil, fixture()[:n], 10, 15)
		if err == nil {
			t.Fatal("expected error")
		}
		if f != 0 {
			t.Errorf("freq = %d, want 0", f)
		}
		if got, want := err.Error(), "new sampling frequency (15) must be a multiple of old frequency (10)"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
		if !errors.Is(err, ErrNotMultiple) {
			t.Error("errors.Is(err, ErrNotMultiple) = false")
		}
		var nm *NotMultipleError
		if !errors.As(err, &nm) || nm.NewFreq != 15 || nm.OldFreq != 10 {
			t.Errorf("errors.As: %+v", nm)
		}
	}
	// Smaller new frequency: no-op, no error (checked before the modulo).
	if _, _, err := LTTB(nil, fixture(), 10, 7); err != nil {
		t.Error(err)
	}
}

func TestTinyLengths(t *testing.T) {
	data := fixture()
	data[0], data[1199] = 11, 22
	// step 1000 → newLen 1: reference still emits first and last point.
	out, f, err := LTTB(nil, data, 10, 10000)
	if err != nil || f != 10000 || !sameBits(out, []float64{11, 22}) {
		t.Errorf("newLen 1: %v %d %v", out, f, err)
	}
	// step 600 → newLen 2.
	out, f, err = LTTB(nil, data, 10, 6000)
	if err != nil || f != 6000 || !sameBits(out, []float64{11, 22}) {
		t.Errorf("newLen 2: %v %d %v", out, f, err)
	}
	// step 400 → newLen 3: the single bucket spans 1..1198 and the next-bucket
	// window is empty (0/0 centroid), so every area is NaN and the last inner
	// point is chosen.
	out, _, err = LTTB(nil, data, 10, 4000)
	if err != nil || !sameBits(out, []float64{11, data[1198], 22}) {
		t.Errorf("newLen 3: %v %v", out, err)
	}
	// newLen >= 4: index len-2 is never a candidate, even as a huge spike.
	spiky := fixture()
	spiky[1198] = 1e9
	for _, res := range []int64{20, 60, 600, 3000} {
		out, _, _ := LTTB(nil, spiky, 10, res)
		for i, v := range out {
			if v == 1e9 {
				t.Errorf("res %d: point len-2 selected at %d", res, i)
			}
		}
	}
	if n, ok, _ := OutLen(1200, 10, 10000); n != 2 || !ok {
		t.Errorf("OutLen newLen 1 = %d %v", n, ok)
	}
	if n, ok, _ := OutLen(1200, 10, 20); n != 600 || !ok {
		t.Errorf("OutLen = %d %v", n, ok)
	}
	if n, ok, _ := OutLen(999, 10, 20); n != 999 || ok {
		t.Errorf("OutLen short = %d %v", n, ok)
	}
}

func TestNaN(t *testing.T) {
	nan := math.NaN()
	base := func() []float64 {
		d := make([]float64, 1000)
		for i := range d {
			d[i] = float64((i * 37) % 101)
		}
		return d
	}
	// step 10 → newLen 100, bucketSize 998/98 ≈ 10.18. Bucket 0 holds
	// indices 1..10 and its centroid window is 11..21; bucket 1 holds 11..20.

	// NaN inside a bucket: its area is NaN, so it is selected.
	d := base()
	d[5] = nan
	out, _, _ := LTTB(nil, d, 10, 100)
	if !math.IsNaN(out[1]) {
		t.Errorf("NaN candidate not selected: %v", out[1])
	}
	// ... and the following bucket then picks its last point (20), because
	// the previous point is NaN.
	if out[2] != d[20] {
		t.Errorf("after NaN: got %v want last of bucket %v", out[2], d[20])
	}

	// Two NaNs in one bucket: the later one wins; a finite point after it does
	// not replace it. Use distinct NaN payloads to tell them apart.
	d = base()
	n1 := math.Float64frombits(0x7ff8000000000001)
	n2 := math.Float64frombits(0x7ff8000000000002)
	d[3], d[7] = n1, n2
	out, _, _ = LTTB(nil, d, 10, 100)
	if math.Float64bits(out[1]) != math.Float64bits(n2) {
		t.Errorf("want the last NaN of the bucket, got %x", math.Float64bits(out[1]))
	}

	// NaN in the next bucket's window: every area in the current bucket is
	// NaN → last point of the current bucket (10), even though it is finite.
	d = base()
	d[15] = nan
	out, _, _ = LTTB(nil, d, 10, 100)
	if out[1] != d[10] {
		t.Errorf("NaN in next bucket: got %v want %v", out[1], d[10])
	}

	// First and last are kept even when NaN.
	d = base()
	d[0], d[999] = nan, nan
	out, _, _ = LTTB(nil, d, 10, 100)
	if !math.IsNaN(out[0]) || !math.IsNaN(out[len(out)-1]) {
		t.Error("NaN endpoints not kept")
	}
	// NaN first point makes bucket 0 pick its last point.
	if out[1] != d[10] {
		t.Errorf("NaN first point: got %v want %v", out[1], d[10])
	}

	// Everything matches the naive transcription.
	for _, d := range [][]float64{d, base()} {
		want, _, _ := refLTTB(d, 10, 100)
		got, _, _ := LTTB(nil, d, 10, 100)
		if !sameBits(got, want) {
			t.Error("mismatch with naive transcription")
		}
	}
}

// xorshift keeps the test deterministic without math/rand seeding concerns.
type xorshift uint64

func (x *xorshift) next() uint64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return uint64(*x)
}

func TestRandomAgainstNaive(t *testing.T) {
	r := xorshift(0x9e3779b97f4a7c15)
	iters := 300
	if testing.Short() {
		iters = 50
	}
	for it := 0; it < iters; it++ {
		n := 1000 + int(r.next()%3000)
		d := make([]float64, n)
		mode := r.next() % 4
		for i := range d {
			switch mode {
			case 0:
				d[i] = float64(r.next()%1000) / 7
			case 1:
				d[i] = math.Float64frombits(r.next())
			default:
				d[i] = math.Sin(float64(i)/17)*100 + float64(r.next()%100)/100
				if r.next()%50 == 0 {
					d[i] = math.NaN()
				}
			}
		}
		oldF := int64(1 + r.next()%60)
		newF := oldF * int64(1+r.next()%40)
		if r.next()%10 == 0 {
			newF += 1 + int64(r.next()%uint64(oldF))
		}
		want, wf, werr := refLTTB(d, oldF, newF)
		dst := make([]float64, r.next()%5, r.next()%3000+5)
		got, gf, gerr := LTTB(dst, d, oldF, newF)
		if (werr == nil) != (gerr == nil) || wf != gf {
			t.Fatalf("n=%d %d→%d: err %v/%v freq %d/%d", n, oldF, newF, gerr, werr, gf, wf)
		}
		if werr == nil && !sameBits(got, want) {
			t.Fatalf("n=%d %d→%d: output differs", n, oldF, newF)
		}
		// In place: dst starting at data's first element.
		cp := append([]float64(nil), d...)
		got, _, _ = LTTB(cp[:0], cp, oldF, newF)
		if werr == nil && !sameBits(got, want) {
			t.Fatalf("n=%d %d→%d: in-place output differs", n, oldF, newF)
		}
	}
}

func TestInPlace(t *testing.T) {
	d := fixture()
	want, _, _ := LTTB(nil, d, 10, 60)
	got, _, _ := LTTB(d[:0], d, 10, 60)
	if !sameBits(got, want) {
		t.Error("in-place result differs")
	}
}

func TestNoAlloc(t *testing.T) {
	d := fixture()
	dst := make([]float64, 0, 600)
	allocs := testing.AllocsPerRun(100, func() {
		_, _, _ = LTTB(dst, d, 10, 20)
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}

func BenchmarkLTTB(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		res  int64
	}{
		{"1200pts_x2", 1200, 20},
		{"1200pts_x60", 1200, 600},
		{"921600pts_x24", 921600, 240},
	} {
		d := make([]float64, bc.n)
		for i := range d {
			d[i] = float64((i * 37) % 101)
		}
		dst := make([]float64, 0, bc.n)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(8 * bc.n))
			for b.Loop() {
				dst, _, _ = LTTB(dst, d, 10, bc.res)
			}
		})
	}
}
