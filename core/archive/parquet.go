package archive

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	pq "github.com/parquet-go/parquet-go"
)

// fileRow is the on-disk row: the reference columns, then the optional
// extensions (see the package documentation). parquet-go writes the zero
// value of an optional non-pointer field as null.
type fileRow struct {
	Cluster     string  `parquet:"cluster"`
	Hostname    string  `parquet:"hostname"`
	Metric      string  `parquet:"metric"`
	Scope       string  `parquet:"scope"`
	ScopeID     string  `parquet:"scope_id"`
	Timestamp   int64   `parquet:"timestamp"`
	Frequency   int64   `parquet:"frequency"`
	Value       float32 `parquet:"value"`
	TimestampMS int64   `parquet:"timestamp_ms,optional"`
	Labels      string  `parquet:"labels,optional"`
}

// referenceColumns are the columns every archive has, with their physical
// types; ReadFile checks them before it trusts a file.
var referenceColumns = [...]struct {
	name string
	kind pq.Kind
}{
	{"cluster", pq.ByteArray},
	{"hostname", pq.ByteArray},
	{"metric", pq.ByteArray},
	{"scope", pq.ByteArray},
	{"scope_id", pq.ByteArray},
	{"timestamp", pq.Int64},
	{"frequency", pq.Int64},
	{"value", pq.Float},
}

// Writer writes one archive file: Zstd, one row group per host. It writes
// to a temporary file next to the target (<name>.tmp-<random>) and only
// Commit moves it into place, so a reader never sees a partial archive.
// A Writer is not safe for concurrent use.
type Writer struct {
	path, tmp string
	f         *os.File
	bw        *bufio.Writer
	pw        *pq.GenericWriter[fileRow]
	buf       []fileRow
	rows      int
	cluster   string
	host      string // host of the open row group
	inGroup   bool
	hosts     map[string]bool // hosts with a finished row group
	err       error           // sticky: the first write error
}

// Create starts an archive that Commit will place at path, creating the
// directory (0755) if needed.
func Create(path string) (*Writer, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create archive directory: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create archive file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return &Writer{
		path: path, tmp: f.Name(), f: f, bw: bw,
		pw:    pq.NewGenericWriter[fileRow](bw, pq.Compression(&pq.Zstd)),
		hosts: make(map[string]bool),
	}, nil
}

// Write appends rows to the row group of the current host. All rows of a
// file must share one Cluster, and all rows between two EndHost calls one
// Hostname; a host may have only one row group. After an error the Writer
// is unusable and must be aborted.
func (w *Writer) Write(rows []Row) error {
	if w.err != nil {
		return w.err
	}
	w.buf = w.buf[:0]
	for i := range rows {
		r := &rows[i]
		if err := w.check(r); err != nil {
			w.err = err // the writer is unusable now: Abort it
			return err
		}
		w.buf = append(w.buf, fileRow{
			Cluster: r.Cluster, Hostname: r.Hostname, Metric: r.Metric, Scope: r.Scope, ScopeID: r.ScopeID,
			Timestamp: r.Timestamp, Frequency: r.Frequency, Value: r.Value,
			TimestampMS: r.TimestampMS, Labels: r.Labels,
		})
	}
	if _, err := w.pw.Write(w.buf); err != nil {
		w.err = fmt.Errorf("cannot write archive rows: %w", err)
	}
	clear(w.buf) // drop string references
	w.rows += len(rows)
	return w.err
}

func (w *Writer) check(r *Row) error {
	if w.rows == 0 && !w.inGroup {
		w.cluster = r.Cluster
	}
	switch {
	case r.Cluster != w.cluster:
		return fmt.Errorf("row of cluster %q in the archive of cluster %q", r.Cluster, w.cluster)
	case !w.inGroup:
		if w.hosts[r.Hostname] {
			return fmt.Errorf("host %q already has a row group", r.Hostname)
		}
		w.host, w.inGroup = r.Hostname, true
	case r.Hostname != w.host:
		return fmt.Errorf("row of host %q in the row group of host %q: call EndHost first", r.Hostname, w.host)
	}
	if r.TimestampMS != 0 && r.TimestampMS/1000 != r.Timestamp {
		return fmt.Errorf("timestamp %d does not match timestamp_ms %d", r.Timestamp, r.TimestampMS)
	}
	return nil
}

