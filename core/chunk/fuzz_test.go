package chunk

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// byteSource hands out fuzz bytes, yielding zeros once they run out so that
// every input maps to some sample set.
type byteSource struct{ b []byte }

func (s *byteSource) u8() byte {
	if len(s.b) == 0 {
		return 0
	}
	x := s.b[0]
	s.b = s.b[1:]
	return x
}

func (s *byteSource) u64() uint64 {
	var w [8]byte
	n := copy(w[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(w[:])
}

// samplesFromBytes derives strictly increasing timestamps and values of
// many kinds from fuzz input: 8 bytes of first timestamp, then per sample a
// control byte choosing the delta kind (low 2 bits) and the value kind.
func samplesFromBytes(data []byte) ([]int64, []float64) {
	src := byteSource{data}
	t := int64(src.u64())
	specials := []uint64{
		math.Float64bits(math.NaN()), staleNaN, math.Float64bits(math.Inf(1)),
		math.Float64bits(math.Inf(-1)), 1 << 63, 0, 0xfff8000000000001, 1,
	}
	var ts []int64
	var vs []float64
	prev := 0.0
	for len(src.b) > 0 && len(ts) < MaxSamples {
		c := src.u8()
		if len(ts) > 0 {
			var d uint64
			switch c & 3 {
			case 0:
				d = uint64(interval)
			case 1:
				d = 1 + uint64(src.u8())*1000
			case 2:
				d = max(src.u64()>>(src.u8()&63), 1)
			default:
				d = uint64(interval + int64(int8(src.u8()))*200)
			}
			// Stop where the next timestamp would pass MaxInt64.
			u, carry := bits.Add64(uint64(t)^signBit, d, 0)
			if carry != 0 {
				break
			}
			t = int64(u ^ signBit)
		}
		var v float64
		switch c >> 2 & 7 {
		case 0:
			v = prev
		case 1:
			v = float64(int16(src.u8())|int16(src.u8())<<8) / 100
		case 2:
			v = math.Float64frombits(src.u64())
		case 3:
			v = math.Float64frombits(specials[c>>5])
		case 4:
			v = prev + float64(src.u8())
		case 5:
			v = float64(int64(src.u64()))
		case 6:
			v = math.Float64frombits(src.u64() &^ 0xffffffff)
		default:
			v = float64(int64(src.u64())>>(src.u8()&63)) / math.Pow10(int(src.u8()%12))
		}
		ts = append(ts, t)
		vs = append(vs, v)
		prev = v
	}
	return ts, vs
}

// fuzzSeeds returns byte strings covering each delta and value kind.
func fuzzSeeds() [][]byte {
	rng := rand.New(rand.NewPCG(11, 12))
	var seeds [][]byte
	for c := range 256 {
		b := []byte{0, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70}
		for range 20 {
			b = append(b, byte(c), byte(rng.Uint32()), byte(rng.Uint32()), 1, 2, 3, 4, 5, 6, 7, 8)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0})          // starts at MaxInt64
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0x0e, 0xff, 0xff, 0, 0x0e, 0xff}) // MinInt64, huge gaps
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, vs := samplesFromBytes(data)
		if len(ts) == 0 {
			return
		}
		roundTrip(t, ts, vs)
	})
}

func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, shape := range []string{"constant", "counter", "gauge2dec", "negative", "randomfloat"} {
		f.Add(Encode(nil, jittered(rng, 30), values(rng, shape, 30)))
		f.Add(Encode(nil, regular(3), values(rng, shape, 3)))
	}
	f.Add(Encode(nil, []int64{math.MinInt64, 0, math.MaxInt64}, []float64{math.NaN(), 1, 2}))
	f.Add([]byte{1, 0xff, 0xff, 0x03, 0, 1, 0, 0x00, 0, 0})
	f.Add([]byte{1, 2, 0, 1, 0x40, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	// Decoding into slices with room for MaxSamples means any attempt to
	// produce more would show up as a longer result, and none allocates.
	tsBuf, vsBuf := make([]int64, 0, MaxSamples), make([]float64, 0, MaxSamples)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoded(t, b)
		ts, vs, err := Decode(b, tsBuf, vsBuf)
		if err != nil {
			return
		}
		if cap(ts) != MaxSamples || cap(vs) != MaxSamples {
			t.Fatalf("Decode reallocated for %d samples", len(ts))
		}
		// Whatever decodes is a valid sample set: it must survive a round
		// trip through the encoder.
		roundTrip(t, ts, vs)
	})
}
