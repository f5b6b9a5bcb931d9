package lineproto

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// collectorBody returns n lines shaped like cc-metric-collector output: per
// host one tick of node, socket and hwthread metrics, floats and ints, tags
// in lexical order, second timestamps.
func collectorBody(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		host := fmt.Sprintf("f%04d", 101+i/100)
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "cpu_load,cluster=fritz,hostname=%s,type=node value=%d.%d 1700000040\n", host, i%64, i%10)
		case 1:
			fmt.Fprintf(&b, "mem_used,cluster=fritz,hostname=%s,type=node,unit=MB value=%di 1700000040\n", host, 100000+i)
		case 2, 3:
			fmt.Fprintf(&b, "mem_bw,cluster=fritz,hostname=%s,type=socket,type-id=%d value=%d.25 1700000040\n", host, i%2, 10000+i)
		default:
			fmt.Fprintf(&b, "flops_any,cluster=fritz,hostname=%s,type=hwthread,type-id=%d value=1.2e9 1700000040\n", host, i%72)
		}
	}
	return []byte(b.String())
}

// telegrafBody returns n lines shaped like Telegraf's cpu and mem inputs
// (about 10 fields each, nanosecond timestamps).
func telegrafBody(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		host := fmt.Sprintf("tg%03d", i/50)
		if i%2 == 0 {
			fmt.Fprintf(&b, "cpu,cpu=cpu%d,host=%s usage_guest=0,usage_guest_nice=0,usage_idle=97.%d,"+
				"usage_iowait=0.1,usage_irq=0,usage_nice=0,usage_softirq=0.05,usage_steal=0,"+
				"usage_system=1.2,usage_user=1.45 1700000040000000000\n", i%32, host, i%10)
		} else {
			fmt.Fprintf(&b, "mem,host=%s active=%di,available=12884901888i,available_percent=71.3,"+
				"buffered=104857600i,cached=4294967296i,free=8589934592i,total=17179869184i,"+
				"used=%di,used_percent=28.7 1700000040000000000\n", host, 5368709120+i, 4294967296+i)
		}
	}
	return []byte(b.String())
}

// sinkAppender does the minimum with each sample.
type sinkAppender struct{ n, bytes int }

func (s *sinkAppender) Append(k *core.Key, _ int64, _ float64) error {
	s.n++
	s.bytes += len(k.Metric) + len(k.Host) + len(k.Labels)
	return nil
}

var benchBodies = []struct {
	name string
	body []byte
	opt  Options
}{
	{"native-collector-1000", collectorBody(1000), Options{Mode: Native, DefaultCluster: []byte("fritz"), Now: now}},
	{"influx-telegraf-1000", telegrafBody(1000), Options{Mode: Influx, Now: now}},
}

func BenchmarkDecode(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			d := NewDecoder()
			app := &sinkAppender{}
			st, err := d.Decode(bb.body, bb.opt, app) // warm-up
			if err != nil || st.Lines != 1000 {
				b.Fatalf("warm-up: %+v %v", st, err)
			}
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := d.Decode(bb.body, bb.opt, app); err != nil {
					b.Fatal(err)
				}
			}
			lines := float64(b.N) * float64(st.Lines)
			b.ReportMetric(b.Elapsed().Seconds()*1e9/lines, "ns/line")
			b.ReportMetric(lines/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(b.N)*float64(st.Samples)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// TestZeroAllocs checks that a warmed-up Decoder allocates nothing per
// line: only lp/v2's own decoder, once per body.
func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	escaped := []byte(strings.Repeat(`my\ meas,ta\ g=v\=1\,2,z=1,a=2 value=1 1`+"\n", 100) +
		strings.Repeat("m,"+strings.Repeat("t\\ x=y\\ z,", 40)+"a=b value=1 1\n", 10))
	cases := append(benchBodies[:len(benchBodies):len(benchBodies)], struct {
		name string
		body []byte
		opt  Options
	}{"escaped-unsorted", escaped, Options{Mode: Native, Now: now}})
	for _, bb := range cases {
		d := NewDecoder()
		app := &sinkAppender{}
		if _, err := d.Decode(bb.body, bb.opt, app); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := d.Decode(bb.body, bb.opt, app); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("%s: %v allocs per Decode, want at most 1 (per body, never per line)", bb.name, allocs)
		}
	}
}

// BenchmarkLPBaseline walks the same bodies with the bare lp/v2 decoder as
// usually used (NewDecoderWithBytes per body, every token read, values not
// parsed, nothing mapped), to show what the mapping adds.
func BenchmarkLPBaseline(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				lp := lineprotocol.NewDecoderWithBytes(bb.body)
				for lp.Next() {
					m, _ := lp.Measurement()
					n += len(m)
					for {
						k, _, _ := lp.NextTag()
						if k == nil {
							break
						}
					}
					for {
						k, _, _, _ := lp.NextFieldBytes()
						if k == nil {
							break
						}
					}
					_, _ = lp.TimeBytes()
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/1000, "ns/line")
		})
	}
}
