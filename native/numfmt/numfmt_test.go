package numfmt

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func want(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// check compares AppendFixed with strconv on the fast path (a buffer with
// spare capacity, after a prefix) and on the small-capacity path (nil).
func check(t *testing.T, v float64, prec int) {
	t.Helper()
	w := want(v, prec)
	buf := append(make([]byte, 0, 64), '[')
	if got := string(AppendFixed(buf, v, prec)); got != "["+w {
		t.Fatalf("AppendFixed(%v [%#016x], %d) = %q, want %q", v, math.Float64bits(v), prec, got[1:], w)
	}
	if got := string(AppendFixed(nil, v, prec)); got != w {
		t.Fatalf("AppendFixed(nil, %v [%#016x], %d) = %q, want %q", v, math.Float64bits(v), prec, got, w)
	}
}

var tricky = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 1.5, 2.5,
	1.0005, 2.675, 1.005, 1.015, 1.025, 1.045, 0.0005, -0.0005, 0.005, -0.005,
	0.0004999999999999999, 0.0005000000000000001, 0.00049999, -0.0001, -0.004,
	0.0625, 0.1875, 0.125, 0.375, -0.0625, 1.0625, 1234.0625, // exact halfway cases (3 and 2 decimals)
	1e15 + 0.5, 9007199254740.993, 9007199254740.992, 9007199254740.991,
	90071992547409.92, 900719925474099.2, 9007199254740992, 9007199254740993,
	4503599627370495.5, 4503599627370496, 4503599627370497,
	0x1p53 / 1000, math.Nextafter(0x1p53/1000, 0), math.Nextafter(0x1p53/1000, 1),
	0x1p53 / 100, math.Nextafter(0x1p53/100, 0), math.Nextafter(0x1p53/100, 1),
	1234.5678, 0.52, 1.2e9, 99.9995, 99.9994999, 999.9995, 9.9995, 0.9995, 0.99949999,
	123456789.0125, 123456789.0135, 4294967295.5, 4294967296.0005,
	99999999.9995, 100000000, 99999999.999, 999999999999.9995,
	5e-324, -5e-324, math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 1e-300, 1e-10,
	1e16, 1e17, 1e20, 1e22, 1e23, 1e300, math.MaxFloat64, -math.MaxFloat64,
	math.NaN(), math.Inf(1), math.Inf(-1),
	0.1, 0.2, 0.3, 0.7, 1.1, 100.1, 1e-3, 1e-2, 0.001, 0.0015, 0.0025, 0.0035, 0.045,
}

func TestTricky(t *testing.T) {
	for _, v := range tricky {
		for _, p := range []int{0, 1, 2, 3, 4, 5, 6, 9, 10, 17, -1} {
			check(t, v, p)
			check(t, -v, p)
			check(t, math.Nextafter(v, math.Inf(1)), p)
			check(t, math.Nextafter(v, math.Inf(-1)), p)
		}
	}
}

func TestExamples(t *testing.T) {
	for _, c := range []struct {
		v    float64
		p    int
		want string
	}{
		{math.Copysign(0, -1), 3, "-0.000"},
		{-0.0001, 3, "-0.000"},
		{1e-5, 3, "0.000"},
		{1e9, 3, "1000000000.000"},
		{2.17, 2, "2.17"},
		{0.0625, 3, "0.062"}, // exact tie, rounds to even
		{math.NaN(), 3, "null"},
		{math.Inf(1), 2, "null"},
		{math.Inf(-1), 3, "null"},
	} {
		if got := string(AppendFixed(make([]byte, 0, 32), c.v, c.p)); got != c.want {
			t.Errorf("AppendFixed(%v, %d) = %q, want %q", c.v, c.p, got, c.want)
		}
	}
	// Appends to what is there, with little spare capacity (strconv path)
	// and with plenty (in-place path).
	if got := string(AppendFixed([]byte("[1.000,"), 2.5, 3)); got != "[1.000,2.500" {
		t.Errorf("append: %q", got)
	}
	big := append(make([]byte, 0, 100), "[1.000,"...)
	if got := string(AppendFixed(big, -2.5, 3)); got != "[1.000,-2.500" {
		t.Errorf("append in place: %q", got)
	}
}

// nearHalf returns (k+0.5)/10^prec moved by d ulps.
func nearHalf(k uint64, prec int, d int) float64 {
	v := (float64(k) + 0.5) / math.Pow10(prec)
	for ; d > 0; d-- {
		v = math.Nextafter(v, math.Inf(1))
	}
	for ; d < 0; d++ {
		v = math.Nextafter(v, math.Inf(-1))
	}
	return v
}

func TestRandomized(t *testing.T) {
	n := 3_000_000
	if testing.Short() {
		n = 300_000
	}
	r := rand.New(rand.NewPCG(0x5eed, 42))
	precs := []int{2, 3, 0, 1, 4, 6, 9}
	buf := make([]byte, 0, 64)
	for i := range n {
		var v float64
		switch i % 6 {
		case 0: // random bits: every exponent, NaN, Inf, subnormals
			v = math.Float64frombits(r.Uint64())
		case 1: // random decimals with 1..6 fractional digits
			d := 1 + r.IntN(6)
			v = float64(r.Int64N(1e12)) / math.Pow10(d)
		case 2: // near-halfway at the target precision, ± a few ulps
			p := 2 + r.IntN(2)
			k := r.Uint64N(uint64(limit[p]))
			if r.IntN(2) == 0 {
				k %= 1 << (1 + r.IntN(40))
			}
			v = nearHalf(k, p, r.IntN(9)-4)
		case 3: // typical metric magnitudes
			v = r.Float64() * math.Pow10(r.IntN(13)-3)
		case 4: // exactly halfway binary values (odd multiples of 2^-e)
			v = float64(2*r.Uint64N(1<<30)+1) / float64(uint64(1)<<(1+r.IntN(12)))
		default: // around the fast-path limit
			p := 2 + r.IntN(2)
			v = limit[p] * (0.5 + r.Float64())
		}
		if r.IntN(2) == 0 {
			v = -v
		}
		p := precs[i%len(precs)]
		if i%3 != 0 {
			p = 2 + i%2
		}
		buf = AppendFixed(buf[:0], v, p)
		if w := want(v, p); string(buf) != w {
			t.Fatalf("AppendFixed(%v [%#016x], %d) = %q, want %q", v, math.Float64bits(v), p, buf, w)
		}
	}
}

