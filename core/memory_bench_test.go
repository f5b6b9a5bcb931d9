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
// at 60 s per series. Goals: integer counters ≤ 2 B, 2-decimal gauges ≤ 6 B,
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
				app := st.Appender()
				k := &Key{Cluster: []byte("fritz"), Metric: []byte("m")}
				for s := 0; s < series; s++ {
					k.Host = fmt.Appendf(k.Host[:0], "f%04d", s/72)
					k.Scope = append(k.Scope[:0], fmt.Appendf(nil, "hwthread%d", s%72))
					v := 0.0
					for t := 0; t < steps; t++ {
						v = shape.next(r, v)
						if err := app.Append(k, int64(1_700_000_000+60*t)*1000, v); err != nil {
							b.Fatal(err)
						}
					}
				}
				app.Commit()
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(series*steps), "B/sample")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(series*steps), "live-B/sample")
				runtime.KeepAlive(st)
			}
		})
	}
}
