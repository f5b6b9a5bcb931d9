package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// WAL records committed batches before writes are acknowledged. The store
// encodes samples; the WAL adds the series definitions it needs and makes
// the bytes durable (package core/persist).
type WAL interface {
	// Log records samples, encoded as a sequence of
	// (uvarint series id, varint time ms, 8-byte little-endian value bits),
	// of the listed series. It returns once the record reached the OS.
	Log(series []*Series, samples []byte) error
}

// SetWAL attaches w; call it before any write is accepted (after restore).
func (st *Store) SetWAL(w WAL) { st.wal = w }

func appendWALSample(dst []byte, id uint64, t int64, v float64) []byte {
	dst = binary.AppendUvarint(dst, id)
	dst = binary.AppendVarint(dst, t)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}

// WALSample decodes the sample at the start of b and returns the rest.
func WALSample(b []byte) (id uint64, t int64, v float64, rest []byte, err error) {
	id, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, 0, nil, errCorruptSample
	}
	b = b[n:]
	t, n = binary.Varint(b)
	if n <= 0 || len(b)-n < 8 {
		return 0, 0, 0, nil, errCorruptSample
	}
	b = b[n:]
	return id, t, math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
}

var errCorruptSample = errors.New("corrupt WAL sample")

// ID returns the series' process-unique id.
func (s *Series) ID() uint64 { return s.id }

// Key returns the canonical key (see ParseKey).
func (s *Series) Key() string { return s.key }

// WALSegment returns the WAL segment (plus one) in which the series was last
// defined; zero when never. Only the WAL writer uses it, under its lock.
func (s *Series) WALSegment() uint64 { return s.walSeg.Load() }

// SetWALSegment records that the series is defined in WAL segment seg-1.
func (s *Series) SetWALSegment(seg uint64) { s.walSeg.Store(seg) }

// ParseKey fills k from a canonical key (Series.Key); k's slices alias b.
func ParseKey(b []byte, k *Key) error {
	k.Reset()
	var parts [4][]byte
	for i := 0; i < 4; i++ {
		j := indexByte(b, 0)
		if j < 0 {
			return fmt.Errorf("invalid series key %q", b)
		}
		parts[i], b = b[:j], b[j+1:]
	}
	k.Cluster, k.Host, k.Metric, k.Labels = parts[0], parts[1], parts[3], b
	for sc := parts[2]; len(sc) > 0; {
		j := indexByte(sc, 1)
		if j < 0 {
			return fmt.Errorf("invalid scope in series key")
		}
		k.Scope = append(k.Scope, sc[:j])
		sc = sc[j+1:]
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// RegisterMetric makes sure a metric exists, registering it with the given
// frequency and aggregation when unknown (restore of auto-registered
// metrics). Configured metrics keep their configuration.
func (st *Store) RegisterMetric(name string, freq int64, agg Aggregation) *Metric {
	if m := st.reg.lookup([]byte(name)); m != nil {
		return m
	}
	r := st.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.byName[name]; m != nil {
		return m
	}
	m := &Metric{Name: name, Frequency: freq, Aggregation: agg}
	r.byName[name] = m
	return m
}
