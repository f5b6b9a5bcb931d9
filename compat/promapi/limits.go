package promapi

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/prometheus/promql"
)

// Defaults are those of a Prometheus 3.16 server (flags --query.max-samples,
// --query.timeout, --query.max-concurrency, --query.lookback-delta).
const (
	// DefaultMaxSamples bounds the samples one query may hold in memory at
	// once (about 16 B each: 50 M ≈ 800 MB).
	DefaultMaxSamples = 50_000_000
	// DefaultTimeout bounds one query's evaluation; a request's own
	// "timeout" parameter can only shorten it.
	DefaultTimeout = 2 * time.Minute
	// DefaultMaxConcurrent bounds queries evaluated at once; further
	// queries wait for a slot (within their timeout).
	DefaultMaxConcurrent = 20
	// DefaultLookbackDelta is how far an instant selector looks back for a
	// sample; a request's "lookback_delta" parameter overrides it.
	DefaultLookbackDelta = 5 * time.Minute
	// maxPointsPerSeries is Prometheus' fixed bound on (end-start)/step.
	maxPointsPerSeries = 11000
	// maxResponseBufferBytes: response buffers grown beyond this are not
	// pooled, so that one huge answer does not pin its memory.
	maxResponseBufferBytes = 16 << 20
)

// slots is the engine's query tracker: a counting semaphore. Prometheus'
// own tracker also logs active queries to a file for crash reports; this
// one only limits concurrency, which the engine then applies to every
// query exactly as it does with Prometheus' tracker.
type slots chan struct{}

var _ promql.QueryTracker = slots(nil)

func (s slots) GetMaxConcurrent() int { return cap(s) }

// Insert waits for a free slot. A query whose time ran out while waiting
// fails as a timeout (503), one whose client left as canceled (499).
func (s slots) Insert(ctx context.Context, _ string) (int, error) {
	select {
	case s <- struct{}{}:
		return 0, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, promql.ErrQueryTimeout("query queue")
		}
		return 0, promql.ErrQueryCanceled("query queue")
	}
}

func (s slots) Delete(int) { <-s }

func (s slots) Close() error { return nil }
