package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Snapshot file layout (<dir>/<cluster>/<host>/<unix ms>.snap): the magic,
// then one record per series, each
//
//	u32 length | series state (core.Series.AppendSnapshot) | u32 CRC-32C
//
// A corrupt record is reported and skipped; the others restore.
const (
	snapMagic  = "CCMBSNP1"
	snapSuffix = ".snap"
)

// dirName maps a cluster or host name to a directory name. Names are
// validated at ingest (no separators, no ".."), so escaping only has to
// make the empty name representable: "%" is never produced by PathEscape.
func dirName(name string) string {
	if name == "" {
		return "%"
	}
	return url.PathEscape(name)
}

// SnapshotStats reports a snapshot round.
type SnapshotStats struct {
	Hosts, Series int
	Bytes         int64
}

// WriteSnapshot writes one file per host with every series below it, using
// workers goroutines, and then removes older snapshot files (also of hosts
// that no longer exist). Each file is written to a temporary name, fsynced,
// renamed and its directory fsynced.
func WriteSnapshot(dir string, st *core.Store, workers int, now time.Time) (SnapshotStats, error) {
	type job struct{ cluster, host *core.Level }
	var jobs []job
	for _, c := range st.Root().Children() {
		for _, h := range c.Children() {
			jobs = append(jobs, job{c, h})
		}
	}
	stamp := strconv.FormatInt(now.UnixMilli(), 10)
	var (
		stats    SnapshotStats
		series   atomic.Int64
		bytes    atomic.Int64
		firstErr error
		errOnce  sync.Once
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				var n int
				buf, n = appendHost(buf[:0], j.host)
				if n == 0 {
					continue
				}
				path := filepath.Join(dir, dirName(j.cluster.Name()), dirName(j.host.Name()), stamp+snapSuffix)
				if err := writeFileAtomic(path, buf); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				series.Add(int64(n))
				bytes.Add(int64(len(buf)))
			}
		}()
	}
	wg.Wait()
	stats.Hosts, stats.Series, stats.Bytes = len(jobs), int(series.Load()), bytes.Load()
	if firstErr != nil {
		return stats, firstErr
	}
	return stats, removeOlder(dir, now.UnixMilli())
}

// appendHost appends the snapshot of every series below host.
func appendHost(buf []byte, host *core.Level) ([]byte, int) {
	if len(buf) == 0 {
		buf = append(buf, snapMagic...)
	}
	n := 0
	var walk func(l *core.Level)
	walk = func(l *core.Level) {
		for _, s := range l.Series() {
			start := len(buf)
			buf = append(buf, 0, 0, 0, 0)
			buf = s.AppendSnapshot(buf)
			binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
			buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf[start+4:], castagnoli))
			n++
		}
		for _, c := range l.Children() {
			walk(c)
		}
	}
	walk(host)
	return buf, n
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create snapshot directory: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create snapshot: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write snapshot %s: %w", path, err)
	}
	return syncDir(dir)
}

// removeOlder deletes snapshot files older than stamp (ms) and leftovers
// of interrupted writes.
func removeOlder(dir string, stamp int64) error {
	for _, f := range snapshotFiles(dir) {
		if f.stamp < stamp {
			if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("cannot remove old snapshot: %w", err)
			}
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"+snapSuffix+".tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
	return nil
}

type snapFile struct {
	path  string
	stamp int64
}

// snapshotFiles lists <dir>/<cluster>/<host>/<ms>.snap files.
func snapshotFiles(dir string) []snapFile {
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"+snapSuffix))
	out := make([]snapFile, 0, len(paths))
	for _, p := range paths {
		ms, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(p), snapSuffix), 10, 64)
		if err == nil {
			out = append(out, snapFile{p, ms})
		}
	}
	return out
}

// RestoreStats reports a snapshot restore.
type RestoreStats struct {
	Files, Series int
	Bytes         int64
	Problems      []string
}

// RestoreSnapshots loads the newest snapshot file of every host directory,
// with workers goroutines, logging progress every few seconds.
func RestoreSnapshots(dir string, st *core.Store, workers int, log *slog.Logger) RestoreStats {
	newest := map[string]snapFile{}
	for _, f := range snapshotFiles(dir) {
		d := filepath.Dir(f.path)
		if cur, ok := newest[d]; !ok || f.stamp > cur.stamp {
			newest[d] = f
		}
	}
	files := make([]snapFile, 0, len(newest))
	for _, f := range newest {
		files = append(files, f)
	}
	var (
		mu          sync.Mutex
		stats       RestoreStats
		next, done  atomic.Int64
		bytes       atomic.Int64
		wg          sync.WaitGroup
		start       = time.Now()
		stopProgres = make(chan struct{})
	)
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgres:
				return
			case <-t.C:
				mb := float64(bytes.Load()) / 1e6
				log.Info("restoring snapshots", "hosts", done.Load(), "total", len(files),
					"MB", int(mb), "MB/s", int(mb/time.Since(start).Seconds()))
			}
		}
	}()
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				n, size, problems := restoreFile(files[i].path, st)
				bytes.Add(size)
				done.Add(1)
				mu.Lock()
				stats.Files++
				stats.Series += n
				stats.Problems = append(stats.Problems, problems...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stopProgres)
	stats.Bytes = bytes.Load()
	return stats
}

// restoreFile loads one snapshot file; corrupt records are skipped.
func restoreFile(path string, st *core.Store) (series int, size int64, problems []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, []string{fmt.Sprintf("%s: %v", path, err)}
	}
	size = int64(len(data))
	if !strings.HasPrefix(string(data), snapMagic) {
		return 0, size, []string{fmt.Sprintf("%s: %v: not a snapshot", path, ErrCorrupt)}
	}
	for b := data[len(snapMagic):]; len(b) > 0; {
		if len(b) < 8 {
			return series, size, append(problems, fmt.Sprintf("%s: %v: torn record", path, ErrCorrupt))
		}
		n := int64(binary.LittleEndian.Uint32(b))
		if n > int64(len(b)-8) {
			return series, size, append(problems, fmt.Sprintf("%s: %v: torn record", path, ErrCorrupt))
		}
		rec := b[4 : 4+n]
		sum := binary.LittleEndian.Uint32(b[4+n:])
		b = b[8+n:]
		if crc32.Checksum(rec, castagnoli) != sum {
			problems = append(problems, fmt.Sprintf("%s: %v: checksum mismatch, series skipped", path, ErrCorrupt))
			continue
		}
		if err := st.LoadSnapshot(rec); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		series++
	}
	return series, size, problems
}
