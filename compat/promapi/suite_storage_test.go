package promapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

// suiteCluster is the default cluster of test data written through
// promlabels.ToKey; series written that way keep exactly their labels.
const suiteCluster = "promqltest"

// coreStorage is a storage.Storage over a fresh core.Store: writes go
// through the label mapping (promlabels.ToKey) and the store's appender, the
// same path as remote write; reads go through the package's Queryable. It
// lets promqltest run its scripts against the store.
type coreStorage struct {
	st *core.Store
	q  *queryable
}

func newCoreStorage(tb testing.TB) *coreStorage {
	tb.Helper()
	st, err := core.New(core.Options{DefaultFrequency: 60})
	if err != nil {
		tb.Fatal(err)
	}
	return &coreStorage{st: st, q: &queryable{ix: newIndexer(st)}}
}

var errNoHistograms = errors.New("native histograms are not supported by the store")

func (s *coreStorage) Querier(mint, maxt int64) (storage.Querier, error) {
	return s.q.Querier(mint, maxt)
}

func (s *coreStorage) ChunkQuerier(int64, int64) (storage.ChunkQuerier, error) {
	return nil, errors.New("chunk queries are not supported")
}

func (s *coreStorage) Appender(context.Context) storage.Appender {
	return &coreAppenderV1{a: s.newAppender()}
}

func (s *coreStorage) AppenderV2(context.Context) storage.AppenderV2 { return s.newAppender() }

func (s *coreStorage) StartTime() (int64, error) { return math.MinInt64, nil }

func (s *coreStorage) Close() error { return nil }

func (s *coreStorage) newAppender() *coreAppender {
	return &coreAppender{st: s.st}
}

// coreAppender buffers nothing: samples reach the store on Append, as with
// the core appender itself; Rollback cannot undo them (promqltest only
// rolls back after a failed load, which fails the test anyway).
type coreAppender struct {
	st  *core.Store
	app *core.Appender
	key core.Key
	buf []byte
}

func (a *coreAppender) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		return 0, fmt.Errorf("%w: %s", errNoHistograms, ls)
	}
	var err error
	if a.buf, err = seriesKey(ls, suiteCluster, &a.key, a.buf); err != nil {
		return 0, fmt.Errorf("cannot map labels %s: %w", ls, err)
	}
	if a.app == nil {
		a.app = a.st.Appender()
	}
	if err := a.app.Append(&a.key, t, v); err != nil {
		return 0, err
	}
	return 0, nil
}

func (a *coreAppender) Commit() error {
	if a.app == nil {
		return nil
	}
	err := a.app.Commit()
	a.app = nil
	return err
}

func (a *coreAppender) Rollback() error { return a.Commit() }

// coreAppenderV1 serves the deprecated Appender interface; only float
// samples are supported, the other methods are not used by promqltest.
type coreAppenderV1 struct {
	storage.Appender // nil: unsupported methods panic
	a                *coreAppender
}

func (a *coreAppenderV1) Append(ref storage.SeriesRef, ls labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	return a.a.Append(ref, ls, 0, t, v, nil, nil, storage.AppendV2Options{})
}

func (a *coreAppenderV1) Commit() error   { return a.a.Commit() }
func (a *coreAppenderV1) Rollback() error { return a.a.Rollback() }

// seriesKey maps Prometheus labels to a store key (promlabels.ToKey).
var seriesKey = promlabels.ToKey