// TestAllTiesSmall checks every k/10^p ± ulps and (k+0.5)/10^p ± ulps for
// small k exhaustively.
func TestAllTiesSmall(t *testing.T) {
	for _, p := range []int{2, 3} {
		for k := uint64(0); k < 200_000; k++ {
			for d := -3; d <= 3; d++ {
				check(t, nearHalf(k, p, d), p)
				check(t, -nearHalf(k, p, d), p)
			}
		}
	}
}

// TestScratch checks that the in-place path writes only within the 32
// bytes after len(dst) and never before it.
func TestScratch(t *testing.T) {
	for _, v := range []float64{0, -1, 1234.5678, -4.5e12, 2.25e12 - 0.001, 0.001, 1e15, 12345678.9} {
		for p := 0; p <= maxFastPrec; p++ {
			mem := make([]byte, 80)
			for i := range mem {
				mem[i] = 0xAA
			}
			got := AppendFixed(mem[:5:80], v, p)
			if w := want(v, p); string(got[5:]) != w {
				t.Fatalf("%v/%d: %q want %q", v, p, got[5:], w)
			}
			for i, c := range mem {
				if (i < 5 || i >= 5+32) && c != 0xAA {
					t.Fatalf("%v/%d: byte %d written", v, p, i)
				}
			}
		}
	}
}

func TestNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 64)
	for _, v := range []float64{1234.5678, 0.0625, 1e30, math.NaN()} {
		if a := testing.AllocsPerRun(100, func() { buf = AppendFixed(buf[:0], v, 3) }); a != 0 {
			t.Errorf("%v: %v allocs", v, a)
		}
	}
	// Exactly enough room for the result: no allocation either.
	tight := make([]byte, 0, len("-1234.568"))
	if a := testing.AllocsPerRun(100, func() { tight = AppendFixed(tight[:0], -1234.5678, 3) }); a != 0 {
		t.Errorf("tight buffer: %v allocs", a)
	}
	if string(tight) != "-1234.568" {
		t.Errorf("tight buffer: %q", tight)
	}
}

func FuzzAppendFixed(f *testing.F) {
	for _, v := range tricky {
		f.Add(math.Float64bits(v), uint8(3))
		f.Add(math.Float64bits(v), uint8(2))
	}
	f.Fuzz(func(t *testing.T, bits uint64, prec uint8) {
		v := math.Float64frombits(bits)
		p := int(prec % 12)
		check(t, v, p)
		// Same value scaled into the fast-path range.
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			fr, _ := math.Frexp(v)
			check(t, math.Ldexp(fr, int(bits>>58)), p) // |v| < 2^63, mostly < 2^43
		}
	})
}

var benchValues = []struct {
	name string
	v    float64
}{
	{"1234.5678", 1234.5678},
	{"0.52", 0.52},
	{"1.2e9", 1.2e9},
	{"0", 0},
	{"tie_0.0625", 0.0625},
}

func BenchmarkAppendFixed(b *testing.B) {
	buf := make([]byte, 0, 64)
	for _, bv := range benchValues {
		for _, p := range []int{3, 2} {
			b.Run(bv.name+"/prec"+strconv.Itoa(p)+"/numfmt", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					buf = AppendFixed(buf[:0], bv.v, p)
				}
			})
			b.Run(bv.name+"/prec"+strconv.Itoa(p)+"/strconv", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					buf = strconv.AppendFloat(buf[:0], bv.v, 'f', p, 64)
				}
			})
		}
	}
}

// BenchmarkSeries encodes a realistic series (values in 0..1e4 with 1..6
// significant decimals and some NaN), per value.
func BenchmarkSeries(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		switch i % 4 {
		case 0:
			vals[i] = r.Float64() * 100
		case 1:
			vals[i] = float64(r.IntN(1e6)) / 100
		case 2:
			vals[i] = r.Float64() * 3e9
		default:
			vals[i] = float64(r.IntN(64))
		}
		if i%97 == 0 {
			vals[i] = math.NaN()
		}
	}
	buf := make([]byte, 0, 32*len(vals))
	b.Run("numfmt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, v := range vals {
				buf = AppendFixed(buf, v, 3)
				buf = append(buf, ',')
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
	})
	b.Run("strconv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, v := range vals {
				if v != v {
					buf = append(buf, "null"...)
				} else {
					buf = strconv.AppendFloat(buf, v, 'f', 3, 64)
				}
				buf = append(buf, ',')
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
	})
}

func TestDigits8(t *testing.T) {
	step := uint32(1)
	if testing.Short() {
		step = 97
	}
	var want [8]byte
	for u := uint32(0); u < 1e8; u += step {
		w := digits8(u)
		x := u
		for i := 7; i >= 0; i-- {
			want[i] = byte(x % 10)
			x /= 10
		}
		for i := range 8 {
			if byte(w>>(8*i)) != want[i] {
				t.Fatalf("digits8(%d) = %#016x", u, w)
			}
		}
	}
}
