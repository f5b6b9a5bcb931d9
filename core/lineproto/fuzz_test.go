package lineproto

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// FuzzDecode feeds arbitrary bodies to both modes. Decoding must not panic,
// every key handed to the Appender must be well-formed (checkKey), errors
// must be *LineError with a line number inside the body, the statistics
// must match what the Appender saw, and the fast path must agree with
// lp/v2 alone.
func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c.body), uint8(c.opt.Precision), uint8(8))
	}
	f.Add(collectorBody(20), uint8(0), uint8(0))
	f.Add(telegrafBody(10), uint8(3), uint8(0))
	f.Add([]byte("m s=\"a\nb\\\"\",v=1 1\nm\\ x,a\\ b=c\\ d s\\ t=\"\" 2\r\n"), uint8(0), uint8(4))
	d := NewDecoder() // shared: state must not leak between inputs
	dSlow := NewDecoder()
	dSlow.noFast = true
	f.Fuzz(func(t *testing.T, body []byte, prec, maxLine uint8) {
		lines := 1 + bytes.Count(body, []byte{'\n'})
		for _, mode := range []Mode{Native, Influx} {
			opt := Options{
				Mode:           mode,
				DefaultCluster: []byte("dflt"),
				Now:            now,
				Precision:      Precision(prec % 6),
				MaxLineBytes:   int(maxLine) * 4, // 0: default; else small limits
			}
			{
				rec := &recorder{reject: fuzzReject}
				st, err := d.Decode(body, opt, rec)
				if len(rec.bad) > 0 {
					t.Fatalf("%v: invalid keys %q", mode, rec.bad)
				}
				if st.Samples != len(rec.got) || st.Lines < 0 || st.Skipped < 0 {
					t.Fatalf("%v: stats %+v with %d samples", mode, st, len(rec.got))
				}
				if st.Lines > lines {
					t.Fatalf("%v: %d entries in %d lines", mode, st.Lines, lines)
				}
				if err != nil {
					var le *LineError
					if !errors.As(err, &le) {
						t.Fatalf("%v: error %T %v is not a *LineError", mode, err, err)
					}
					if le.Line < 1 || le.Line > lines {
						t.Fatalf("%v: error line %d outside 1..%d: %v", mode, le.Line, lines, err)
					}
				}
				checkErrorLine(t, d, body, opt, fuzzResult{rec.got, st, errString(err)})

				// The same without the fast path (lp/v2 only) must agree.
				recSlow := &recorder{reject: fuzzReject}
				stSlow, errSlow := dSlow.Decode(body, opt, recSlow)
				if !reflect.DeepEqual(fuzzResult{rec.got, st, errString(err)}, fuzzResult{recSlow.got, stSlow, errString(errSlow)}) {
					t.Fatalf("%v: fast path and lp/v2 differ:\nfast %+v\nlp   %+v\nbody %q", mode,
						fuzzResult{rec.got, st, errString(err)}, fuzzResult{recSlow.got, stSlow, errString(errSlow)}, body)
				}
			}
		}
	})
}

// fuzzReject makes the recorder reject some keys, to exercise both kinds of
// Appender errors.
func fuzzReject(k *core.Key) error {
	switch {
	case bytes.Contains(k.Metric, []byte("zz")):
		return core.ErrUnknownMetric
	case bytes.ContainsRune(k.Host, '/'):
		return core.ErrInvalidName
	}
	return nil
}

// checkErrorLine verifies the reported line number: when no entry can span
// lines (no quoted strings), the lines before the reported one must decode
// without error to exactly the samples stored before the error.
func checkErrorLine(t *testing.T, d *Decoder, body []byte, opt Options, full fuzzResult) {
	var le *LineError
	if full.err == "" || bytes.IndexByte(body, '"') >= 0 {
		return
	}
	_, err := d.Decode(body, opt, &recorder{reject: fuzzReject})
	if !errors.As(err, &le) {
		t.Fatalf("%v: error changed on a second run: %v", opt.Mode, err)
	}
	prefix := bytes.Join(bytes.SplitAfter(body, []byte{'\n'})[:le.Line-1], nil)
	rec := &recorder{reject: fuzzReject}
	st, err := d.Decode(prefix, opt, rec)
	if err != nil {
		t.Fatalf("%v: error reported on line %d, but the lines before it fail too: %v\nbody %q", opt.Mode, le.Line, err, body)
	}
	if !reflect.DeepEqual(fuzzResult{rec.got, st, ""}, fuzzResult{full.samples, full.st, ""}) {
		t.Fatalf("%v: error reported on line %d, but the lines before it decode differently:\n%+v\n%+v\nbody %q",
			opt.Mode, le.Line, fuzzResult{rec.got, st, ""}, full, body)
	}
}

