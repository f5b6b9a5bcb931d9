package ccms

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
)

// JSON checkpoint <from>.json (cc-backend pkg/metricstore/checkpoint.go,
// CheckpointFile and CheckpointMetrics.MarshalJSON), one object per file
// written by json.Encoder (so followed by a newline):
//
//	{"metrics":{"<name>":{"frequency":60,"start":1795378764,"data":[1.2,null]}},
//	 "children":{"<child>":{<same object>}},"from":1795378764,"to":1795378766}
//
// Values are strconv.AppendFloat(v, 'f', 1, 32) of the float32, NaN is
// null. The reference decodes with json.Decoder (keys case-insensitive,
// unknown keys and anything after the first value ignored) into
// schema.Float, which parses the text with strconv.ParseFloat(s, 64).
type jsonLevel struct {
	Metrics  map[string]*jsonMetric `json:"metrics"`
	Children map[string]*jsonLevel  `json:"children"`
	From     int64                  `json:"from"`
	To       int64                  `json:"to"`
}

type jsonMetric struct {
	Data      []jsonFloat `json:"data"`
	Frequency int64       `json:"frequency"`
	Start     int64       `json:"start"`
}

// jsonFloat is schema.Float's decoding: null is NaN, anything else is
// parsed by strconv.ParseFloat(text, 64).
type jsonFloat float64

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

// depth returns the number of nested child levels below l.
func (l *jsonLevel) depth() int {
	d := 0
	for _, c := range l.Children {
		if c != nil {
			d = max(d, 1+c.depth())
		}
	}
	return d
}

// loadJSON loads one .json file; it reports whether it was loaded.
func (l *loader) loadJSON(path string, cutoff int64) bool {
	f, err := os.Open(path)
	if err != nil {
		l.problemf("%v", err)
		return false
	}
	defer f.Close()
	var cf jsonLevel
	// encoding/json limits nesting to 10000, so depth() cannot recurse
	// further than that; the buffer grows with the file only.
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&cf); err != nil {
		l.problemf("corrupt JSON checkpoint, skipped: %v", err)
		return false
	}
	if d := cf.depth(); d > maxDepth {
		l.problemf("corrupt JSON checkpoint, skipped: levels nested %d deep (at most %d)", d, maxDepth)
		return false
	}
	if cf.To != 0 && cf.To < cutoff {
		return false // the reference skips files ending before the cut-off
	}
	l.jsonLevel(&cf, nil)
	return true
}

// jsonLevel stores the series of lv and its children, in name order so that
// problems come out in a stable order.
func (l *loader) jsonLevel(lv *jsonLevel, scope [][]byte) {
	for _, name := range sortedKeys(lv.Metrics) {
		m := lv.Metrics[name]
		if m == nil {
			continue
		}
		l.series(scope, []byte(name), m.Frequency, m.Start, len(m.Data), func(i int) float64 {
			return float64(m.Data[i])
		})
	}
	for _, name := range sortedKeys(lv.Children) {
		if c := lv.Children[name]; c != nil {
			l.jsonLevel(c, append(scope, []byte(name)))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
