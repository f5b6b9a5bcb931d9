package promapi

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// An index rebuilt from its predecessor equals one built from scratch,
// through random writes and frees.
func TestIndexRebuildMatchesCold(t *testing.T) {
	st := newStore(t)
	x := newIndexer(st)
	rng := rand.New(rand.NewPCG(3, 4))
	var prev *index
	freed := 0
	for round := range 40 {
		for range rng.IntN(30) {
			h, m := rng.IntN(8), rng.IntN(5)
			ts := int64(1719859200+round*60) * 1000
			if rng.IntN(2) == 0 {
				writeLP(t, st, fmt.Sprintf("m%d,hostname=h%d,type=core,type-id=%d value=1 %d\n", m, h, rng.IntN(3), ts/1000))
			} else {
				writeRW(t, st, labels.FromStrings("__name__", fmt.Sprintf("m%d", m), "instance", fmt.Sprintf("h%d:9100", h), "job", "j"), core.Sample{T: ts, V: 1})
			}
		}
		if rng.IntN(3) == 0 {
			before := st.NumSeries()
			st.Free([]string{testCluster, fmt.Sprintf("h%d", rng.IntN(8))}, int64(1719859200+round*60)*1000)
			freed += int(before - st.NumSeries())
		}
		warm := x.build(prev)
		cold := x.build(nil)
		if !sameIndex(warm, cold) {
			t.Fatalf("round %d: rebuilt index differs from a cold build", round)
		}
		prev = warm
	}
	if freed == 0 || len(prev.entries) == 0 {
		t.Fatalf("nothing freed (%d) or nothing left (%d)", freed, len(prev.entries))
	}
}

func sameIndex(a, b *index) bool {
	if len(a.entries) != len(b.entries) || len(a.byName) != len(b.byName) {
		return false
	}
	for i := range a.entries {
		if !labels.Equal(a.entries[i].lset, b.entries[i].lset) || !slices.Equal(a.entries[i].series, b.entries[i].series) {
			return false
		}
	}
	for k, v := range a.byName {
		if !slices.Equal(v, b.byName[k]) {
			return false
		}
	}
	return true
}