type fuzzResult struct {
	samples []sample
	st      Stats
	err     string
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// storeApp hands samples to a core.Appender (series cache included) and logs
// what was stored, by canonical series key.
type storeApp struct {
	a   *core.Appender
	log []string
}

func (s *storeApp) Append(k *core.Key, t int64, v float64) error {
	if err := s.a.Append(k, t, v); err != nil {
		return err
	}
	s.logSample(s.a.LastSeries(), t, v)
	return nil
}

func (s *storeApp) LastSeries() *core.Series { return s.a.LastSeries() }

func (s *storeApp) AppendSeries(se *core.Series, t int64, v float64) bool {
	if !s.a.AppendSeries(se, t, v) {
		return false
	}
	s.logSample(se, t, v)
	return true
}

func (s *storeApp) KnownMetric(m []byte) bool { return s.a.KnownMetric(m) }

func (s *storeApp) logSample(se *core.Series, t int64, v float64) {
	s.log = append(s.log, fmt.Sprintf("%q %d %v", se.Key(), t, math.Float64bits(v)))
}

// fuzzStores returns two equal stores, strict or not.
func fuzzStores(t *testing.T, strict bool) (*core.Store, *core.Store) {
	var cfgs []core.MetricConfig
	for _, m := range []string{"m", "m_v", "m_value", "cpu_load", "mem_bw", "flops_any", "cpu_usage_idle", "mem_used"} {
		cfgs = append(cfgs, core.MetricConfig{Name: m, Frequency: 60})
	}
	newStore := func() *core.Store {
		st, err := core.New(core.Options{Metrics: cfgs, DefaultFrequency: 60, StrictMetrics: strict})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	return newStore(), newStore()
}

// decodeInto decodes body into st and returns what was stored.
func decodeInto(d *Decoder, st *core.Store, body []byte, opt Options) fuzzStoreResult {
	app := &storeApp{a: st.Appender()}
	s, err := d.Decode(body, opt, app)
	if cerr := app.a.Commit(); cerr != nil && err == nil {
		err = cerr
	}
	return fuzzStoreResult{app.log, s, errString(err), st.NumSeries()}
}

type fuzzStoreResult struct {
	stored []string
	st     Stats
	err    string
	series int64
}

// FuzzFastPath decodes every body with the fast path and the series cache
// into a real store, and with lp/v2 alone into another one: the stored
// samples, the statistics and the errors must be identical. Each body is
// decoded several times (cache hits), with a changed default cluster (the
// cache must be dropped), and after every series has been freed (deleted
// series in the cache).
func FuzzFastPath(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c.body), uint8(c.opt.Precision))
	}
	f.Add(collectorBody(40), uint8(0))
	f.Add(telegrafBody(20), uint8(3))
	f.Add([]byte("m,a=b,a=c value=1 1\nm,a=c value=2 2\n  m,a=c   value=3i  3  \r\n# c\n\nm,a=c value=4u\n"), uint8(0))
	f.Add([]byte("m v=1.5e3,w=-0.25,x=t,y=FALSE,z=0x1p3 1\nm,host=h,hostname=g v=1 2\nm v=1e999 3"), uint8(2))
	f.Add([]byte("cpu_load,type=socket,type-id=1,stype=core,stype-id=2 value=1 1\nnosuch value=2 2\nnosuch value=bad 3\nm value=1 1\r\rx"), uint8(0))
	fast, slow := NewDecoder(), NewDecoder() // shared: state must not leak between inputs
	slow.noFast = true
	f.Fuzz(func(t *testing.T, body []byte, prec uint8) {
		for _, mode := range []Mode{Native, Influx} {
			for _, strict := range []bool{false, true} {
				opt := Options{Mode: mode, DefaultCluster: []byte("dflt"), Now: now, Precision: Precision(prec % 6)}
				stA, stB := fuzzStores(t, strict)
				for round := range 5 {
					switch round {
					case 2:
						opt.DefaultCluster = []byte("other")
					case 3:
						opt.DefaultCluster = []byte("dflt")
					case 4:
						stA.Free(nil, math.MaxInt64)
						stB.Free(nil, math.MaxInt64)
					}
					opt.Now = now + int64(round)
					a := decodeInto(fast, stA, body, opt)
					b := decodeInto(slow, stB, body, opt)
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("%v strict=%v round %d: fast path and lp/v2 differ:\nfast %+v\nlp   %+v\nbody %q",
							mode, strict, round, a, b, body)
					}
				}
			}
		}
	})
}
