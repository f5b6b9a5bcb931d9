package chunk

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

const (
	startMs  = int64(1_700_000_000_000) // a realistic Unix time in ms
	interval = int64(60_000)
	staleNaN = 0x7ff0000000000002 // Prometheus stale marker
)

// regular returns n timestamps at the 60 s interval.
func regular(n int) []int64 {
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = startMs + int64(i)*interval
	}
	return ts
}

// jittered returns n timestamps at 60 s ± 30 s.
func jittered(rng *rand.Rand, n int) []int64 {
	ts := make([]int64, n)
	t := startMs
	for i := range ts {
		ts[i] = t
		t += interval + rng.Int64N(60_001) - 30_000
	}
	return ts
}

// values generates n values of a named shape.
func values(rng *rand.Rand, shape string, n int) []float64 {
	vs := make([]float64, n)
	acc := 0.0
	for i := range vs {
		switch shape {
		case "constant":
			vs[i] = 42
		case "counter":
			acc += float64(rng.IntN(1001))
			vs[i] = acc
		case "gauge2dec":
			vs[i] = float64(rng.IntN(10_001)) / 100
		case "negative":
			vs[i] = float64(rng.IntN(100_001)-50_000) / 1000
		case "randomfloat":
			vs[i] = rng.Float64() * 1e9
		default:
			panic("unknown shape " + shape)
		}
	}
	return vs
}

func floats(bits ...uint64) []float64 {
	vs := make([]float64, len(bits))
	for i, b := range bits {
		vs[i] = math.Float64frombits(b)
	}
	return vs
}

// roundTrip encodes and decodes, failing t on any difference in bits. It
// decodes after a sentinel prefix to check the append contract too.
func roundTrip(t *testing.T, ts []int64, vs []float64) []byte {
	t.Helper()
	b := Encode([]byte{0xEE}, ts, vs)[1:] // appends after existing bytes
	if n, err := Len(b); err != nil || n != len(ts) {
		t.Fatalf("Len = %d, %v; want %d", n, err, len(ts))
	}
	gotT, gotV, err := Decode(b, []int64{-7}, []float64{-7})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(gotT) != len(ts)+1 || len(gotV) != len(vs)+1 || gotT[0] != -7 || gotV[0] != -7 {
		t.Fatalf("Decode did not append: got %d/%d samples, prefix %d/%v", len(gotT), len(gotV), gotT[0], gotV[0])
	}
	for i := range ts {
		if gotT[i+1] != ts[i] {
			t.Fatalf("ts[%d] = %d, want %d", i, gotT[i+1], ts[i])
		}
		if g, w := math.Float64bits(gotV[i+1]), math.Float64bits(vs[i]); g != w {
			t.Fatalf("vs[%d] = %v (%#x), want %v (%#x)", i, gotV[i+1], g, vs[i], w)
		}
	}
	return b
}

