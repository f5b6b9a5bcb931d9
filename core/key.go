package core

import (
	"errors"
	"math"
)

// Key names one series: its place in the level tree, its metric and any
// labels beyond the tree. Decoders fill a reused Key from their own buffers,
// so every field is a byte slice that the store copies only when it creates a
// new series.
type Key struct {
	Cluster []byte
	Host    []byte
	// Scope holds the sub-levels below the host, e.g. ["socket0", "core1"].
	// It is empty for host-level (type=node) series.
	Scope  [][]byte
	Metric []byte
	// Labels are the extra labels in canonical form: pairs sorted by name,
	// each written as name 0xff value 0xff (see AppendLabel).
	Labels []byte
}

// Reset empties k while keeping its buffers.
func (k *Key) Reset() {
	k.Cluster, k.Host, k.Metric, k.Labels = k.Cluster[:0], k.Host[:0], k.Metric[:0], k.Labels[:0]
	k.Scope = k.Scope[:0]
}

// LabelSep separates names and values in Key.Labels. It cannot occur in
// valid UTF-8, so no label text can forge a boundary.
const LabelSep = 0xff

// AppendLabel appends one name/value pair to a canonical label encoding.
// Callers append pairs in ascending name order.
func AppendLabel(dst []byte, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, LabelSep)
	dst = append(dst, value...)
	return append(dst, LabelSep)
}

// Sentinel errors of the write path; adapters map them to their protocol's
// status codes with errors.Is.
var (
	// ErrUnknownMetric: strict-metrics is on and the metric is not configured.
	ErrUnknownMetric = errors.New("unknown metric")
	// ErrInvalidName: a cluster, host or scope name that cannot be stored
	// (empty where required, too long, or unsafe as a path element).
	ErrInvalidName = errors.New("invalid name")
	// ErrTooManySeries: the configured series limit would be exceeded.
	ErrTooManySeries = errors.New("too many series")
)

// Sample is one timestamped value. T is Unix time in milliseconds.
type Sample struct {
	T int64
	V float64
}

// NoTime marks a missing timestamp in APIs that take an optional one.
const NoTime = math.MinInt64
