package ccms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzDir makes the checkpoint directory of one fuzz process, reused by
// every input (a fuzz function runs one input at a time per process).
func fuzzDir(f *testing.F) string {
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "c", "h"), 0o755); err != nil {
		f.Fatal(err)
	}
	return dir
}

// fuzzRestore writes b as dir/c/h/<name> and restores it: Restore must
// neither panic nor fail.
func fuzzRestore(t *testing.T, dir, name string, b []byte) Stats {
	if err := os.WriteFile(filepath.Join(dir, "c", "h", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, false)
	stats, err := Restore(dir, st, time.Unix(0, 0), 1)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Samples < 0 || stats.Files+stats.WALFiles > 1 {
		t.Fatalf("stats %+v", stats)
	}
	return stats
}

func FuzzRestoreBin(f *testing.F) {
	for p, b := range fixtureFiles() {
		if strings.HasSuffix(p, ".bin") {
			f.Add(b)
		}
	}
	f.Add(binSnapshot(2000, 0, nested(3)))
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		stats := fuzzRestore(t, dir, "2000.bin", b)
		// A loaded file is not also reported corrupt.
		for _, p := range stats.Problems {
			if stats.Files == 1 && strings.Contains(p, "corrupt") {
				t.Fatalf("loaded and corrupt: %v", stats.Problems)
			}
		}
	})
}

func FuzzRestoreWAL(f *testing.F) {
	f.Add(node1WAL())
	f.Add(walFile())
	f.Add(walFile(walRecord(walRec{2000, "m", []string{"socket0", "core1"}, 1.5})))
	dir := fuzzDir(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRestore(t, dir, "current.wal", b)
	})
}
