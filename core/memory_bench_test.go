package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkMemoryPerSample reports resident heap bytes per retained sample
// (HeapInuse after GC, divided by samples) for three data shapes, with 48 h
// at 60 s per series for 2,000 hwthread series, written step by step across
// all series as collectors send them. Goals: integer counters ≤ 2 B, 2-decimal gauges ≤ 6 B,
// full-precision random floats ≤ 9 B (cc-metric-store: 8–11 B on all).
func BenchmarkMemoryPerSample(b *testing.B) {
	const series, steps = 2000, 2880
	shapes := []struct {
		name string
		next func(r *rand.Rand, prev float64) float64
	}{
		{"int-counter", func(r *rand.Rand, prev float64) float64 { return prev + float64(r.IntN(1000)) }},
		{"gauge-2dec", func(r *rand.Rand, prev float64) float64 { return math.Round(r.Float64()*10000) / 100 }},
		{"random-float", func(r *rand.Rand, prev float64) float64 { return r.Float64() * 1e9 }},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				st := newTestStore(b, MetricConfig{Name: "m", Frequency: 60})
				r := rand.New(rand.NewPCG(7, uint64(i)))
				// Interleaved as collectors send: every series at each step.
				keys := make([]Key, series)
				vals := make([]float64, series)
				for s := range keys {
					keys[s] = Key{Cluster: []byte("fritz"), Host: fmt.Appendf(nil, "f%04d", s/72),
						Scope: [][]byte{fmt.Appendf(nil, "hwthread%d", s%72)}, Metric: []byte("m")}
				}
				app := st.Appender()
				for t := 0; t < steps; t++ {
					for s := range keys {
						vals[s] = shape.next(r, vals[s])
						if err := app.Append(&keys[s], int64(1_700_000_000+60*t)*1000, vals[s]); err != nil {
							b.Fatal(err)
						}
					}
				}
				app.Commit()
				// Two cycles: sync.Pool caches (head and scratch buffers) are
				// dropped only on the second; they are not data.
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(series*steps), "B/sample")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(series*steps), "live-B/sample")
				runtime.KeepAlive(st)
				runtime.KeepAlive(keys)
			}
		})
	}
}
