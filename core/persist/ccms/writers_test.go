package ccms

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Writers of cc-metric-store 1.5.x's formats, byte for byte as documented
// (cc-backend pkg/metricstore: checkpoint.go CheckpointMetrics.MarshalJSON
// and json.Encoder of CheckpointFile; walCheckpoint.go writeBinaryLevel and
// writeWALRecordDirect). Test data only.

// fMetric is one series of a snapshot; NaN is a missing slot (null / f32 NaN).
type fMetric struct {
	name        string
	freq, start int64
	data        []float64
}

// fLevel is one level of a snapshot tree.
type fLevel struct {
	metrics  []fMetric
	children []fChild
}

type fChild struct {
	name string
	lvl  fLevel
}

var nan = math.NaN()

// binSnapshot encodes a <from>.bin file.
func binSnapshot(from, to int64, root fLevel) []byte {
	b := binary.LittleEndian.AppendUint32(nil, binMagic)
	b = binary.LittleEndian.AppendUint64(b, uint64(from))
	b = binary.LittleEndian.AppendUint64(b, uint64(to))
	return binLevel(b, root)
}

func binLevel(b []byte, l fLevel) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(l.metrics)))
	for _, m := range l.metrics {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(m.name)))
		b = append(b, m.name...)
		b = binary.LittleEndian.AppendUint64(b, uint64(m.freq))
		b = binary.LittleEndian.AppendUint64(b, uint64(m.start))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(m.data)))
		for _, v := range m.data {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(l.children)))
	for _, c := range l.children {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(c.name)))
		b = append(b, c.name...)
		b = binLevel(b, c.lvl)
	}
	return b
}

// jsonCheckpoint encodes a <from>.json file as json.Encoder writes the
// CheckpointFile: fields metrics, children, from, to; map keys sorted;
// values 'f', 1 of the float32; NaN as null; a trailing newline.
func jsonCheckpoint(from, to int64, root fLevel) []byte {
	return append(jsonLevelBytes(nil, from, to, root), '\n')
}

func jsonLevelBytes(b []byte, from, to int64, l fLevel) []byte {
	ms := slices.Clone(l.metrics)
	slices.SortFunc(ms, func(a, b fMetric) int { return strings.Compare(a.name, b.name) })
	b = append(b, `{"metrics":{`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, m.name)
		b = append(b, `:{"frequency":`...)
		b = strconv.AppendInt(b, m.freq, 10)
		b = append(b, `,"start":`...)
		b = strconv.AppendInt(b, m.start, 10)
		b = append(b, `,"data":[`...)
		for j, v := range m.data {
			if j > 0 {
				b = append(b, ',')
			}
			if math.IsNaN(v) {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendFloat(b, v, 'f', 1, 32)
			}
		}
		b = append(b, "]}"...)
	}
	b = append(b, `},"children":{`...)
	cs := slices.Clone(l.children)
	slices.SortFunc(cs, func(a, b fChild) int { return strings.Compare(a.name, b.name) })
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c.name)
		b = append(b, ':')
		b = jsonLevelBytes(b, from, to, c.lvl)
	}
	b = append(b, `},"from":`...)
	b = strconv.AppendInt(b, from, 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendInt(b, to, 10)
	return append(b, '}')
}

// walRec is one WAL record.
type walRec struct {
	ts     int64
	metric string
	sel    []string
	v      float64
}

// walPayload encodes the payload of r.
func walPayload(r walRec) []byte {
	p := binary.LittleEndian.AppendUint64(nil, uint64(r.ts))
	p = binary.LittleEndian.AppendUint16(p, uint16(len(r.metric)))
	p = append(p, r.metric...)
	p = append(p, byte(len(r.sel)))
	for _, s := range r.sel {
		p = append(p, byte(len(s)))
		p = append(p, s...)
	}
	return binary.LittleEndian.AppendUint32(p, math.Float32bits(float32(r.v)))
}

// walFrame frames a payload as a record: magic, length, payload, CRC.
func walFrame(p []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, walRecMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
	b = append(b, p...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(p))
}

func walRecord(r walRec) []byte { return walFrame(walPayload(r)) }

// walFile encodes a current.wal from the file magic and raw record bytes.
func walFile(recs ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, walFileMagic)
	for _, r := range recs {
		b = append(b, r...)
	}
	return b
}

// badCRC returns rec with its CRC changed.
func badCRC(rec []byte) []byte {
	rec = slices.Clone(rec)
	rec[len(rec)-1] ^= 0xff
	return rec
}
