package lineproto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
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
