package ccms

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// maxSeconds bounds timestamps (seconds) whose millisecond value fits int64.
const maxSeconds = math.MaxInt64 / 1000

// loader stores the series of one file (snapshot or WAL) through an
// appender and collects the file's problems.
type loader struct {
	job  *hostJob
	st   *core.Store
	app  *core.Appender
	file string
	key  core.Key

	samples  int
	problems int
	// strict counts, per metric name, series or records skipped because a
	// strict store does not know the metric.
	strict map[string]int
}

// problemf records a problem of the file, at most maxProblemsPerFile of
// them; flush summarises the rest.
func (l *loader) problemf(format string, args ...any) {
	l.problems++
	if l.problems <= maxProblemsPerFile {
		l.job.problemf("%s: %s", l.file, fmt.Sprintf(format, args...))
	}
}

// flush reports the summaries of the file.
func (l *loader) flush() {
	if l.problems > maxProblemsPerFile {
		l.job.problemf("%s: %d more problems not listed", l.file, l.problems-maxProblemsPerFile)
	}
	if len(l.strict) > 0 {
		names := make([]string, 0, len(l.strict))
		total := 0
		for n, c := range l.strict {
			names = append(names, fmt.Sprintf("%q", n))
			total += c
		}
		slices.Sort(names)
		if len(names) > maxProblemsPerFile {
			names = append(names[:maxProblemsPerFile], "...")
		}
		what := "series"
		if strings.HasSuffix(l.file, ".wal") {
			what = "records"
		}
		l.job.problemf("%s: skipped %d %s of %d metrics not configured (strict metrics): %s",
			l.file, total, what, len(l.strict), strings.Join(names, ", "))
	}
}

func (l *loader) skipStrict(name []byte) {
	if l.strict == nil {
		l.strict = make(map[string]int)
	}
	l.strict[string(name)]++
}

// setKey points l.key at the series scope/name of the host.
func (l *loader) setKey(scope [][]byte, name []byte) {
	l.key.Cluster = append(l.key.Cluster[:0], l.job.cluster...)
	l.key.Host = append(l.key.Host[:0], l.job.host...)
	l.key.Scope = scope
	l.key.Metric = name
	l.key.Labels = nil
}

// series stores the n values of one snapshot series, value i (get(i)) at
// start + i·freq seconds; NaN values are skipped. Unknown metrics are
// registered with freq (core.AggNone) unless the store is strict.
func (l *loader) series(scope [][]byte, name []byte, freq, start int64, n int, get func(int) float64) {
	if l.job.bad {
		return
	}
	switch {
	case len(name) == 0:
		l.problemf("%s: metric with an empty name skipped", seriesName(scope, name))
		return
	case freq <= 0:
		l.problemf("%s: invalid frequency %d, series skipped", seriesName(scope, name), freq)
		return
	case n == 0:
		return
	case !timesOK(start, freq, n):
		l.problemf("%s: timestamps out of range (start %d, frequency %d, %d values), series skipped",
			seriesName(scope, name), start, freq, n)
		return
	}
	if l.st.Metric(string(name)) == nil {
		if !l.app.KnownMetric(name) {
			l.skipStrict(name)
			return
		}
		l.st.RegisterMetric(string(name), freq, core.AggNone)
	}
	l.setKey(scope, name)
	for i := 0; i < n; i++ {
		v := get(i)
		if math.IsNaN(v) {
			continue
		}
		if err := l.app.Append(&l.key, (start+int64(i)*freq)*1000, v); err != nil {
			l.appendError(scope, name, err)
			return
		}
		l.samples++
	}
}

// appendError handles an error of the Appender: a refused cluster or host
// name stops the host, anything else the series.
func (l *loader) appendError(scope [][]byte, name []byte, err error) {
	if hostNameError(err) {
		l.job.refuse(err)
		return
	}
	l.problemf("%s: series skipped: %v", seriesName(scope, name), err)
}

// timesOK reports whether start + i·freq (seconds, freq > 0) stays within
// the millisecond range of int64 for every i < n.
func timesOK(start, freq int64, n int) bool {
	if start < -maxSeconds || start > maxSeconds {
		return false
	}
	last := int64(n - 1)
	return last <= 0 || freq <= (maxSeconds-start)/last
}

// seriesName names a series in problems: scope elements and the metric.
func seriesName(scope [][]byte, name []byte) string {
	var b bytes.Buffer
	for _, s := range scope {
		fmt.Fprintf(&b, "%q/", s)
	}
	fmt.Fprintf(&b, "%q", name)
	return b.String()
}
