package promapi

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// upstream encodes a query result the way Prometheus' JSON codec does:
// jsoniter's standard-library configuration with the type encoders of
// web/api/v1/json_codec.go (Prometheus 3.16, Apache License 2.0), copied
// below because importing web/api/v1 would pull in the whole server (and
// modules go.sum does not list).
func upstream(t testing.TB, v parser.Value) string {
	t.Helper()
	b, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(&upstreamResponse{
		Status: "success",
		Data:   &upstreamQueryData{ResultType: v.Type(), Result: v},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type upstreamResponse struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

type upstreamQueryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

func init() {
	jsoniter.RegisterTypeEncoderFunc("promql.Vector", func(ptr unsafe.Pointer, st *jsoniter.Stream) {
		v := *(*promql.Vector)(ptr)
		st.WriteArrayStart()
		for i, s := range v {
			upstreamSample(s, st)
			if i != len(v)-1 {
				st.WriteMore()
			}
		}
		st.WriteArrayEnd()
	}, neverEmpty)
	jsoniter.RegisterTypeEncoderFunc("promql.Matrix", func(ptr unsafe.Pointer, st *jsoniter.Stream) {
		m := *(*promql.Matrix)(ptr)
		st.WriteArrayStart()
		for i, s := range m {
			upstreamSeries(s, st)
			if i != len(m)-1 {
				st.WriteMore()
			}
		}
		st.WriteArrayEnd()
	}, neverEmpty)
}

func neverEmpty(unsafe.Pointer) bool { return false }

func upstreamSeries(s promql.Series, st *jsoniter.Stream) {
	st.WriteObjectStart()
	st.WriteObjectField(`metric`)
	upstreamLabels(s.Metric, st)
	for i, p := range s.Floats {
		st.WriteMore()
		if i == 0 {
			st.WriteObjectField(`values`)
			st.WriteArrayStart()
		}
		st.WriteArrayStart()
		jsonutil.MarshalTimestamp(p.T, st)
		st.WriteMore()
		jsonutil.MarshalFloat(p.F, st)
		st.WriteArrayEnd()
	}
	if len(s.Floats) > 0 {
		st.WriteArrayEnd()
	}
	st.WriteObjectEnd()
}

func upstreamSample(s promql.Sample, st *jsoniter.Stream) {
	st.WriteObjectStart()
	st.WriteObjectField(`metric`)
	upstreamLabels(s.Metric, st)
	st.WriteMore()
	st.WriteObjectField(`value`)
	st.WriteArrayStart()
	jsonutil.MarshalTimestamp(s.T, st)
	st.WriteMore()
	jsonutil.MarshalFloat(s.F, st)
	st.WriteArrayEnd()
	st.WriteObjectEnd()
}

func upstreamLabels(lbls labels.Labels, st *jsoniter.Stream) {
	st.WriteObjectStart()
	i := 0
	lbls.Range(func(v labels.Label) {
		if i != 0 {
			st.WriteMore()
		}
		i++
		st.WriteString(v.Name)
		st.WriteRaw(`:`)
		st.WriteString(v.Value)
	})
	st.WriteObjectEnd()
}

func ours(v parser.Value) string {
	b := []byte(`{"status":"success","data":{"resultType":`)
	b = appendString(b, string(v.Type()))
	b = append(b, `,"result":`...)
	b = appendValue(b, v, nil)
	return string(append(b, "}}"...))
}

var specialFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 100, 1e-6, 9.99e-7, 1e-7, 1e21, 9.99e20, 1.5e21, -1.5e21, 1e300, -1e-300,
	math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
	math.Float64frombits(value.StaleNaN), 0.1 + 0.2, 3.1, 1719859200.781, 123456789.123456789,
}

var specialTimes = []int64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1050, 1719859200000, 1719859200050, 1719859200781, -1, -1500, -1719859200781, math.MaxInt64 / 2}

var specialLabels = []labels.Labels{
	labels.EmptyLabels(),
	labels.FromStrings("__name__", "cpu_load", "cluster", "fritz", "hostname", "f0101", "type", "node"),
	labels.FromStrings("a", `quote " backslash \ tab	nl
cr`+"\r"),
	labels.FromStrings("html", "<script>&amp;</script>", "ctl", "\x00\x01\x1f\x7f", "u2028", "\u2028\u2029"),
	labels.FromStrings("bad utf8", "\xff\xfe ok \xc3", "emoji", "ö 😀", "job name", "x"),
}

// The encoder writes what Prometheus' codec writes, byte for byte.
func TestEncoderMatchesPrometheus(t *testing.T) {
	var vals []parser.Value
	for _, f := range specialFloats {
		for _, ts := range specialTimes {
			vals = append(vals, promql.Scalar{T: ts, V: f})
			vals = append(vals, promql.Vector{{T: ts, F: f, Metric: specialLabels[1]}})
		}
	}
	for _, ls := range specialLabels {
		vals = append(vals,
			promql.Vector{{T: 1000, F: 1, Metric: ls}, {T: 2000, F: 2, Metric: ls}},
			promql.Matrix{{Metric: ls, Floats: []promql.FPoint{{T: 1000, F: 1}, {T: 1500, F: math.NaN()}}}, {Metric: ls}},
			promql.String{T: 1500, V: ls.String()},
		)
	}
	vals = append(vals, promql.Vector{}, promql.Matrix{}, promql.String{T: 0, V: ""})
	for _, v := range vals {
		if got, want := ours(v), upstream(t, v); got != want {
			t.Errorf("value %v:\ngot  %s\nwant %s", v, got, want)
		}
	}
}

// Random matrices and vectors encode as upstream does.
func TestEncoderMatchesPrometheusRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randFloat := func() float64 {
		switch rng.IntN(4) {
		case 0:
			return specialFloats[rng.IntN(len(specialFloats))]
		case 1:
			return math.Float64frombits(rng.Uint64())
		case 2:
			return float64(rng.IntN(1000))
		}
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
	}
	for range 200 {
		var m promql.Matrix
		var v promql.Vector
		for range rng.IntN(5) {
			ls := specialLabels[rng.IntN(len(specialLabels))]
			s := promql.Series{Metric: ls}
			for range rng.IntN(6) {
				ts := rng.Int64N(4e12) - 1e12
				s.Floats = append(s.Floats, promql.FPoint{T: ts, F: randFloat()})
				v = append(v, promql.Sample{T: ts, F: randFloat(), Metric: ls})
			}
			m = append(m, s)
		}
		for _, val := range []parser.Value{m, v, promql.Scalar{T: rng.Int64N(4e12), V: randFloat()}} {
			if got, want := ours(val), upstream(t, val); got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		}
	}
}

// FuzzJSONString: each string mode escapes exactly as its upstream
// encoder: jsoniter's standard-library configuration (errors, lists),
// jsoniter's Stream.WriteString (label sets) and encoding/json
// (promql.String).
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "<>&", "\u2028", "\xff", "ö😀", "\x00\x1f\x7f\b\f\n\r\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s, escapeHTML); string(got) != string(want) {
			t.Fatalf("html %q: got %s, want %s", s, got, want)
		}
		st := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
		st.WriteString(s)
		want = st.Buffer()
		if got := appendJSONString(nil, s, escapeLabel); string(got) != string(want) {
			t.Fatalf("label %q: got %s, want %s", s, got, want)
		}
		jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(st)
		if want, err = json.Marshal(s); err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s, escapeStdlib); string(got) != string(want) {
			t.Fatalf("stdlib %q: got %s, want %s", s, got, want)
		}
	})
}
