package lineproto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode feeds arbitrary bodies to both modes. Decoding must not panic,
// every key handed to the Appender must be well-formed (checkKey), errors
// must be *LineError with a line number inside the body, the statistics
// must match what the Appender saw, and the fast and the fallback lp reset
// must agree.
func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c.body), uint8(c.opt.Precision), uint8(8))
	}
	f.Add(collectorBody(20), uint8(0), uint8(0))
	f.Add(telegrafBody(10), uint8(3), uint8(0))
	f.Add([]byte("m s=\"a\nb\\\"\",v=1 1\nm\\ x,a\\ b=c\\ d s\\ t=\"\" 2\r\n"), uint8(0), uint8(4))
	d := NewDecoder() // shared: state must not leak between inputs
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
			results := make([]fuzzResult, 2)
			for i, slow := range []bool{false, true} {
				forceSlowReset = slow
				rec := &recorder{}
				st, err := d.Decode(body, opt, rec)
				forceSlowReset = false
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
				results[i] = fuzzResult{rec.got, st, errString(err)}
			}
			if !reflect.DeepEqual(results[0], results[1]) {
				t.Fatalf("%v: fast and fallback reset differ:\n%+v\n%+v", mode, results[0], results[1])
			}
		}
	})
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
