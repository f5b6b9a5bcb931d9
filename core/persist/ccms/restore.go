// Package ccms restores a checkpoint directory written by cc-metric-store
// 1.5.x (cc-backend pkg/metricstore) into a core.Store, so that an operator
// can swap the binary and keep the data.
//
// The directory holds <cluster>/<host>/<from>.json (file-format "json") or
// <cluster>/<host>/<from>.bin plus <cluster>/<host>/current.wal (file-format
// "wal"); the formats are described in bin.go, json.go and wal.go. Restore
// follows the reference's rules (pkg/metricstore/checkpoint.go, fromCheckpoint
// and findFiles): per host it loads the snapshot files whose timestamp is >=
// the cut-off, plus the last file before the cut-off when the cut-off falls
// between two files, in timestamp order; a file whose header/top-level "to"
// is non-zero and before the cut-off is skipped whole; every sample of a
// loaded file is kept, also those before the cut-off. Then current.wal is
// replayed, records older than the cut-off skipped. Subdirectories of a host
// directory (the old Avro layout) and unknown file names are ignored.
//
// Sample i of a snapshot series belongs to time start + i·frequency
// (seconds; the writer's start is the window start raised to the first
// write); it is stored at that time in milliseconds. NaN slots are skipped.
// JSON values are parsed as float64 from their text (the writer printed the
// float32 with one decimal); .bin and WAL values are float32, converted
// exactly with float64(float32).
//
// Metrics unknown to the store are registered with the file's frequency and
// core.AggNone: the files carry no aggregation (neither the JSON
// checkpoint, the .bin snapshot nor the WAL record has a field for it).
// WAL records carry no frequency either: a metric seen only in a WAL is
// registered by the Appender like any first write (the store's default
// frequency). All snapshot files of all hosts are loaded before any WAL is
// replayed, so such a metric gets a file's frequency if any file has it. A
// store with StrictMetrics keeps its metric list: data of other metrics is
// skipped, as the reference does, and counted in a problem.
//
// Differences from the reference, which aborts start-up in several of these
// cases; here nothing is fatal except an unreadable root directory:
//   - A corrupt or truncated .json/.bin file (bad magic, short read, length
//     beyond the end of the file, invalid JSON, nesting deeper than 255
//     levels) is reported in Stats.Problems and contributes nothing (each
//     file is parsed completely before any sample is stored); the reference
//     aborts, after possibly having loaded part of the host.
//   - A file name "<x>.json"/"<x>.bin" whose <x> is not an integer is
//     reported and skipped; the reference aborts.
//   - A non-directory at the first or second level is reported and
//     skipped; the reference aborts. Silently ignored instead are files
//     named <digits>.wal at the second level (our own WAL segments, when
//     our WAL directory sits in the same root).
//   - Symbolic links to cluster or host directories are followed; the
//     reference aborts on them (they are not directories to os.ReadDir).
//   - A cluster or host directory name the store refuses (core's name
//     validation: "..", control characters, longer than 255 bytes) is
//     reported and that host skipped; the reference loads it.
//   - A file whose series start before the data already loaded is merged
//     (our series keep exact timestamps; on equal timestamps the later file
//     wins); the reference aborts ("buffer start time ... is before previous
//     buffer start").
//   - A metric with frequency <= 0, an empty name or timestamps beyond the
//     int64 millisecond range is reported and skipped; the reference loads a
//     zero frequency and divides by it later.
//   - current.wal: a bad record (wrong magic, length over 1 MiB or beyond
//     the end, CRC mismatch, malformed payload) is reported and replay
//     resynchronises on the next record magic; the reference stops at the
//     first one. A torn tail is reported (the reference is quiet).
//   - Files with equal timestamps (e.g. 100.json and 100.bin) are ordered by
//     name; the reference's order is unspecified.
//   - A missing root directory restores nothing and is not created.
//   - Metrics unknown to a non-strict store are registered (see above); the
//     reference skips their data.
package ccms

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Stats reports a restore. Files counts the .json/.bin snapshot files
// loaded (not those skipped for their "to", corruption or a refused host
// name), WALFiles the current.wal files replayed (a valid header; their bad
// records are in Problems), Samples the samples handed to the store (one
// that replaces a sample with the same timestamp counts again). Problems
// lists, in directory order, what was skipped and why.
type Stats struct {
	Files, WALFiles, Samples int
	Problems                 []string
}

// maxDepth bounds the levels below a host (the WAL's selector count is a
// u8, so the reference cannot log deeper levels either).
const maxDepth = 255

// maxProblemsPerFile bounds the problems reported for one file; the rest
// are summarised in one more line.
const maxProblemsPerFile = 10

type hostJob struct {
	cluster, host string
	dir           string
	files         []string // snapshot files to load, in order
	wal           bool     // current.wal present

	problems []string
	bad      bool // cluster or host name refused by the store
}

