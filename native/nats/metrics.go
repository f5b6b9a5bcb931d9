package nats

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the package's Prometheus collectors. Per-subscription
// counters carry the label subject (two entries with the same subject share
// them).
type metrics struct {
	messages    *prometheus.CounterVec
	samples     *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	redelivered *prometheus.CounterVec
	ackErrors   *prometheus.CounterVec
	errors      prometheus.Counter
	reconnects  prometheus.Counter
	connected   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"subject"})
	}
	m := &metrics{
		messages:    vec("ccmb_nats_messages_total", "NATS messages received, per subscribed subject."),
		samples:     vec("ccmb_nats_samples_written_total", "Samples stored from NATS messages."),
		skipped:     vec("ccmb_nats_samples_skipped_total", "Samples of unknown metrics skipped (strict-metrics)."),
		rejected:    vec("ccmb_nats_decode_errors_total", "NATS messages with a bad line (the lines before it are stored)."),
		storeErrors: vec("ccmb_nats_store_errors_total", "NATS messages whose batch could not be written to the WAL (JetStream: redelivered later; core NATS: kept in memory only)."),
		redelivered: vec("ccmb_nats_redeliveries_total", "JetStream messages received more than once."),
		ackErrors:   vec("ccmb_nats_ack_errors_total", "JetStream acknowledgements (or terminations) that could not be sent."),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ccmb_nats_errors_total",
			Help: "Asynchronous NATS errors: slow consumers (messages dropped), permission and JetStream consumer errors."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "ccmb_nats_reconnects_total",
			Help: "Reconnections to a NATS server."}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ccmb_nats_connected",
			Help: "1 while connected to a NATS server."}),
	}
	var err error
	reg1(reg, &m.messages, &err)
	reg1(reg, &m.samples, &err)
	reg1(reg, &m.skipped, &err)
	reg1(reg, &m.rejected, &err)
	reg1(reg, &m.storeErrors, &err)
	reg1(reg, &m.redelivered, &err)
	reg1(reg, &m.ackErrors, &err)
	reg1(reg, &m.errors, &err)
	reg1(reg, &m.reconnects, &err)
	reg1(reg, &m.connected, &err)
	return m, err
}

// reg1 registers *c unless *err is set. If an identical collector is
// registered already (a second Ingester on the same registry, e.g. a
// restart within the process), *c becomes that one, so both count in the
// same series.
func reg1[T prometheus.Collector](reg prometheus.Registerer, c *T, err *error) {
	if *err != nil {
		return
	}
	e := reg.Register(*c)
	if e == nil {
		return
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(e, &are) {
		if ex, ok := are.ExistingCollector.(T); ok {
			*c = ex
			return
		}
	}
	*err = fmt.Errorf("nats: cannot register metrics: %w", e)
}
