package promremote

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// codes are the statuses the receiver answers with; requests are counted
// by them without a label lookup per request.
var codes = [...]int{
	http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
	http.StatusUnsupportedMediaType, http.StatusInternalServerError, http.StatusServiceUnavailable,
}

func codeIndex(code int) int {
	for i, c := range codes {
		if c == code {
			return i
		}
	}
	return len(codes) // "other"
}

// metrics are the receiver's counters, by protocol version.
type metrics struct {
	requests         [2][len(codes) + 1]prometheus.Counter
	samples          [2]prometheus.Counter
	rejected         [2][numKinds]prometheus.Counter
	ignoredExemplars prometheus.Counter
	walErrors        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ccmb_remote_write_requests_total",
		Help: "Remote-write requests by protocol version and HTTP status.",
	}, []string{"version", "code"})
	samples := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ccmb_remote_write_samples_written_total",
		Help: "Float samples stored through remote write.",
	}, []string{"version"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ccmb_remote_write_rejected_total",
		Help: "Remote-write elements not written (answered with 400), by kind: sample, histogram, exemplar.",
	}, []string{"version", "kind"})
	ignored := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ccmb_remote_write_exemplars_ignored_total",
		Help: "Exemplars of remote write 1.0 requests, which are not stored (1.0 cannot report them).",
	})
	walErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ccmb_remote_write_wal_errors_total",
		Help: "Remote-write requests answered 500 because the WAL could not log them.",
	})
	if reg != nil {
		reg.MustRegister(requests, samples, rejected, ignored, walErrors)
	}
	var m metrics
	for _, v := range []version{v1, v2} {
		for i := range m.requests[v] {
			code := "other"
			if i < len(codes) {
				code = strconv.Itoa(codes[i])
			}
			m.requests[v][i] = requests.WithLabelValues(v.String(), code)
		}
		m.samples[v] = samples.WithLabelValues(v.String())
		for k := kind(0); k < numKinds; k++ {
			m.rejected[v][k] = rejected.WithLabelValues(v.String(), k.String())
		}
	}
	m.ignoredExemplars = ignored
	m.walErrors = walErrors
	return m
}

// add counts the outcome of one decoded request.
func (m *metrics) add(v version, st *stats) {
	if st.samples > 0 {
		m.samples[v].Add(float64(st.samples))
	}
	for k := kind(0); k < numKinds; k++ {
		if n := st.rejected[k]; n > 0 {
			m.rejected[v][k].Add(float64(n))
		}
	}
	if st.ignoredExemplars > 0 {
		m.ignoredExemplars.Add(float64(st.ignoredExemplars))
	}
}