// Restore loads the cc-metric-store checkpoint directory dir into st with
// workers goroutines (at least one); see the package documentation. It
// returns an error only when dir exists but cannot be listed; everything
// else is reported in Stats.Problems while the rest restores. Call it
// before a WAL is attached to st (core.Store.SetWAL): the restored samples
// are not logged.
func Restore(dir string, st *core.Store, cutoff time.Time, workers int) (Stats, error) {
	var stats Stats
	clusters, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return stats, nil
		}
		return stats, fmt.Errorf("cannot read checkpoint directory: %w", err)
	}
	from := cutoff.Unix()
	var jobs []*hostJob
	for _, c := range clusters {
		cdir := filepath.Join(dir, c.Name())
		if !isDir(c, cdir) {
			stats.Problems = append(stats.Problems, fmt.Sprintf("%s: not a directory (expected <cluster>/<host>/ directories), skipped", c.Name()))
			continue
		}
		hosts, err := os.ReadDir(cdir)
		if err != nil {
			stats.Problems = append(stats.Problems, fmt.Sprintf("%s: %v", c.Name(), err))
			continue
		}
		for _, h := range hosts {
			rel := c.Name() + "/" + h.Name()
			if !isDir(h, filepath.Join(cdir, h.Name())) {
				switch name := h.Name(); {
				case ourWALSegment(name):
				case name == walName || strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".bin"):
					stats.Problems = append(stats.Problems, fmt.Sprintf("%s: not a directory, skipped (cc-metric-store writes the files of a host with an empty name here; they are not restored)", rel))
				default:
					stats.Problems = append(stats.Problems, fmt.Sprintf("%s: not a directory, skipped", rel))
				}
				continue
			}
			jobs = append(jobs, &hostJob{cluster: c.Name(), host: h.Name(), dir: filepath.Join(cdir, h.Name())})
		}
	}

	var files, walFiles, samples atomic.Int64
	run(jobs, workers, st, func(j *hostJob, app *core.Appender) {
		nf, ns := j.loadSnapshots(st, app, from)
		files.Add(int64(nf))
		samples.Add(int64(ns))
	})
	run(jobs, workers, st, func(j *hostJob, app *core.Appender) {
		if !j.wal || j.bad {
			return
		}
		ok, ns := j.replayWAL(st, app, from)
		if ok {
			walFiles.Add(1)
		}
		samples.Add(int64(ns))
	})
	for _, j := range jobs {
		stats.Problems = append(stats.Problems, j.problems...)
	}
	stats.Files, stats.WALFiles, stats.Samples = int(files.Load()), int(walFiles.Load()), int(samples.Load())
	return stats, nil
}

// run calls fn for every job on workers goroutines, each with its own
// appender, committed after every job.
func run(jobs []*hostJob, workers int, st *core.Store, fn func(*hostJob, *core.Appender)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(workers, len(jobs))); w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				app := st.Appender()
				fn(j, app)
				_ = app.Commit() // cannot fail without a WAL attached
			}
		})
	}
	wg.Wait()
}

// isDir reports whether the entry is a directory, following symbolic links.
func isDir(e os.DirEntry, path string) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// ourWALSegment reports whether name is one of our WAL segment files
// (core/persist: %010d.wal).
func ourWALSegment(name string) bool {
	digits, ok := strings.CutSuffix(name, ".wal")
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

type snapFile struct {
	name string
	ts   int64
}

// selectFiles lists the host directory and picks the snapshot files to load,
// in timestamp order, following the reference's findFiles: files with
// ts >= from, plus the last file before from if from lies strictly between
// two files' timestamps.
func (j *hostJob) selectFiles(from int64) error {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return err
	}
	var all []snapFile
	for _, e := range ents {
		if e.IsDir() {
			continue // old Avro layout
		}
		name := e.Name()
		var stem string
		switch {
		case name == "current.wal":
			j.wal = true
			continue
		case strings.HasSuffix(name, ".json"):
			stem = strings.TrimSuffix(name, ".json")
		case strings.HasSuffix(name, ".bin"):
			stem = strings.TrimSuffix(name, ".bin")
		default:
			continue // .bin.tmp, our .snap files, anything else
		}
		ts, err := strconv.ParseInt(stem, 10, 64)
		if err != nil {
			j.problemf("%s: file name is not <unix seconds>.json/.bin, skipped", name)
			continue
		}
		all = append(all, snapFile{name, ts})
	}
	slices.SortFunc(all, func(a, b snapFile) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		return strings.Compare(a.name, b.name)
	})
	for i, f := range all {
		switch {
		case f.ts >= from:
			j.files = append(j.files, f.name)
		case i+1 < len(all) && from < all[i+1].ts:
			j.files = append(j.files, f.name)
		}
	}
	return nil
}

// loadSnapshots loads the host's selected snapshot files in order and
// returns the number of files and samples loaded.
func (j *hostJob) loadSnapshots(st *core.Store, app *core.Appender, from int64) (files, samples int) {
	if err := j.selectFiles(from); err != nil {
		j.problems = append(j.problems, fmt.Sprintf("%s/%s: %v", j.cluster, j.host, err))
		return 0, 0
	}
	for _, name := range j.files {
		if j.bad {
			break
		}
		l := &loader{job: j, st: st, app: app, file: name}
		var loaded bool
		path := filepath.Join(j.dir, name)
		if strings.HasSuffix(name, ".json") {
			loaded = l.loadJSON(path, from)
		} else {
			loaded = l.loadBin(path, from)
		}
		l.flush()
		if loaded && !j.bad {
			files++
		}
		samples += l.samples
	}
	return files, samples
}

// problemf records a problem of the host directory.
func (j *hostJob) problemf(format string, args ...any) {
	j.problems = append(j.problems, j.cluster+"/"+j.host+"/"+fmt.Sprintf(format, args...))
}

// refuse marks the host as unusable after the store refused its cluster or
// host name.
func (j *hostJob) refuse(err error) {
	j.bad = true
	j.problems = append(j.problems, fmt.Sprintf("%s/%s: host skipped: %v", j.cluster, j.host, err))
}

// hostNameError reports whether err is the store refusing the cluster or
// host name (rather than a scope name of one series).
func hostNameError(err error) bool {
	if !errors.Is(err, core.ErrInvalidName) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "cluster name") || strings.Contains(msg, "host name")
}
