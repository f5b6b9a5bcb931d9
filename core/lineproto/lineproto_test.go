package lineproto

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// sample is a recorded copy of one Append call.
type sample struct {
	Cluster, Host string
	Scope         []string
	Metric        string
	Labels        string // "name=value,name=value" in canonical order
	T             int64
	V             float64
}

func (s sample) String() string {
	return fmt.Sprintf("{%q %q %q %q {%s} %d %v}", s.Cluster, s.Host, s.Scope, s.Metric, s.Labels, s.T, s.V)
}

// recorder is a fake Appender that keeps copies of what it gets.
type recorder struct {
	got []sample
	// reject, if set, decides the error returned for a key.
	reject func(k *core.Key) error
	// bad collects violations of the key invariants (see checkKey).
	bad []string
}

func (r *recorder) Append(k *core.Key, t int64, v float64) error {
	if msg := checkKey(k, v); msg != "" {
		r.bad = append(r.bad, msg)
	}
	if r.reject != nil {
		if err := r.reject(k); err != nil {
			return err
		}
	}
	s := sample{Cluster: string(k.Cluster), Host: string(k.Host), Metric: string(k.Metric), T: t, V: v}
	for _, e := range k.Scope {
		s.Scope = append(s.Scope, string(e))
	}
	s.Labels = renderLabels(k.Labels)
	r.got = append(r.got, s)
	return nil
}

// filterRecorder also implements MetricFilter.
type filterRecorder struct {
	recorder
	known map[string]bool
}

func (f *filterRecorder) KnownMetric(m []byte) bool { return f.known[string(m)] }

func renderLabels(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	parts := strings.Split(strings.TrimSuffix(string(b), "\xff"), "\xff")
	var sb strings.Builder
	for i := 0; i+1 < len(parts); i += 2 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(parts[i] + "=" + parts[i+1])
	}
	return sb.String()
}

var reservedTags = map[string]bool{
	"cluster": true, "hostname": true, "type": true, "type-id": true, "type_id": true,
	"stype": true, "stype-id": true, "stype_id": true,
}

// checkKey returns what is wrong with a key handed to the Appender, or "".
func checkKey(k *core.Key, v float64) string {
	switch {
	case len(k.Metric) == 0 || !utf8.Valid(k.Metric):
		return fmt.Sprintf("bad metric %q", k.Metric)
	case !utf8.Valid(k.Cluster) || !utf8.Valid(k.Host):
		return fmt.Sprintf("bad cluster/host %q %q", k.Cluster, k.Host)
	case len(k.Scope) > 2:
		return fmt.Sprintf("scope too deep %q", k.Scope)
	case math.IsInf(v, 0) || math.IsNaN(v):
		return fmt.Sprintf("non-finite value %v", v)
	}
	for _, e := range k.Scope {
		if len(e) == 0 || !utf8.Valid(e) {
			return fmt.Sprintf("bad scope element %q", k.Scope)
		}
	}
	if len(k.Labels) == 0 {
		return ""
	}
	if k.Labels[len(k.Labels)-1] != core.LabelSep {
		return fmt.Sprintf("labels not terminated %q", k.Labels)
	}
	parts := bytes.Split(k.Labels[:len(k.Labels)-1], []byte{core.LabelSep})
	if len(parts)%2 != 0 {
		return fmt.Sprintf("odd label encoding %q", k.Labels)
	}
	for i := 0; i < len(parts); i += 2 {
		name, val := parts[i], parts[i+1]
		if len(name) == 0 || len(val) == 0 || !utf8.Valid(name) || !utf8.Valid(val) {
			return fmt.Sprintf("bad label %q=%q", name, val)
		}
		if reservedTags[string(name)] {
			return fmt.Sprintf("reserved tag %q kept as label", name)
		}
		if i > 0 && bytes.Compare(parts[i-2], name) >= 0 {
			return fmt.Sprintf("labels not strictly sorted %q", k.Labels)
		}
	}
	return ""
}

func smp(cluster, host string, scope []string, metric, labels string, t int64, v float64) sample {
	return sample{Cluster: cluster, Host: host, Scope: scope, Metric: metric, Labels: labels, T: t, V: v}
}

func sc(e ...string) []string { return e }

const now = 1700000099123 // Options.Now in the tests (ms)

var (
	nat = Options{Mode: Native, DefaultCluster: []byte("dflt"), Now: now}
	inf = Options{Mode: Influx, DefaultCluster: []byte("dflt"), Now: now}
)

