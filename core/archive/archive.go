// Package archive writes samples of the store to Parquet files in the
// layout of cc-metric-store's "archive" cleanup mode (cc-backend
// pkg/metricstore, v1.5.x): one file per cluster at
// <dir>/<cluster>/<cutoff unix s>.parquet, Zstd-compressed, one row group per
// host, one row per sample in long format.
//
// # Schema
//
// The first eight columns are the reference schema, with the reference's
// names, types, repetition and order:
//
//	cluster    BYTE_ARRAY (STRING) required
//	hostname   BYTE_ARRAY (STRING) required
//	metric     BYTE_ARRAY (STRING) required
//	scope      BYTE_ARRAY (STRING) required
//	scope_id   BYTE_ARRAY (STRING) required
//	timestamp  INT64               required  Unix seconds
//	frequency  INT64               required  seconds
//	value      FLOAT               required
//
// Two optional columns follow; the reference writer does not have them:
//
//	timestamp_ms INT64             optional  exact sample time, Unix ms
//	labels       BYTE_ARRAY (STRING) optional  the series' extra labels
//
// The reference stores slot-aligned seconds, so it needs neither. This store
// keeps exact millisecond timestamps and may hold several series that differ
// only in labels at one level. Without these columns the archive would lose
// precision and would merge such series into rows that cannot be told apart.
// Appending optional columns after the reference columns breaks no reader of
// the reference schema: readers that select columns by name (parquet-go's
// GenericReader on the reference struct, Arrow, DuckDB, pandas) skip them,
// and readers that go by position still find the reference columns at
// indexes 0–7. The tests check this with the reference row struct.
//
// timestamp is the sample time in seconds truncated toward zero
// (timestamp_ms / 1000). timestamp_ms is null when Row.TimestampMS is 0:
// ReadFile then returns Timestamp·1000, and it does the same for files that
// lack the column (files written by cc-metric-store).
//
// labels holds a JSON object {"name":"value",…} with the names in ascending
// order. It is null for series without labels, which is the common case and
// the only one cc-metric-store knows.
//
// All columns use the writer defaults, as the reference does: PLAIN
// encoding, data page v2, page statistics, Zstd on every column chunk.
//
// # Row order
//
// Hosts come in natural order (the order of core.Level.Children), one row
// group each; hosts without rows get no row group. Within a host, levels come
// depth first: the host's own series (scope "node") and then each child level
// in natural order, followed by its children. Within a level, series are
// ordered by metric name, then labels; samples by time. The reference writes
// the same grouping per checkpoint file, but it sorts child names as plain
// strings; no reader may rely on the order, and the files declare no sorting
// columns.
//
// # Scopes
//
// Host-level series get scope "node" and an empty scope_id. A child level's
// name is split by SplitScope; a level below a child (socket0/core1) is named
// by its own name only, so it loses its parent, and rows of socket0/core1 and
// of a top-level core1 look alike. That is the reference's behaviour.
package archive

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Row is one archived sample.
type Row struct {
	Cluster, Hostname, Metric, Scope, ScopeID string
	// Timestamp is the sample time in Unix seconds, truncated.
	Timestamp int64
	// Frequency is the metric's frequency in seconds.
	Frequency int64
	Value     float32
	// TimestampMS is the exact sample time in Unix milliseconds (column
	// timestamp_ms). 0 means unknown: the column is then null, and ReadFile
	// returns Timestamp·1000. When set, TimestampMS/1000 must equal Timestamp.
	TimestampMS int64
	// Labels is the series' extra labels as a JSON object with the names in
	// ascending order (column labels), "" for none (null in the file).
	Labels string
}

// scopes are the prefixes SplitScope recognises, in the reference's order.
var scopes = [...]struct{ prefix, scope string }{
	{"socket", "socket"},
	{"memoryDomain", "memoryDomain"},
	{"core", "core"},
	{"hwthread", "hwthread"},
	{"cpu", "hwthread"},
	{"accelerator", "accelerator"},
}

// SplitScope maps a child level name to (scope, scope_id) as cc-metric-store
// does: a known prefix (socket, memoryDomain, core, hwthread, cpu, accelerator)
// followed by an id that starts with a decimal digit gives (scope, id), with
// cpu mapped to hwthread; any other name gives (name, "").
//
// Accelerator ids are PCI addresses, e.g. accelerator00000000:3B:00.0 →
// ("accelerator", "00000000:3B:00.0"). Like the reference, an id that starts
// with a hex letter (acceleratorab:00.0) is not recognised.
func SplitScope(name string) (scope, id string) {
	for _, p := range scopes {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return p.scope, rest
		}
	}
	return name, ""
}

// ClusterError reports that the archive of one cluster failed. ArchiveStore
// returns one per failed cluster, joined with errors.Join; find them with
// errors.As or by unwrapping. The data of such a cluster must not be freed.
type ClusterError struct {
	Cluster string
	Err     error
}

func (e *ClusterError) Error() string {
	return fmt.Sprintf("cannot archive cluster %q: %v", e.Cluster, e.Err)
}

func (e *ClusterError) Unwrap() error { return e.Err }

// Path returns the archive file of cluster for cutoff:
// <dir>/<cluster>/<cutoff unix s>.parquet.
func Path(dir, cluster string, cutoff time.Time) string {
	return filepath.Join(dir, cluster, strconv.FormatInt(cutoff.Unix(), 10)+".parquet")
}