func modeOf(t *testing.T, b []byte) (byte, int) {
	t.Helper()
	h, err := parseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return h.mode, h.exp
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nan := math.NaN()
	inf := math.Inf(1)
	negZero := math.Copysign(0, -1)
	tenth := 0.1 // a variable, so that tenth+0.2 rounds at run time
	big := []int64{0, 1 << 61, 1<<61 + interval, 1 << 62, 1<<62 + 1<<61, 1<<62 + 1<<61 + 1}
	cases := []struct {
		name string
		ts   []int64
		vs   []float64
		mode int // expected value mode, -1 for "don't care"
		exp  int
	}{
		{"constant", regular(120), values(rng, "constant", 120), modeDecFOR, 0},
		{"zeros", regular(64), make([]float64, 64), modeDecFOR, 0},
		{"counter", regular(256), values(rng, "counter", 256), modeDecDelta, 0},
		{"gauge2dec", regular(256), values(rng, "gauge2dec", 256), -1, 2},
		{"negative3dec", regular(200), values(rng, "negative", 200), -1, 3},
		{"exponent9", regular(3), []float64{1.123456789, -0.000000001, 5}, -1, 9},
		{"smallest exponent", regular(2), []float64{1.5, 2.25}, -1, 2},
		{"not decimal", regular(3), []float64{tenth + 0.2, 1, 2}, modeXOR, 0}, // 0.30000000000000004
		{"2^53 bounds", regular(3), []float64{1 << 53, -(1 << 53), 0}, -1, 0},
		{"beyond 2^53", regular(2), []float64{1<<53 + 2, 0}, modeXOR, 0},
		{"randomfloat", regular(256), values(rng, "randomfloat", 256), modeXOR, 0},
		{"mixed magnitudes", regular(8), []float64{1e-300, 3.5, -7e300, 1e15, 5e-324, math.MaxFloat64, -1e-9, 12.34}, modeXOR, 0},
		{"specials", regular(9), []float64{nan, inf, -inf, 1.5, floats(staleNaN)[0], 0, negZero, math.Float64frombits(0xfff8000000000001), 7}, modeXOR, 0},
		{"stale only", regular(5), floats(staleNaN, staleNaN, staleNaN, staleNaN, staleNaN), modeXOR, 0},
		{"negative zero", regular(4), []float64{negZero, negZero, negZero, negZero}, modeXOR, 0},
		{"negative zero among decimals", regular(4), []float64{1.25, negZero, 3, 0}, modeXOR, 0},
		{"single sample", []int64{startMs}, []float64{12.34}, modeDecFOR, 2},
		{"single NaN", []int64{-5}, []float64{nan}, modeXOR, 0},
		{"max samples", regular(MaxSamples), values(rng, "counter", MaxSamples), modeDecDelta, 0},
		{"max samples random", regular(MaxSamples), values(rng, "randomfloat", MaxSamples), modeXOR, 0},
		{"irregular", []int64{1, 2, 1000, 1001, 9_000_000, 9_000_060}, values(rng, "gauge2dec", 6), -1, -1},
		{"jittered", jittered(rng, 512), values(rng, "gauge2dec", 512), -1, -1},
		{"huge gaps", []int64{0, 1 << 62, 1<<62 + 1, 1<<63 - 1}, values(rng, "counter", 4), -1, -1},
		{"gaps", big, values(rng, "counter", 6), -1, -1},
		{"extreme timestamps", []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, math.MaxInt64 - 1, math.MaxInt64}, values(rng, "negative", 6), -1, -1},
		{"full range gap", []int64{math.MinInt64, math.MaxInt64}, []float64{1, 2}, -1, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := roundTrip(t, c.ts, c.vs)
			mode, exp := modeOf(t, b)
			if c.mode >= 0 && int(mode) != c.mode {
				t.Errorf("mode = %d, want %d", mode, c.mode)
			}
			if c.exp >= 0 && exp != c.exp {
				t.Errorf("exponent = %d, want %d", exp, c.exp)
			}
		})
	}
}

// TestRoundTripRandom is a property test over random mixes of value kinds,
// lengths and timestamp spacings.
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), floats(staleNaN)[0]}
	for iter := range 2000 {
		n := 1 + rng.IntN(600)
		ts := make([]int64, n)
		vs := make([]float64, n)
		tk, vk := rng.IntN(4), rng.IntN(6)
		t0 := rng.Int64() >> rng.IntN(64)
		for i := range ts {
			switch tk {
			case 0:
				ts[i] = t0 + int64(i)*interval
			case 1:
				ts[i] = t0 + int64(i)*interval + rng.Int64N(interval/2)
			case 2:
				ts[i] = t0 + int64(i)*(1<<40) + rng.Int64N(1<<40)
			default:
				ts[i] = t0 + int64(i)
			}
			switch vk {
			case 0:
				vs[i] = float64(rng.Int64N(1e6)-5e5) / math.Pow10(rng.IntN(4))
			case 1:
				vs[i] = math.Float64frombits(rng.Uint64())
			case 2:
				vs[i] = float64(rng.Int64() >> rng.IntN(64))
			case 3:
				if rng.IntN(10) == 0 {
					vs[i] = specials[rng.IntN(len(specials))]
				} else {
					vs[i] = float64(rng.IntN(1000)) / 10
				}
			case 4:
				vs[i] = float64(i % 7)
			default:
				vs[i] = rng.NormFloat64() * math.Pow10(rng.IntN(40)-20)
			}
		}
		if ts[n-1] < ts[0] { // t0 near MaxInt64 wrapped; keep increasing
			continue
		}
		t.Logf("iteration %d: %d samples, kinds %d/%d", iter, n, tk, vk)
		roundTrip(t, ts, vs)
	}
}