func with(o Options, f func(*Options)) Options { f(&o); return o }

type decodeCase struct {
	name  string
	opt   Options
	body  string
	want  []sample
	stats Stats
	err   string // full error text, "" for none
	is    error  // errors.Is target, if any
	line  int    // LineError.Line, if err != ""
	app   func() Appender
}

var decodeCases = []decodeCase{
	// ---- Native: tags and the tree ----
	{name: "hwthread", opt: nat,
		body:  "flops_any,cluster=fritz,hostname=f0101,type=hwthread,type-id=12 value=1.2e9 1700000040",
		want:  []sample{smp("fritz", "f0101", sc("hwthread12"), "flops_any", "", 1700000040000, 1.2e9)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "node ignores type-id", opt: nat,
		body:  "cpu_load,cluster=fritz,hostname=f0101,type=node,type-id=0 value=17.4 1700000040",
		want:  []sample{smp("fritz", "f0101", nil, "cpu_load", "", 1700000040000, 17.4)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "node ignores stype", opt: nat,
		body:  "m,hostname=h,type=node,stype=core,stype-id=1 value=1 1",
		want:  []sample{smp("dflt", "h", nil, "m", "", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "no type is host level", opt: nat,
		body:  "cpu_load,hostname=h value=1 1",
		want:  []sample{smp("dflt", "h", nil, "cpu_load", "", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "socket and core", opt: nat,
		body:  "m,cluster=c,hostname=h,type=socket,type-id=1,stype=core,stype-id=3 value=5 1700000040",
		want:  []sample{smp("c", "h", sc("socket1", "core3"), "m", "", 1700000040000, 5)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "tag order does not matter", opt: nat,
		body:  "m,stype-id=3,type-id=1,stype=core,hostname=h,type=socket,cluster=c value=5 1700000040",
		want:  []sample{smp("c", "h", sc("socket1", "core3"), "m", "", 1700000040000, 5)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "underscore spellings", opt: nat,
		body:  "m,hostname=h,stype=core,stype_id=3,type=socket,type_id=1 value=5 1700000040",
		want:  []sample{smp("dflt", "h", sc("socket1", "core3"), "m", "", 1700000040000, 5)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "accelerator", opt: nat,
		body:  "acc_utilization,cluster=alex,hostname=a0124,type=accelerator,type-id=00000000:49:00.0 value=97i 1700000040",
		want:  []sample{smp("alex", "a0124", sc("accelerator00000000:49:00.0"), "acc_utilization", "", 1700000040000, 97)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "type-id without type", opt: nat,
		body: "m,hostname=h,type-id=5 value=1 1\nm,hostname=h,type-id=5,stype=core,stype-id=2 value=2 1",
		want: []sample{
			smp("dflt", "h", sc("5"), "m", "", 1000, 1),
			smp("dflt", "h", sc("5", "core2"), "m", "", 1000, 2),
		},
		stats: Stats{Lines: 2, Samples: 2}},
	{name: "stype without type", opt: nat,
		body:  "m,hostname=h,stype=core,stype-id=2 value=1 1",
		want:  []sample{smp("dflt", "h", nil, "m", "", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "type without id, stype-id without stype", opt: nat,
		body: "m,hostname=h,type=socket value=1 1\nm,hostname=h,type=socket,type-id=0,stype-id=2 value=2 1",
		want: []sample{
			smp("dflt", "h", sc("socket"), "m", "", 1000, 1),
			smp("dflt", "h", sc("socket0", "2"), "m", "", 1000, 2),
		},
		stats: Stats{Lines: 2, Samples: 2}},
	{name: "host alias", opt: nat,
		body:  "cpu_load,cluster=test,host=h8 value=2 1795371870",
		want:  []sample{smp("test", "h8", nil, "cpu_load", "", 1795371870000, 2)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "hostname wins over host, host kept as label", opt: nat,
		body:  "m,host=gw,hostname=h value=1 1",
		want:  []sample{smp("dflt", "h", nil, "m", "host=gw", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "no host", opt: nat,
		body:  "m value=1 1",
		want:  []sample{smp("dflt", "", nil, "m", "", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "no cluster anywhere", opt: with(nat, func(o *Options) { o.DefaultCluster = nil }),
		body:  "m,hostname=h value=1 1",
		want:  []sample{smp("", "h", nil, "m", "", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "other tags become sorted labels", opt: nat,
		body:  "m,hostname=h,unit=GB/s,device=sda value=1 1",
		want:  []sample{smp("dflt", "h", nil, "m", "device=sda,unit=GB/s", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "duplicate tags: last wins", opt: nat,
		body:  "m,z=1,a=2,hostname=a,z=3,hostname=b,type=socket,type-id=1,type_id=2 value=1 1",
		want:  []sample{smp("dflt", "b", sc("socket2"), "m", "a=2,z=3", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "many unsorted labels", opt: nat,
		body: "m," + func() string {
			var parts []string
			for i := 29; i >= 0; i-- {
				parts = append(parts, fmt.Sprintf("l%02d=%d", i, i))
			}
			parts = append(parts, "l07=x")
			return strings.Join(parts, ",")
		}() + " value=1 1",
		want: []sample{smp("dflt", "", nil, "m", func() string {
			var parts []string
			for i := 0; i < 30; i++ {
				v := fmt.Sprint(i)
				if i == 7 {
					v = "x"
				}
				parts = append(parts, fmt.Sprintf("l%02d=%s", i, v))
			}
			return strings.Join(parts, ",")
		}(), 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "escapes", opt: nat,
		body:  `my\ meas\,x,ta\ g=v\=1\,2 value=1 1`,
		want:  []sample{smp("dflt", "", nil, "my meas,x", "ta g=v=1,2", 1000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},

	// ---- Native: values ----
	{name: "number kinds", opt: nat,
		body: "m value=42i 1\nm value=42u 1\nm value=-1.5e3 1\nm value=.5 1\nm value=1. 1\nm value=-7i 1",
		want: []sample{
			smp("dflt", "", nil, "m", "", 1000, 42),
			smp("dflt", "", nil, "m", "", 1000, 42),
			smp("dflt", "", nil, "m", "", 1000, -1500),
			smp("dflt", "", nil, "m", "", 1000, 0.5),
			smp("dflt", "", nil, "m", "", 1000, 1),
			smp("dflt", "", nil, "m", "", 1000, -7),
		},
		stats: Stats{Lines: 6, Samples: 6}},
	{name: "several value fields: last wins", opt: nat,
		body:  "m value=1,value=2i 1",
		want:  []sample{smp("dflt", "", nil, "m", "", 1000, 2)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "unknown field", opt: nat,
		body:  "m value=1 1\nm value=2 2\nm val=1 1",
		want:  []sample{smp("dflt", "", nil, "m", "", 1000, 1), smp("dflt", "", nil, "m", "", 2000, 2)},
		stats: Stats{Lines: 2, Samples: 2},
		err:   `line 3: unknown field "val" (only "value" is accepted)`, is: ErrUnknownField, line: 3},
	{name: "unknown field after value", opt: nat,
		body: "m value=1,event=\"x\" 1",
		err:  `line 1: unknown field "event" (only "value" is accepted)`, is: ErrUnknownField, line: 1},
	{name: "string value", opt: nat,
		body: `cpu_load,cluster=test,hostname=h4 value="x" 1795371870`,
		err:  "line 1: unsupported value type string (only numbers are accepted)", is: ErrUnsupportedType, line: 1},
	{name: "bool value", opt: nat,
		body: "m value=true 1",
		err:  "line 1: unsupported value type bool (only numbers are accepted)", is: ErrUnsupportedType, line: 1},
	{name: "word value", opt: nat,
		body: "m value=foo 1",
		err:  `line 1: invalid field value: "foo" (field "value") is not a number, a boolean or a quoted string`,
		is:   ErrInvalidValue, line: 1},
	{name: "int out of range", opt: nat,
		body: "m value=9223372036854775808i 1",
		err:  `line 1: invalid field value: "9223372036854775808i" (field "value") is out of range for a 64-bit integer`,
		is:   ErrInvalidValue, line: 1},
	{name: "negative uint", opt: nat,
		body: "m value=-1u 1",
		err:  `line 1: invalid field value: "-1u" (field "value") is not an unsigned integer`,
		is:   ErrInvalidValue, line: 1},
	{name: "bad float", opt: nat,
		body: "m value=1.5.5 1",
		err:  `line 1: invalid field value: "1.5.5" (field "value") is not a number`,
		is:   ErrInvalidValue, line: 1},
	{name: "float out of range", opt: nat,
		body: "m value=1e400 1",
		err:  `line 1: invalid field value: "1e400" (field "value") is out of range`,
		is:   ErrInvalidValue, line: 1},
	{name: "negative infinity", opt: nat,
		body: "m value=-inf 1",
		err:  `line 1: invalid field value: "-inf" (field "value") is not a finite number`,
		is:   ErrInvalidValue, line: 1},
	{name: "infinity", opt: nat,
		body: "m value=inf 1",
		err:  "line 1: invalid field value: expected a number, a boolean (true/false) or a quoted string (column 9)",
		is:   ErrInvalidValue, line: 1},
	{name: "missing value (reference transcript)", opt: nat,
		body: "cpu_load,cluster=test,hostname=h4 value= 1795371870",
		err:  "line 1: invalid field value: expected a number, a boolean (true/false) or a quoted string (column 41)",
		is:   ErrInvalidValue, line: 1},

	// ---- Native: timestamps ----
	{name: "timestamp units by magnitude", opt: nat,
		body: "m value=1 1700000000\nm value=2 1700000000123\nm value=3 1700000000123456\n" +
			"m value=4 1700000000123456789\nm value=5 0\nm value=6 -5\nm value=7 99999999999\nm value=8 -1700000000123456789",
		want: []sample{
			smp("dflt", "", nil, "m", "", 1700000000000, 1),
			smp("dflt", "", nil, "m", "", 1700000000123, 2),
			smp("dflt", "", nil, "m", "", 1700000000123, 3),
			smp("dflt", "", nil, "m", "", 1700000000123, 4),
			smp("dflt", "", nil, "m", "", 0, 5),
			smp("dflt", "", nil, "m", "", -5000, 6),
			smp("dflt", "", nil, "m", "", 99999999999000, 7),
			smp("dflt", "", nil, "m", "", -1700000000124, 8),
		},
		stats: Stats{Lines: 8, Samples: 8}},
	{name: "missing timestamp: Now", opt: nat,
		body:  "m value=1\nm value=2   \n",
		want:  []sample{smp("dflt", "", nil, "m", "", now, 1), smp("dflt", "", nil, "m", "", now, 2)},
		stats: Stats{Lines: 2, Samples: 2}},
	{name: "text after timestamp", opt: nat,
		body: "m value=1 1\nm value=1 12 x",
		want: []sample{smp("dflt", "", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: `line 2: unexpected text after timestamp ("x") (column 14)`, is: ErrInvalidTimestamp, line: 2},
	{name: "letters in timestamp", opt: nat,
		body: "m value=1 12a",
		err:  `line 1: invalid timestamp ("12a") (column 11)`, is: ErrInvalidTimestamp, line: 1},
	{name: "dash in timestamp", opt: nat,
		body: "m value=1 1-2",
		err:  `line 1: invalid timestamp "1-2"`, is: ErrInvalidTimestamp, line: 1},
	{name: "timestamp overflow", opt: nat,
		body: "m value=1 9223372036854775808",
		err:  "line 1: timestamp 9223372036854775808 out of range (64-bit integer)", is: ErrInvalidTimestamp, line: 1},
	{name: "timestamp extremes", opt: nat,
		body: "m value=1 9223372036854775807\nm value=2 -9223372036854775808",
		want: []sample{
			smp("dflt", "", nil, "m", "", 9223372036854, 1),
			smp("dflt", "", nil, "m", "", -9223372036855, 2),
		},
		stats: Stats{Lines: 2, Samples: 2}},

	// ---- Native: layout of the body ----
	{name: "comments, blank lines, CRLF, indentation", opt: nat,
		body: "# header\r\n\r\n  m value=1 1\r\n   # indented comment\n\nm value=2 2\r\n",
		want: []sample{
			smp("dflt", "", nil, "m", "", 1000, 1),
			smp("dflt", "", nil, "m", "", 2000, 2),
		},
		stats: Stats{Lines: 2, Samples: 2}},
	{name: "empty body", opt: nat, body: ""},
	{name: "only comments", opt: nat, body: "# a\n\n# b\r\n"},
	{name: "syntax error line number", opt: nat,
		body: "m value=1 1\n\n# c\nbad line here\nm value=2 2",
		want: []sample{smp("dflt", "", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: `line 4: syntax error: want '=' after field key "line", found ' ' (column 9)`, is: ErrSyntax, line: 4},
	{name: "error line after CRLF and comments", opt: nat,
		body: "\r\n# c\r\nm value=1 1\r\nm val=1 1\r\n",
		want: []sample{smp("dflt", "", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: `line 4: unknown field "val" (only "value" is accepted)`, line: 4},
	{name: "error line of a fully escaped entry", opt: nat,
		body: "m value=1 1\n\n# c\r\n  a\\ b,c\\ d=e\\ f s\\ t=\"x\\\"\"\nm value=2 2",
		want: []sample{smp("dflt", "", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: `line 4: unknown field "s t" (only "value" is accepted)`, line: 4},
	{name: "error line of a fully escaped first entry", opt: nat,
		body: "# c\n\na\\ b s\\ t=\"x\"",
		err:  `line 3: unknown field "s t" (only "value" is accepted)`, line: 3},
	{name: "measurement only", opt: nat,
		body: "m",
		err:  "line 1: syntax error: line ends before its fields (at least one field such as value=1 is required) (column 2)",
		is:   ErrSyntax, line: 1},
	{name: "tags only", opt: nat,
		body: "m value=1 1\nm,a=b\nm value=2 2",
		want: []sample{smp("dflt", "", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: "line 2: syntax error: line ends before its fields (at least one field such as value=1 is required) (column 6)",
		is:  ErrSyntax, line: 2},
	{name: "trailing comma", opt: nat,
		body: "m value=1,",
		err:  "line 1: syntax error: missing field (expected key=value) (column 11)", is: ErrSyntax, line: 1},
	{name: "lone carriage return", opt: nat,
		body: "m value=1 1\rx",
		err:  "line 1: syntax error: carriage return not followed by a line feed (column 12)", is: ErrSyntax, line: 1},
	{name: "empty tag value", opt: nat,
		body: "m,t= value=1",
		err:  `line 1: syntax error: expected tag value after tag key "t", but none found (column 5)`, is: ErrSyntax, line: 1},
	{name: "line too long", opt: with(nat, func(o *Options) { o.MaxLineBytes = 20 }),
		body: "m value=1 1700000000\r\nm,hostname=hhhhhhhhhhh value=2 2\nm value=3 3",
		want: []sample{smp("dflt", "", nil, "m", "", 1700000000000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: "line 2: line exceeds 20 bytes", is: ErrLineTooLong, line: 2},
	{name: "long line after a bad line", opt: with(nat, func(o *Options) { o.MaxLineBytes = 20 }),
		body: "m val=1 1\nm,hostname=hhhhhhhhhhh value=2 2",
		err:  `line 1: unknown field "val" (only "value" is accepted)`, is: ErrUnknownField, line: 1},
	{name: "default line limit", opt: nat,
		body: "m value=1 1\n# " + strings.Repeat("x", DefaultMaxLineBytes) + "\n",
		want: []sample{smp("dflt", "", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: "line 2: line exceeds 65536 bytes", is: ErrLineTooLong, line: 2},

	// ---- Native: the Appender ----
	{name: "unknown metric is skipped", opt: nat,
		body: "m value=1 1\nnosuch value=2 2\nm value=3 3",
		app: func() Appender {
			return &recorder{reject: func(k *core.Key) error {
				if string(k.Metric) == "nosuch" {
					return fmt.Errorf("%w: nosuch", core.ErrUnknownMetric)
				}
				return nil
			}}
		},
		want:  []sample{smp("dflt", "", nil, "m", "", 1000, 1), smp("dflt", "", nil, "m", "", 3000, 3)},
		stats: Stats{Lines: 3, Samples: 2, Skipped: 1}},
	{name: "invalid name stops", opt: nat,
		body: "m,hostname=a value=1 1\nm,hostname=a/b value=2 2\nm value=3 3",
		app: func() Appender {
			return &recorder{reject: func(k *core.Key) error {
				if bytes.ContainsRune(k.Host, '/') {
					return fmt.Errorf("%w: host %q", core.ErrInvalidName, k.Host)
				}
				return nil
			}}
		},
		want: []sample{smp("dflt", "a", nil, "m", "", 1000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: `line 2: invalid name: host "a/b"`, is: core.ErrInvalidName, line: 2},
	{name: "metric filter skips unknown lines unparsed", opt: nat,
		body: "this is not line protocol\ncpu_load,hostname=h value=1 1\nnosuch,hostname=h val=\"x\" 1",
		app: func() Appender {
			return &filterRecorder{known: map[string]bool{"cpu_load": true}}
		},
		want:  []sample{smp("dflt", "h", nil, "cpu_load", "", 1000, 1)},
		stats: Stats{Lines: 3, Samples: 1, Skipped: 2}},

	// ---- Influx mode ----
	{name: "telegraf cpu", opt: inf,
		body: "cpu,cpu=cpu-total,host=tg usage_user=1.5,usage_system=2.5,usage_idle=96 1700000000000000000",
		want: []sample{
			smp("dflt", "tg", nil, "cpu_usage_idle", "cpu=cpu-total", 1700000000000, 96),
			smp("dflt", "tg", nil, "cpu_usage_system", "cpu=cpu-total", 1700000000000, 2.5),
			smp("dflt", "tg", nil, "cpu_usage_user", "cpu=cpu-total", 1700000000000, 1.5),
		},
		stats: Stats{Lines: 1, Samples: 3}},
	{name: "influx value field keeps the measurement", opt: inf,
		body:  "temp,host=h value=60,other=1 1700000000000000000",
		want:  []sample{smp("dflt", "h", nil, "temp_other", "", 1700000000000, 1), smp("dflt", "h", nil, "temp", "", 1700000000000, 60)},
		stats: Stats{Lines: 1, Samples: 2}},
	{name: "influx bool and string", opt: inf,
		body: `m,host=h up=true,down=F,msg="hi",n=3i,u=4u 1999999`,
		want: []sample{
			smp("dflt", "h", nil, "m_down", "", 1, 0),
			smp("dflt", "h", nil, "m_n", "", 1, 3),
			smp("dflt", "h", nil, "m_u", "", 1, 4),
			smp("dflt", "h", nil, "m_up", "", 1, 1),
		},
		stats: Stats{Lines: 1, Samples: 4, Skipped: 1}},
	{name: "influx only strings", opt: inf,
		body:  `log,host=h msg="a",level="b" 1`,
		stats: Stats{Lines: 1, Skipped: 2}},
	{name: "influx duplicate fields: last wins", opt: inf,
		body: "m a=1,b=2,a=3 0\nm c=1,c=\"x\" 0",
		want: []sample{
			smp("dflt", "", nil, "m_a", "", 0, 3),
			smp("dflt", "", nil, "m_b", "", 0, 2),
		},
		stats: Stats{Lines: 2, Samples: 2, Skipped: 1}},
	{name: "influx tree tags", opt: inf,
		body:  "m,cluster=c,hostname=h,type=socket,type-id=0,host=tg load=1 0",
		want:  []sample{smp("c", "h", sc("socket0"), "m_load", "host=tg", 0, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx precision s", opt: with(inf, func(o *Options) { o.Precision = Second }),
		body:  "m v=1 1700000000",
		want:  []sample{smp("dflt", "", nil, "m_v", "", 1700000000000, 1)},
		stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx precision ms us m h", opt: inf,
		body: "m v=1 1",
		want: []sample{smp("dflt", "", nil, "m_v", "", 0, 1)}, stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx precision ms", opt: with(inf, func(o *Options) { o.Precision = Millisecond }),
		body: "m v=1 1700000000123",
		want: []sample{smp("dflt", "", nil, "m_v", "", 1700000000123, 1)}, stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx precision us", opt: with(inf, func(o *Options) { o.Precision = Microsecond }),
		body:  "m v=1 1700000000123999\nm v=2 -1",
		want:  []sample{smp("dflt", "", nil, "m_v", "", 1700000000123, 1), smp("dflt", "", nil, "m_v", "", -1, 2)},
		stats: Stats{Lines: 2, Samples: 2}},
	{name: "influx precision m", opt: with(inf, func(o *Options) { o.Precision = Minute }),
		body: "m v=1 2",
		want: []sample{smp("dflt", "", nil, "m_v", "", 120000, 1)}, stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx precision h", opt: with(inf, func(o *Options) { o.Precision = Hour }),
		body: "m v=1 2",
		want: []sample{smp("dflt", "", nil, "m_v", "", 7200000, 1)}, stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx precision overflow", opt: with(inf, func(o *Options) { o.Precision = Hour }),
		body: "m v=1 2\nm v=1 9223372036854775807",
		want: []sample{smp("dflt", "", nil, "m_v", "", 7200000, 1)}, stats: Stats{Lines: 1, Samples: 1},
		err: "line 2: timestamp 9223372036854775807 out of range for precision h", is: ErrInvalidTimestamp, line: 2},
	{name: "influx missing timestamp truncated to precision", opt: with(inf, func(o *Options) { o.Precision = Second }),
		body: "m v=1",
		want: []sample{smp("dflt", "", nil, "m_v", "", 1700000099000, 1)}, stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx missing timestamp ns", opt: inf,
		body: "m v=1",
		want: []sample{smp("dflt", "", nil, "m_v", "", now, 1)}, stats: Stats{Lines: 1, Samples: 1}},
	{name: "influx multi-line string then bad line", opt: inf,
		body: "m s=\"a\nb\",v=1 1\nm v=2 bad",
		want: []sample{smp("dflt", "", nil, "m_v", "", 0, 1)}, stats: Stats{Lines: 1, Samples: 1, Skipped: 1},
		err: `line 3: invalid timestamp ("bad") (column 7)`, is: ErrInvalidTimestamp, line: 3},
	{name: "influx semantic error after multi-line string", opt: inf,
		body: "m s=\"a\nb\",v=1 1\n\nm v=1e999 1",
		want: []sample{smp("dflt", "", nil, "m_v", "", 0, 1)}, stats: Stats{Lines: 1, Samples: 1, Skipped: 1},
		err: `line 4: invalid field value: "1e999" (field "v") is out of range`, is: ErrInvalidValue, line: 4},
	{name: "influx unknown metric per field", opt: inf,
		body: "m a=1,b=2 0",
		app: func() Appender {
			return &filterRecorder{recorder: recorder{reject: func(k *core.Key) error {
				if string(k.Metric) == "m_a" {
					return core.ErrUnknownMetric
				}
				return nil
			}}} // KnownMetric is not consulted in Influx mode
		},
		want:  []sample{smp("dflt", "", nil, "m_b", "", 0, 2)},
		stats: Stats{Lines: 1, Samples: 1, Skipped: 1}},
	{name: "influx error in a later field", opt: inf,
		body: "m a=1,b=tru 0",
		err:  `line 1: invalid field value: "tru" (field "b") is not a number, a boolean or a quoted string`,
		is:   ErrInvalidValue, line: 1},
}

func runCase(t *testing.T, d *Decoder, c decodeCase) {
	t.Helper()
	var app Appender
	if c.app != nil {
		app = c.app()
	} else {
		app = &recorder{}
	}
	st, err := d.Decode([]byte(c.body), c.opt, app)
	var rec *recorder
	switch a := app.(type) {
	case *recorder:
		rec = a
	case *filterRecorder:
		rec = &a.recorder
	}
	if len(rec.bad) > 0 {
		t.Errorf("invalid keys: %q", rec.bad)
	}
	if !reflect.DeepEqual(rec.got, c.want) && (len(rec.got) > 0 || len(c.want) > 0) {
		t.Errorf("samples:\n got %v\nwant %v", rec.got, c.want)
	}
	if st != c.stats {
		t.Errorf("stats: got %+v, want %+v", st, c.stats)
	}
	if c.err == "" {
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", c.err)
	}
	if err.Error() != c.err {
		t.Errorf("error:\n got %q\nwant %q", err, c.err)
	}
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatalf("error %T is not a *LineError", err)
	}
	if le.Line != c.line {
		t.Errorf("LineError.Line = %d, want %d", le.Line, c.line)
	}
	if c.is != nil && !errors.Is(err, c.is) {
		t.Errorf("errors.Is(%v, %v) = false", err, c.is)
	}
}

func TestDecode(t *testing.T) {
	shared := NewDecoder() // reused across cases: no state may leak
	for _, c := range decodeCases {
		t.Run(c.name, func(t *testing.T) {
			runCase(t, shared, c)
			var fresh Decoder // zero value works too
			runCase(t, &fresh, c)
		})
	}
}

// Lines before a bad line must have reached the Appender; lines after it
// must not.
func TestEarlierLinesStored(t *testing.T) {
	body := "a value=1 1\nb value=2 2\n# comment\nc value=3 3\nd value=oops 4\ne value=5 5\n"
	rec := &recorder{}
	st, err := Decode([]byte(body), nat, rec)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 5 {
		t.Fatalf("err = %v, want a LineError on line 5", err)
	}
	var got []string
	for _, s := range rec.got {
		got = append(got, s.Metric)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("stored %v, want a, b, c", got)
	}
	if st != (Stats{Lines: 3, Samples: 3}) {
		t.Errorf("stats %+v", st)
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := Decode([]byte("m value=1"), Options{Mode: 7}, &recorder{}); err == nil {
		t.Error("invalid mode accepted")
	}
	if _, err := Decode([]byte("m value=1"), Options{Mode: Influx, Precision: 9}, &recorder{}); err == nil {
		t.Error("invalid precision accepted")
	}
	var le *LineError
	if _, err := Decode([]byte("m value=1"), Options{Mode: 7}, &recorder{}); errors.As(err, &le) {
		t.Error("an options error must not be a LineError")
	}
}

func TestNowDefault(t *testing.T) {
	rec := &recorder{}
	if _, err := Decode([]byte("m value=1"), Options{}, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || rec.got[0].T < 1700000000000 {
		t.Errorf("Now=0 should mean the current time, got %v", rec.got)
	}
}

func TestParsePrecision(t *testing.T) {
	for in, want := range map[string]Precision{
		"": Nanosecond, "n": Nanosecond, "ns": Nanosecond, "u": Microsecond, "us": Microsecond,
		"µ": Microsecond, "µs": Microsecond, "ms": Millisecond, "s": Second, "m": Minute, "h": Hour,
	} {
		got, err := ParsePrecision(in)
		if err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "S", "sec", "1s"} {
		if _, err := ParsePrecision(in); err == nil {
			t.Errorf("ParsePrecision(%q) accepted", in)
		}
	}
}

// Keys must not alias each other: an Appender that appends to a slice of
// the key must not corrupt the next sample.
func TestKeySlicesCapped(t *testing.T) {
	body := "m,cluster=c,hostname=h,type=socket,type-id=1,stype=core,stype-id=2,a=b x=1,y=2 0"
	var got []string
	app := appendFunc(func(k *core.Key, _ int64, _ float64) error {
		_ = append(k.Cluster, "XXXX"...)
		_ = append(k.Host, "XXXX"...)
		_ = append(k.Metric, "XXXX"...)
		_ = append(k.Labels, "XXXX"...)
		for _, e := range k.Scope {
			_ = append(e, "XXXX"...)
		}
		_ = append(k.Scope, []byte("XXXX"))
		got = append(got, fmt.Sprintf("%s/%s/%s/%s/%q", k.Cluster, k.Host, bytes.Join(k.Scope, []byte(":")), k.Metric, k.Labels))
		return nil
	})
	if _, err := Decode([]byte(body), inf, app); err != nil {
		t.Fatal(err)
	}
	want := []string{`c/h/socket1:core2/m_x/"a\xffb\xff"`, `c/h/socket1:core2/m_y/"a\xffb\xff"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

type appendFunc func(k *core.Key, t int64, v float64) error

func (f appendFunc) Append(k *core.Key, t int64, v float64) error { return f(k, t, v) }

func TestNativeMillis(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{99999999999, 99999999999000},      // below 1e11: seconds
		{100000000000, 100000000000},       // 1e11: milliseconds
		{99999999999999, 99999999999999},   // below 1e14: milliseconds
		{100000000000000, 100000000000},    // 1e14: microseconds
		{100000000000000000, 100000000000}, // 1e17: nanoseconds
		{-1, -1000},
		{-100000000000001, -100000000001}, // microseconds, floored
	} {
		if got := nativeMillis(c.in); got != c.want {
			t.Errorf("nativeMillis(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestFirstLongLine(t *testing.T) {
	for _, c := range []struct {
		body      string
		max       int
		line, off int
	}{
		{"abc\ndef", 3, 0, 0},
		{"abc\r\ndef", 3, 0, 0},
		{"abc\ndefg", 3, 2, 4},
		{"abcd\ndef", 3, 1, 0},
		{"ab\n\n\nabcd\r\n", 3, 4, 5},
		{"abc\r", 3, 1, 0}, // a CR not followed by LF counts as a byte of the line
	} {
		line, off := firstLongLine([]byte(c.body), c.max)
		if line != c.line || off != c.off {
			t.Errorf("firstLongLine(%q, %d) = %d, %d; want %d, %d", c.body, c.max, line, off, c.line, c.off)
		}
	}
}

// A huge line may grow the scratch buffers, but they are not kept.
func TestBuffersBounded(t *testing.T) {
	d := NewDecoder()
	big := "m," + strings.Repeat(`k\ x=v\ y,`, 30000) + "a=b value=1 1\n"
	opt := with(nat, func(o *Options) { o.MaxLineBytes = 1 << 20 })
	rec := &recorder{}
	if _, err := d.Decode([]byte(big+"m value=2 2"), opt, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 2 || rec.got[0].Labels != "a=b,k x=v y" {
		t.Fatalf("got %v", rec.got)
	}
	if cap(d.arena) > maxKeepBytes || cap(d.labels) > maxKeepItems {
		t.Errorf("oversized buffers kept: arena %d, labels %d", cap(d.arena), cap(d.labels))
	}
	d.Reset()
	rec = &recorder{}
	if _, err := d.Decode([]byte("m value=3 3"), nat, rec); err != nil || len(rec.got) != 1 {
		t.Fatalf("after Reset: %v %v", rec.got, err)
	}
}
