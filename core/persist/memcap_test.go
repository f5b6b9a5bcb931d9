//go:build !race

// The race detector changes allocation behaviour; `make test` runs this
// file in a separate pass without it.

package persist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// TestMemoryCap ingests about three times the cap; the oldest data goes
// first and the heap never exceeds 1.25 × the cap.
func TestMemoryCap(t *testing.T) {
	const memCap = 48 << 20
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	dir := t.TempDir()
	st := newStore(t)
	m, err := Open(st, Options{SnapshotDir: filepath.Join(dir, "snap"), WALDir: filepath.Join(dir, "wal"),
		Fsync: time.Hour, SnapshotInterval: time.Hour, MaxWALBytes: 1 << 40, MemoryCap: memCap,
		CheckInterval: 10 * time.Millisecond, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st.SetWAL(nil) // measure the store, not the WAL's write buffers

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if h := heapBytes(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	const series, steps = 4000, 2880 // 48 h at 60 s, random floats: ~10 B/sample
	start := time.Now().Add(-48 * time.Hour)
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]core.Key, series)
	for i := range keys {
		keys[i] = core.Key{Cluster: []byte("c"), Host: fmt.Appendf(nil, "h%d", i/64), Scope: [][]byte{fmt.Appendf(nil, "core%d", i%64)}, Metric: []byte("cpu_load")}
	}
	for step := 0; step < steps; step++ {
		app := st.Appender()
		ts := start.Add(time.Duration(step) * time.Minute).UnixMilli()
		for i := range keys {
			app.Append(&keys[i], ts, r.Float64()*1e9)
		}
		app.Commit()
	}
	close(stop)
	wg.Wait()
	if p := peak.Load(); p > memCap*5/4 {
		t.Fatalf("heap peaked at %d MB, cap %d MB", p>>20, memCap>>20)
	}
	// The newest data is still there, the oldest is gone.
	var rd core.Reader
	res, err := st.ReadNative(&rd, &core.NativeQuery{Selector: []core.SelectorElem{{Name: "c"}, {Name: "h0"}, {Name: "core0"}},
		Metric: "cpu_load", From: start.Unix(), To: time.Now().Unix()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.From < start.Add(time.Hour).Unix() || len(res.Data) == 0 {
		t.Fatalf("oldest data kept (from %v, %d points)", time.Unix(res.From, 0), len(res.Data))
	}
	t.Logf("peak heap %d MB for a %d MB cap; data kept from %v", peak.Load()>>20, memCap>>20, time.Unix(res.From, 0).Sub(start).Round(time.Minute))
}
