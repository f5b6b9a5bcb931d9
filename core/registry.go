package core

import (
	"fmt"
	"sync"
)

// Aggregation says how a level without its own series is computed from the
// series found below it.
type Aggregation uint8

const (
	AggNone Aggregation = iota // more than one child series is an error
	AggSum
	AggAvg
)

func (a Aggregation) String() string {
	switch a {
	case AggSum:
		return "sum"
	case AggAvg:
		return "avg"
	}
	return "null"
}

// Metric is one registered metric name.
type Metric struct {
	Name string
	// Frequency is the nominal sampling interval in seconds; native queries
	// derive their slot grid from it.
	Frequency   int64
	Aggregation Aggregation
	// Configured is false for metrics registered on first write.
	Configured bool
}

// MetricConfig declares a metric up front (the config file's metrics section).
type MetricConfig struct {
	Name        string
	Frequency   int64
	Aggregation Aggregation
}

// registry maps metric names to their descriptions. Metrics are never
// removed, so pointers handed out stay valid for the life of the store.
type registry struct {
	mu          sync.RWMutex
	byName      map[string]*Metric
	defaultFreq int64
	strict      bool
}

func newRegistry(cfgs []MetricConfig, defaultFreq int64, strict bool) (*registry, error) {
	if defaultFreq <= 0 {
		return nil, fmt.Errorf("invalid default frequency %d: must be > 0", defaultFreq)
	}
	r := &registry{byName: make(map[string]*Metric, len(cfgs)), defaultFreq: defaultFreq, strict: strict}
	for _, c := range cfgs {
		if c.Frequency <= 0 {
			return nil, fmt.Errorf("metric %q: invalid frequency %d: must be > 0", c.Name, c.Frequency)
		}
		r.byName[c.Name] = &Metric{Name: c.Name, Frequency: c.Frequency, Aggregation: c.Aggregation, Configured: true}
	}
	return r, nil
}

// lookup returns the metric named name, or nil.
func (r *registry) lookup(name []byte) *Metric {
	r.mu.RLock()
	m := r.byName[string(name)]
	r.mu.RUnlock()
	return m
}

// lookupOrRegister returns the metric named name, registering it with the
// default frequency unless the registry is strict.
func (r *registry) lookupOrRegister(name []byte) (*Metric, error) {
	if m := r.lookup(name); m != nil {
		return m, nil
	}
	if r.strict {
		return nil, ErrUnknownMetric
	}
	if len(name) == 0 {
		return nil, fmt.Errorf("%w: empty metric name", ErrInvalidName)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.byName[string(name)]; m != nil {
		return m, nil
	}
	// Auto-registered metrics are summed over children, the common case for
	// the per-core and per-socket counters collectors send.
	m := &Metric{Name: string(name), Frequency: r.defaultFreq, Aggregation: AggSum}
	r.byName[m.Name] = m
	return m, nil
}

// all returns a snapshot of every registered metric.
func (r *registry) all() []*Metric {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Metric, 0, len(r.byName))
	for _, m := range r.byName {
		out = append(out, m)
	}
	return out
}