// TestCompressionTargets pins the size goals over realistic chunk lengths.
func TestCompressionTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	limits := map[string]float64{"constant": 0.25, "counter": 1.5, "gauge2dec": 2.0, "negative": 2.4, "randomfloat": 8.5}
	for shape, limit := range limits {
		for _, n := range []int{64, 128, 256, 512} {
			b := Encode(nil, regular(n), values(rng, shape, n))
			if per := float64(len(b)) / float64(n); per > limit {
				t.Errorf("%s/%d: %.3f B/sample, want ≤ %.2f", shape, n, per, limit)
			} else {
				t.Logf("%s/%d: %.3f B/sample", shape, n, per)
			}
		}
	}
	// Regular timestamps must cost nothing per sample, jitter ±30 s at most
	// its 17-bit range.
	vs := values(rng, "constant", 256)
	base := len(Encode(nil, regular(256), vs))
	jit := len(Encode(nil, jittered(rng, 256), vs))
	if h, _ := parseHeader(Encode(nil, regular(256), vs)); h.tsW != 0 {
		t.Errorf("regular timestamps use %d bits per sample", h.tsW)
	}
	if per := float64(jit-base) / 256; per > 2.2 {
		t.Errorf("jitter costs %.2f B/sample", per)
	}
}

func TestEncodePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"empty":          func() { Encode(nil, nil, nil) },
		"length":         func() { Encode(nil, []int64{1, 2}, []float64{1}) },
		"too many":       func() { Encode(nil, regular(MaxSamples+1), make([]float64, MaxSamples+1)) },
		"not increasing": func() { Encode(nil, []int64{1, 1}, []float64{1, 2}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Encode did not panic", name)
				}
			}()
			f()
		}()
	}
}

// TestCorrupt checks that every truncation and single-bit flip of valid
// chunks either fails with ErrCorrupt or still decodes to increasing
// timestamps, and never panics.
func TestCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, shape := range []string{"constant", "counter", "gauge2dec", "randomfloat", "randomfloat/3"} {
		n := 40
		if shape == "randomfloat/3" { // an XOR section shorter than xorSlack
			shape, n = "randomfloat", 3
		}
		good := Encode(nil, jittered(rng, n), values(rng, shape, n))
		for cut := range len(good) {
			if _, _, err := Decode(good[:cut], nil, nil); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s cut at %d: err = %v", shape, cut, err)
			}
		}
		if _, _, err := Decode(append(good, 0), nil, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s with trailing byte: err = %v", shape, err)
		}
		for bit := range len(good) * 8 {
			b := append([]byte(nil), good...)
			b[bit/8] ^= 1 << (bit % 8)
			checkDecoded(t, b)
		}
	}
}

// checkDecoded decodes arbitrary bytes and checks the invariants that hold
// for any input.
func checkDecoded(t *testing.T, b []byte) {
	t.Helper()
	ts, vs, err := Decode(b, nil, nil)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) || len(ts) != 0 || len(vs) != 0 {
			t.Fatalf("Decode(%x) = %d, %d samples, %v", b, len(ts), len(vs), err)
		}
		return
	}
	n, lerr := Len(b)
	if lerr != nil || n != len(ts) || len(vs) != len(ts) || n < 1 || n > MaxSamples {
		t.Fatalf("Decode(%x): %d/%d samples, Len = %d, %v", b, len(ts), len(vs), n, lerr)
	}
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			t.Fatalf("Decode(%x): timestamps not increasing at %d", b, i)
		}
	}
}

func TestLenErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {2, 1}, {1}, {1, 0}, {1, 0x80}, {1, 0xff, 0xff, 0x04}} {
		if _, err := Len(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Len(%x) err = %v", b, err)
		}
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, shape := range []string{"counter", "gauge2dec", "randomfloat"} {
		ts, vs := regular(256), values(rng, shape, 256)
		b := Encode(nil, ts, vs)
		ts, vs = ts[:0], vs[:0]
		if a := testing.AllocsPerRun(100, func() {
			ts, vs, _ = Decode(b, ts[:0], vs[:0])
		}); a != 0 {
			t.Errorf("%s: Decode allocates %v times", shape, a)
		}
		dst := make([]byte, 0, 4096)
		if a := testing.AllocsPerRun(100, func() {
			dst = Encode(dst[:0], ts, vs)
		}); a != 0 {
			t.Errorf("%s: Encode allocates %v times", shape, a)
		}
	}
}

// TestDecodeBoundedAlloc feeds headers that declare far more samples than
// their data can hold. Decode must fail, and what it allocates must stay
// within the bound that Decode documents for the input length.
func TestDecodeBoundedAlloc(t *testing.T) {
	full := Encode(nil, regular(MaxSamples), values(rand.New(rand.NewPCG(1, 1)), "randomfloat", MaxSamples))
	forged := [][]byte{
		full[:len(full)/2],
		{1, 0xff, 0xff, 0x03, 0, 1, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0},          // xor, 9 bytes for 65535 values
		{1, 0xff, 0xff, 0x03, 0, 1, 0, 0x00, 0, 4},                               // decimal, no data
		{1, 0xff, 0xff, 0x03, 0, 1, 0xff, 0x00, 0, 0},                            // bad timestamp width
		{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0}, // huge count
	}
	for _, b := range forged {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 10
		for range runs {
			if _, _, err := Decode(b, nil, nil); err == nil {
				t.Fatalf("Decode(%x...) succeeded", b[:min(len(b), 16)])
			}
		}
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / runs
		if limit := uint64(16*8*len(b) + 512); perRun > limit {
			t.Errorf("Decode(%x...) of %d bytes allocates %d bytes, limit %d", b[:min(len(b), 16)], len(b), perRun, limit)
		}
	}
}

// TestBits round-trips random fields of every width through the writer and
// both field readers.
func TestBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for iter := range 200 {
		type fld struct {
			v uint64
			w uint
		}
		var fields []fld
		w := bitWriter{buf: []byte{0xAB}}
		for range rng.IntN(100) {
			width := uint(rng.IntN(65))
			v := rng.Uint64() & (1<<width - 1)
			fields = append(fields, fld{v, width})
			w.write(v, width)
		}
		sec := w.flush()[1:]
		if want := (w.total + 7) / 8; uint64(len(sec)) != want {
			t.Fatalf("iteration %d: %d bytes for %d bits", iter, len(sec), w.total)
		}
		off := uint64(0)
		for i, f := range fields {
			got := fieldSlow(sec, off, f.w)
			if f.w <= 56 && off>>3+8 <= uint64(len(sec)) {
				if l := load(sec, off, 1<<f.w-1); l != got {
					t.Fatalf("iteration %d field %d: load %#x, fieldSlow %#x", iter, i, l, got)
				}
			}
			if got != f.v {
				t.Fatalf("iteration %d field %d (w=%d): fieldSlow %#x, want %#x", iter, i, f.w, got, f.v)
			}
			off += uint64(f.w)
		}
	}
}