// ArchiveStore writes the samples of st older than cutoff to
// <dir>/<cluster>/<cutoff unix s>.parquet for every cluster (see Path) and
// returns the number of rows written. NaN samples are skipped; a cluster
// without rows gets no file. It only reads the store: the caller frees the
// archived data afterwards, and only for clusters that succeeded; a failed
// cluster is reported as a *ClusterError and has no file, while the others
// are still written. Writes that go on meanwhile are safe; samples older
// than cutoff that arrive during the run may or may not be included.
func ArchiveStore(dir string, st *core.Store, cutoff time.Time) (rows int, err error) {
	return ArchiveRange(dir, st, time.Time{}, cutoff)
}

// ArchiveRange is ArchiveStore for the samples from from (inclusive; the
// zero time means from the beginning) to cutoff: successive rounds pass the
// previous cutoff, so that samples kept in memory past a round (they share a
// chunk with newer ones) are not archived twice.
func ArchiveRange(dir string, st *core.Store, from, cutoff time.Time) (rows int, err error) {
	var errs []error
	for _, c := range st.Root().Children() {
		_, n, err := archiveCluster(dir, c, from, cutoff)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows += n
	}
	return rows, errors.Join(errs...)
}

// ArchiveCluster writes the samples of one cluster level (a child of
// core.Store.Root) older than cutoff to Path(dir, cluster.Name(), cutoff). It
// returns the path written ("" when the cluster has no rows, and then no file
// or directory is created) and the number of rows. Errors are *ClusterError.
func ArchiveCluster(dir string, cluster *core.Level, cutoff time.Time) (path string, rows int, err error) {
	return archiveCluster(dir, cluster, time.Time{}, cutoff)
}

func archiveCluster(dir string, cluster *core.Level, from, cutoff time.Time) (path string, rows int, err error) {
	name := cluster.Name()
	fail := func(err error) (string, int, error) {
		return "", 0, &ClusterError{Cluster: name, Err: err}
	}
	if name == "" || name == "." {
		// Both would put the file into dir itself (or next to other clusters).
		return fail(fmt.Errorf("cluster name %q cannot name an archive directory", name))
	}
	path = Path(dir, name, cutoff)
	a := archiver{cluster: name, path: path, mint: math.MinInt64, maxt: ceilMilli(cutoff)}
	if !from.IsZero() {
		a.mint = ceilMilli(from)
	}
	defer a.abort()
	for _, h := range cluster.Children() {
		if err := a.host(h); err != nil {
			return fail(err)
		}
	}
	if a.w == nil {
		return "", 0, nil
	}
	rows = a.w.Rows()
	err = a.w.Commit()
	a.w = nil
	if err != nil {
		return fail(err)
	}
	return path, rows, nil
}

// ceilMilli returns t in Unix ms rounded up, so that "older than t" is
// "before ceilMilli(t)" for millisecond timestamps.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// batchRows is the number of rows handed to the Parquet writer at once.
const batchRows = 4096

type archiver struct {
	cluster, path string
	mint, maxt    int64 // [mint, maxt) in ms
	w             *Writer
	batch         []Row
	ts            []int64
	vs            []float64
	hostname      string
}

// abort removes the temporary file of an unfinished archive.
func (a *archiver) abort() {
	if a.w != nil {
		a.w.Abort()
	}
}

func (a *archiver) host(h *core.Level) error {
	a.hostname = h.Name()
	if err := a.level(h, "node", ""); err != nil {
		return err
	}
	if err := a.flush(); err != nil {
		return err
	}
	if a.w == nil {
		return nil
	}
	return a.w.EndHost()
}

// level writes the series of l and then those of its children, depth first.
func (a *archiver) level(l *core.Level, scope, id string) error {
	series := l.Series()
	slices.SortFunc(series, func(x, y *core.Series) int {
		return cmp.Or(strings.Compare(x.Metric().Name, y.Metric().Name), strings.Compare(x.Labels(), y.Labels()))
	})
	for _, s := range series {
		if err := a.series(s, scope, id); err != nil {
			return err
		}
	}
	for _, c := range l.Children() {
		cs, cid := SplitScope(c.Name())
		if err := a.level(c, cs, cid); err != nil {
			return err
		}
	}
	return nil
}

func (a *archiver) series(s *core.Series, scope, id string) error {
	a.ts, a.vs = s.AppendRange(a.ts[:0], a.vs[:0], a.mint, a.maxt)
	m := s.Metric()
	labels := labelsJSON(s.Labels())
	for i, t := range a.ts {
		v := a.vs[i]
		if math.IsNaN(v) {
			continue
		}
		a.batch = append(a.batch, Row{
			Cluster: a.cluster, Hostname: a.hostname, Metric: m.Name, Scope: scope, ScopeID: id,
			Timestamp: t / 1000, Frequency: m.Frequency, Value: float32(v),
			TimestampMS: t, Labels: labels,
		})
		if len(a.batch) == batchRows {
			if err := a.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush hands the batch to the writer, creating the file on the first rows.
func (a *archiver) flush() error {
	if len(a.batch) == 0 {
		return nil
	}
	if a.w == nil {
		w, err := Create(a.path)
		if err != nil {
			return err
		}
		a.w = w
	}
	err := a.w.Write(a.batch)
	clear(a.batch)
	a.batch = a.batch[:0]
	return err
}

// labelsJSON turns canonical labels (core.Key.Labels: name 0xff value 0xff
// …, sorted by name) into a JSON object that keeps their order, "" for none.
// Invalid UTF-8 in names or values becomes U+FFFD, as in any JSON text.
func labelsJSON(canon string) string {
	if canon == "" {
		return ""
	}
	sep := string([]byte{core.LabelSep})
	parts := strings.Split(strings.TrimSuffix(canon, sep), sep)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i := 0; i+1 < len(parts); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		enc.Encode(parts[i]) // strings always encode
		b.Truncate(b.Len() - 1)
		b.WriteByte(':')
		enc.Encode(parts[i+1])
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.String()
}
