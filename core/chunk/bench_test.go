package chunk

import (
	"math/rand/v2"
	"testing"
)

const benchSamples = 256

var benchShapes = []string{"counter", "gauge2dec", "randomfloat"}

func reportPerSample(b *testing.B, size, iters int) {
	b.ReportMetric(float64(size)/benchSamples, "B/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*benchSamples), "ns/sample")
}

func BenchmarkEncode(b *testing.B) {
	for _, shape := range benchShapes {
		b.Run(shape, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(21, 22))
			ts, vs := regular(benchSamples), values(rng, shape, benchSamples)
			dst := Encode(nil, ts, vs)
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				dst = Encode(dst[:0], ts, vs)
				iters++
			}
			reportPerSample(b, len(dst), iters)
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, shape := range benchShapes {
		b.Run(shape, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(21, 22))
			chunk := Encode(nil, regular(benchSamples), values(rng, shape, benchSamples))
			ts, vs := make([]int64, 0, benchSamples), make([]float64, 0, benchSamples)
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				var err error
				ts, vs, err = Decode(chunk, ts[:0], vs[:0])
				if err != nil {
					b.Fatal(err)
				}
				iters++
			}
			reportPerSample(b, len(chunk), iters)
		})
	}
}