// EndHost ends the row group of the current host. It does nothing when no
// rows were written since the last call.
func (w *Writer) EndHost() error {
	if w.err != nil {
		return w.err
	}
	if !w.inGroup {
		return nil
	}
	if err := w.pw.Flush(); err != nil {
		w.err = fmt.Errorf("cannot write archive row group: %w", err)
		return w.err
	}
	w.hosts[w.host] = true
	w.inGroup = false
	return nil
}

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int { return w.rows }

// Commit ends the last row group, writes the footer, syncs the file, renames
// it to its path (replacing an older file) and syncs the directory. On error
// the temporary file is removed and nothing is left at path.
func (w *Writer) Commit() error {
	err := w.EndHost()
	if err == nil {
		err = w.pw.Close()
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.f.Chmod(0o644) // CreateTemp uses 0600
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("cannot write archive %s: %w", w.path, err)
	}
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		return fmt.Errorf("cannot write archive %s: %w", w.path, err)
	}
	return nil
}

// Abort discards an archive that was not committed. It is safe to call
// after Commit.
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
		os.Remove(w.tmp)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// HostRows are the rows of one host; each becomes one row group.
type HostRows struct {
	Host string
	Rows []Row
}

// WriteCluster writes one archive file at path atomically, with one row
// group per entry of hosts (entries without rows are skipped), in the order
// given. Every row must carry the entry's Host as Hostname, and all rows one
// cluster. With no rows at all it writes a valid file without row groups.
func WriteCluster(path string, hosts []HostRows) error {
	w, err := Create(path)
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, h := range hosts {
		for i := range h.Rows {
			if h.Rows[i].Hostname != h.Host {
				return fmt.Errorf("row of host %q among the rows of host %q", h.Rows[i].Hostname, h.Host)
			}
		}
		for rows := h.Rows; len(rows) > 0; {
			n := min(len(rows), batchRows)
			if err := w.Write(rows[:n]); err != nil {
				return err
			}
			rows = rows[n:]
		}
		if err := w.EndHost(); err != nil {
			return err
		}
	}
	return w.Commit()
}

// ReadFile reads an archive back, row groups in file order. It also reads
// files written by cc-metric-store (without timestamp_ms and labels): then
// TimestampMS is Timestamp·1000 and Labels is empty, as for null values.
func ReadFile(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := pq.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("cannot open archive %s: %w", path, err)
	}
	if err := checkSchema(pf.Schema()); err != nil {
		return nil, fmt.Errorf("archive %s: %w", path, err)
	}
	r := pq.NewGenericReader[fileRow](pf)
	defer r.Close()
	out := make([]Row, 0, pf.NumRows())
	buf := make([]fileRow, batchRows)
	for {
		n, err := r.Read(buf)
		for _, x := range buf[:n] {
			ms := x.TimestampMS
			if ms == 0 {
				ms = x.Timestamp * 1000
			}
			out = append(out, Row{
				Cluster: x.Cluster, Hostname: x.Hostname, Metric: x.Metric, Scope: x.Scope, ScopeID: x.ScopeID,
				Timestamp: x.Timestamp, Frequency: x.Frequency, Value: x.Value,
				TimestampMS: ms, Labels: x.Labels,
			})
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read archive %s: %w", path, err)
		}
	}
}

// checkSchema verifies that the reference columns are present as leaf
// columns of the expected physical type, so that a foreign file is not
// read as zeros.
func checkSchema(s *pq.Schema) error {
	for _, c := range referenceColumns {
		leaf, ok := s.Lookup(c.name)
		if !ok {
			return fmt.Errorf("column %q is missing", c.name)
		}
		if !leaf.Node.Leaf() || leaf.Node.Type().Kind() != c.kind || leaf.Node.Repeated() {
			return fmt.Errorf("column %q is not a %v column", c.name, c.kind)
		}
	}
	for _, c := range [...]struct {
		name string
		kind pq.Kind
	}{{"timestamp_ms", pq.Int64}, {"labels", pq.ByteArray}} {
		if leaf, ok := s.Lookup(c.name); ok && (!leaf.Node.Leaf() || leaf.Node.Type().Kind() != c.kind || leaf.Node.Repeated()) {
			return fmt.Errorf("column %q is not a %v column", c.name, c.kind)
		}
	}
	return nil
}
