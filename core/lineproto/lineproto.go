// Package lineproto turns a line-protocol body into samples for the store,
// with the ClusterCockpit mapping of tags to the level tree. It is shared by
// the native /api/write endpoint, NATS ingestion and the Influx /write
// endpoints.
//
// A body is decoded in memory (the caller bounds its size) with the
// influxdata/line-protocol/v2 decoder. Every sample is handed to an Appender
// as a core.Key built in reused buffers, so decoding allocates nothing per
// line once a Decoder has warmed up.
//
// Mapping (see DESIGN.md, "Data model and mapping"):
//
//   - measurement → metric. Native mode accepts only the field "value";
//     Influx mode maps field "value" to the measurement and any other field
//     f to "measurement_f".
//   - tag cluster → Key.Cluster (else Options.DefaultCluster); hostname,
//     else host → Key.Host; type/type-id/type_id → first scope element
//     (type=node: host level), stype/stype-id/stype_id → second element;
//     every other tag → Key.Labels in canonical form.
//   - timestamps → Unix milliseconds (Native: unit guessed from magnitude;
//     Influx: Options.Precision).
package lineproto

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// DefaultMaxLineBytes bounds one physical line of a body when
// Options.MaxLineBytes is 0. cc-metric-collector lines are about 100 bytes
// and Telegraf lines with dozens of fields a few KiB, so 64 KiB leaves wide
// headroom while bounding the per-line scratch memory (escape buffer, tag and
// field tables) that a hostile body can make a Decoder hold.
const DefaultMaxLineBytes = 64 << 10

// Appender receives decoded samples. k and its slices are only valid during
// the call and must not be modified.
type Appender interface {
	Append(k *core.Key, t int64, v float64) error // t: Unix milliseconds
}

// MetricFilter may be implemented by an Appender. In Native mode the decoder
// then asks it about each measurement before reading the rest of the line,
// and skips lines of unknown metrics without parsing them (counted in
// Stats.Skipped), as cc-metric-store does: such a line cannot fail the
// request even if it is malformed after the measurement.
type MetricFilter interface {
	KnownMetric(metric []byte) bool
}

// Mode selects the mapping rules.
type Mode uint8

const (
	// Native follows cc-metric-store: only the field "value", numbers only,
	// timestamp unit detected from its magnitude.
	Native Mode = iota
	// Influx follows InfluxDB clients such as Telegraf: every field is a
	// sample (metric "measurement_field", or "measurement" for field
	// "value"), booleans become 1/0, strings are skipped, timestamps use
	// Options.Precision.
	Influx
)

func (m Mode) String() string {
	switch m {
	case Native:
		return "native"
	case Influx:
		return "influx"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Options configure one Decode call.
type Options struct {
	Mode Mode
	// DefaultCluster is used for lines without a cluster tag
	// (from ?cluster= or the configuration).
	DefaultCluster []byte
	// Now is the receive time in Unix milliseconds, used for lines without a
	// timestamp. 0 means the time of the Decode call. In Influx mode it is
	// truncated to Precision, as InfluxDB does.
	Now int64
	// Precision is the timestamp unit in Influx mode (zero value:
	// nanoseconds, the InfluxDB default). Native mode ignores it.
	Precision Precision
	// MaxLineBytes bounds every physical line (without its line ending);
	// 0 means DefaultMaxLineBytes.
	MaxLineBytes int
}

// Stats count what one Decode call did.
type Stats struct {
	// Lines counts entries (not comments or blank lines) fully processed.
	Lines int
	// Samples counts samples the Appender accepted.
	Samples int
	// Skipped counts samples not stored without failing the request:
	// metrics the Appender rejected with core.ErrUnknownMetric (strict mode)
	// or that a MetricFilter declined, and string fields in Influx mode.
	Skipped int
}

// span locates bytes in Decoder.arena; an empty span means "absent" (line
// protocol does not allow empty tag values, keys or measurements).
type span struct{ off, end int }

func (s span) ok() bool { return s.end > s.off }

// item is a tag (k, v) or a field (k, val, isStr) of the current line.
type item struct {
	k, v  span
	val   float64
	isStr bool
}

// Decoder decodes line-protocol bodies. It keeps its buffers between calls,
// so reuse it (or use the package-level Decode, which pools Decoders). The
// zero value is ready to use. A Decoder is not safe for concurrent use.
type Decoder struct {
	// lp is made anew per body: lp/v2 has no Reset, so that costs one
	// 512-byte allocation per body, not per line.
	lp lineprotocol.Decoder

	// body is the slice given to lp; bodyLast points at the last byte of its
	// backing array, to recognise tokens that lp returns without copying.
	body     []byte
	bodyLast *byte
	// Offsets in body of the first and the latest token seen without
	// escapes, used to name the line of an error (see lineOfEntry).
	entryAnchor, lastAnchor, prevAnchor int

	arena   []byte // copies of the current line's names and values
	meas    span
	cluster span
	host    span
	hostTag span // "host" when "hostname" is also present it becomes a label
	typ     span
	typeID  span
	stype   span
	stypeID span
	labels  []item
	fields  []item // Influx mode
	value   float64
	haveVal bool // Native mode

	scope  [][]byte
	metric []byte
	lbuf   []byte
	key    core.Key

	// lineBase is the number of lines of body before the part given to lp
	// (the fast path may have decoded them, see fast.go).
	lineBase int
	// noFast makes Decode use lp/v2 for every line and no series cache
	// (tests compare both paths).
	noFast bool
	// Series cache of the fast path (see fast.go).
	cache        map[string]*core.Series
	cacheMode    Mode
	cacheCluster []byte
	cacheRoot    *core.Level // root level of the store the series belong to
	cacheChecked bool        // cacheRoot confirmed for the current Decode call
	ckey         []byte
	fser         []*core.Series
}

// NewDecoder returns a Decoder with its buffers allocated.
func NewDecoder() *Decoder {
	return &Decoder{
		arena:  make([]byte, 0, 1024),
		labels: make([]item, 0, 16),
		fields: make([]item, 0, 16),
		scope:  make([][]byte, 0, 2),
		metric: make([]byte, 0, 128),
		lbuf:   make([]byte, 0, 256),
	}
}

// Buffers grown beyond these sizes by an unusual body are released after the
// call instead of being kept for the next one.
const (
	maxKeepBytes = 2 * DefaultMaxLineBytes
	maxKeepItems = 1024
)

// Reset drops every reference to the last body and options and releases
// buffers grown beyond the usual size. Decode already does this when it
// returns (even if the Appender panics); PutDecoder calls it too. The
// Decoder stays usable.
func (d *Decoder) Reset() { d.finish() }

var pool = sync.Pool{New: func() any { return NewDecoder() }}

// GetDecoder takes a Decoder from a package pool; return it with PutDecoder.
func GetDecoder() *Decoder { return pool.Get().(*Decoder) }

// PutDecoder returns d to the pool. d must not be used afterwards.
func PutDecoder(d *Decoder) {
	d.Reset()
	pool.Put(d)
}

// Decode decodes body with a pooled Decoder; see Decoder.Decode.
func Decode(body []byte, opt Options, app Appender) (Stats, error) {
	d := GetDecoder()
	st, err := d.Decode(body, opt, app)
	PutDecoder(d)
	return st, err
}

// Decode decodes every line of body and passes its samples to app.
//
// It stops at the first bad line and returns a *LineError naming it; the
// samples of the lines before it have already been passed to app. If app
// returns core.ErrUnknownMetric the sample is counted as skipped and
// decoding goes on; any other error from app stops decoding and is returned
// as a *LineError wrapping it. Errors in opt itself are returned as plain
// errors.
func (d *Decoder) Decode(body []byte, opt Options, app Appender) (st Stats, err error) {
	if opt.Mode > Influx {
		return st, fmt.Errorf("lineproto: invalid mode %d", opt.Mode)
	}
	if opt.Precision > Hour {
		return st, fmt.Errorf("lineproto: invalid precision %d", opt.Precision)
	}
	maxLine := opt.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	if opt.Now == 0 {
		opt.Now = time.Now().UnixMilli()
	}
	if opt.Mode == Influx {
		opt.Now = opt.Precision.truncate(opt.Now)
	}

	// Find the first line over the limit up front and decode only the lines
	// before it, so that they are stored just as before any other bad line.
	var long *LineError
	if len(body) > maxLine {
		if line, off := firstLongLine(body, maxLine); line > 0 {
			long = &LineError{Line: line, Err: &reasonError{ErrLineTooLong,
				fmt.Sprintf("line exceeds %d bytes", maxLine)}}
			body = body[:off]
		}
	}

	d.start(body)
	defer d.finish()
	var filter MetricFilter
	if opt.Mode == Native {
		filter, _ = app.(MetricFilter)
	}
	off := 0
	if !d.noFast && bytes.IndexByte(body, '\\') < 0 && bytes.IndexByte(body, '"') < 0 {
		var err error
		if off, err = d.fast(body, &opt, app, filter, &st); err != nil {
			return st, err
		}
	}
	if off < len(body) {
		// lp/v2 decodes the rest of the body, from the first line the fast
		// path did not take.
		d.lp = *lineprotocol.NewDecoderWithBytes(body[off:])
		d.lineBase = bytes.Count(body[:off], []byte{'\n'})
		for d.lp.Next() {
			if err := d.entry(&opt, app, filter, &st); err != nil {
				return st, err
			}
		}
	}
	if long != nil {
		return st, long
	}
	return st, nil
}

// newLine clears the per-line state.
func (d *Decoder) newLine() {
	d.arena = d.arena[:0]
	d.labels = d.labels[:0]
	d.fields = d.fields[:0]
	d.cluster, d.host, d.hostTag = span{}, span{}, span{}
	d.typ, d.typeID, d.stype, d.stypeID = span{}, span{}, span{}, span{}
	d.haveVal = false
}

// tag records the tag k=v of the current line; hostname collects the
// hostname tag for setHost.
func (d *Decoder) tag(k, v []byte, hostname *span) {
	switch string(k) {
	case "cluster":
		d.cluster = d.copy(v)
	case "hostname":
		*hostname = d.copy(v)
	case "host":
		d.hostTag = d.copy(v)
	case "type":
		d.typ = d.copy(v)
	case "type-id", "type_id":
		d.typeID = d.copy(v)
	case "stype":
		d.stype = d.copy(v)
	case "stype-id", "stype_id":
		d.stypeID = d.copy(v)
	default:
		d.labels = append(d.labels, item{k: d.copy(k), v: d.copy(v)})
	}
}

// setHost picks the host once all tags of the line have been seen.
func (d *Decoder) setHost(hostname span) {
	switch {
	case hostname.ok() && d.hostTag.ok():
		// hostname names the host; host stays a label so that no tag is
		// silently dropped.
		d.host = hostname
		d.labels = append(d.labels, item{k: d.copyString("host"), v: d.hostTag})
	case hostname.ok():
		d.host = hostname
	default:
		d.host = d.hostTag
	}
}

// influxMetric sets d.key.Metric to the metric of field fk of measurement
// meas in Influx mode.
func (d *Decoder) influxMetric(meas, fk []byte) {
	d.metric = append(d.metric[:0], meas...)
	if string(fk) != "value" {
		d.metric = append(d.metric, '_')
		d.metric = append(d.metric, fk...)
	}
	d.key.Metric = d.metric[:len(d.metric):len(d.metric)]
}

// entry decodes one line-protocol entry and appends its samples.
func (d *Decoder) entry(opt *Options, app Appender, filter MetricFilter, st *Stats) error {
	d.prevAnchor, d.entryAnchor = d.lastAnchor, -1
	d.newLine()
	native := opt.Mode == Native

	m, err := d.lp.Measurement()
	if err != nil {
		return d.syntax(err)
	}
	d.anchor(m)
	if filter != nil && !filter.KnownMetric(m) {
		st.Lines++
		st.Skipped++
		return nil // lp.Next skips the rest of the line
	}
	d.meas = d.copy(m)

	var hostname span
	for {
		k, v, err := d.lp.NextTag()
		if err != nil {
			return d.syntax(err)
		}
		if k == nil {
			break
		}
		d.anchor(k)
		d.anchor(v)
		d.tag(k, v, &hostname)
	}
	d.setHost(hostname)

	for {
		k, kind, raw, err := d.lp.NextFieldBytes()
		if err != nil {
			return d.syntax(err)
		}
		if k == nil {
			break
		}
		d.anchor(k)
		d.anchor(raw)
		if native {
			if string(k) != "value" {
				return d.fail(&reasonError{ErrUnknownField,
					fmt.Sprintf("unknown field %q (only \"value\" is accepted)", k)})
			}
			if kind != lineprotocol.String {
				v, err := fieldValue(k, kind, raw) // validates booleans too
				if err != nil {
					return d.fail(err)
				}
				if kind != lineprotocol.Bool {
					d.value, d.haveVal = v, true // several "value" fields: last wins
					continue
				}
			}
			return d.fail(&reasonError{ErrUnsupportedType,
				fmt.Sprintf("unsupported value type %s (only numbers are accepted)", kind)})
		}
		f := item{k: d.copy(k), isStr: kind == lineprotocol.String}
		if !f.isStr {
			if f.val, err = fieldValue(k, kind, raw); err != nil {
				return d.fail(err)
			}
		}
		d.fields = append(d.fields, f)
	}

	tb, err := d.lp.TimeBytes()
	if err != nil {
		return d.syntax(err)
	}
	t := opt.Now
	if tb != nil {
		d.anchor(tb)
		ts, err := parseTimestamp(tb)
		if err != nil {
			return d.fail(err)
		}
		var ok bool
		if native {
			t = nativeMillis(ts)
		} else if t, ok = opt.Precision.toMillis(ts); !ok {
			return d.fail(&reasonError{ErrInvalidTimestamp,
				fmt.Sprintf("timestamp %s out of range for precision %s", tb, opt.Precision)})
		}
	}

	d.buildKey(opt)
	if native {
		if !d.haveVal { // not expected: lp requires a field
			return d.fail(&reasonError{ErrSyntax, "syntax error: missing field (expected key=value)"})
		}
		d.key.Metric = d.bytes(d.meas)
		if err := d.append(app, t, d.value, st); err != nil {
			return err
		}
		st.Lines++
		return nil
	}

	d.fields = d.sortUnique(d.fields) // duplicate field keys: last wins
	meas := d.bytes(d.meas)
	for i := range d.fields {
		f := &d.fields[i]
		if f.isStr {
			st.Skipped++
			continue
		}
		d.influxMetric(meas, d.bytes(f.k))
		if err := d.append(app, t, f.val, st); err != nil {
			return err
		}
	}
	st.Lines++
	return nil
}

// append hands one sample to app and classifies the result.
func (d *Decoder) append(app Appender, t int64, v float64, st *Stats) error {
	err := app.Append(&d.key, t, v)
	switch {
	case err == nil:
		st.Samples++
		return nil
	case errors.Is(err, core.ErrUnknownMetric):
		st.Skipped++
		return nil
	}
	return d.fail(err)
}

// buildKey fills d.key with everything but the metric.
func (d *Decoder) buildKey(opt *Options) {
	// Scope elements go to the arena first; slices into the arena are taken
	// only once it no longer grows.
	var first, second span
	if !(d.typ.ok() && string(d.bytes(d.typ)) == "node") && (d.typ.ok() || d.typeID.ok()) {
		first = d.concat(d.typ, d.typeID)
		if d.stype.ok() || d.stypeID.ok() {
			second = d.concat(d.stype, d.stypeID)
		}
	}

	k := &d.key
	if d.cluster.ok() {
		k.Cluster = d.bytes(d.cluster)
	} else {
		k.Cluster = opt.DefaultCluster[:len(opt.DefaultCluster):len(opt.DefaultCluster)]
	}
	k.Host = d.bytes(d.host)
	d.scope = d.scope[:0]
	if first.ok() {
		d.scope = append(d.scope, d.bytes(first))
		if second.ok() {
			d.scope = append(d.scope, d.bytes(second))
		}
	}
	k.Scope = d.scope[:len(d.scope):len(d.scope)]

	d.labels = d.sortUnique(d.labels)
	d.lbuf = d.lbuf[:0]
	for _, l := range d.labels {
		d.lbuf = core.AppendLabel(d.lbuf, d.bytes(l.k), d.bytes(l.v))
	}
	k.Labels = d.lbuf[:len(d.lbuf):len(d.lbuf)]
}

// sortUnique sorts items by key and keeps only the last of equal keys (in
// line order). Writers usually send sorted keys, so check that first.
func (d *Decoder) sortUnique(items []item) []item {
	strict := true
	for i := 1; i < len(items); i++ {
		if bytes.Compare(d.bytes(items[i-1].k), d.bytes(items[i].k)) >= 0 {
			strict = false
			break
		}
	}
	if strict {
		return items
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return bytes.Compare(d.bytes(a.k), d.bytes(b.k))
	})
	out := items[:0]
	for i := range items {
		if i+1 < len(items) && bytes.Equal(d.bytes(items[i].k), d.bytes(items[i+1].k)) {
			continue
		}
		out = append(out, items[i])
	}
	return out
}

// copy stores b in the arena.
func (d *Decoder) copy(b []byte) span {
	off := len(d.arena)
	d.arena = append(d.arena, b...)
	return span{off, len(d.arena)}
}

func (d *Decoder) copyString(s string) span {
	off := len(d.arena)
	d.arena = append(d.arena, s...)
	return span{off, len(d.arena)}
}

// concat stores a+b in the arena.
func (d *Decoder) concat(a, b span) span {
	off := len(d.arena)
	d.arena = append(d.arena, d.arena[a.off:a.end]...)
	d.arena = append(d.arena, d.arena[b.off:b.end]...)
	return span{off, len(d.arena)}
}

// bytes returns the arena bytes of s, capped so that appending to them
// cannot overwrite the arena.
func (d *Decoder) bytes(s span) []byte { return d.arena[s.off:s.end:s.end] }

// fieldValue converts a numeric or boolean field to float64.
func fieldValue(key []byte, kind lineprotocol.ValueKind, raw []byte) (float64, error) {
	v, err := lineprotocol.NewValueFromBytes(kind, raw)
	if err == nil {
		switch kind {
		case lineprotocol.Float:
			return v.FloatV(), nil
		case lineprotocol.Int:
			return float64(v.IntV()), nil
		case lineprotocol.Uint:
			return float64(v.UintV()), nil
		case lineprotocol.Bool:
			if v.BoolV() {
				return 1, nil
			}
			return 0, nil
		}
	}
	return 0, invalidValue(key, kind, raw, err)
}

func invalidValue(key []byte, kind lineprotocol.ValueKind, raw []byte, err error) error {
	rangeErr := errors.Is(err, lineprotocol.ErrValueOutOfRange)
	var what string
	switch kind {
	case lineprotocol.Float:
		what = "is not a number"
		if rangeErr {
			what = "is out of range"
		} else if f, perr := strconv.ParseFloat(string(raw), 64); perr == nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			what = "is not a finite number"
		}
	case lineprotocol.Int:
		raw = append(raw[:len(raw):len(raw)], 'i')
		what = "is not an integer"
		if rangeErr {
			what = "is out of range for a 64-bit integer"
		}
	case lineprotocol.Uint:
		raw = append(raw[:len(raw):len(raw)], 'u')
		what = "is not an unsigned integer"
		if rangeErr {
			what = "is out of range for a 64-bit unsigned integer"
		}
	default:
		what = "is not a number, a boolean or a quoted string"
	}
	return &reasonError{ErrInvalidValue,
		fmt.Sprintf("invalid field value: %q (field %q) %s", raw, key, what)}
}

// start prepares d for body.
func (d *Decoder) start(body []byte) {
	d.lineBase = 0
	d.cacheChecked = false
	d.body = body
	d.bodyLast = nil
	if c := cap(body); c > 0 {
		d.bodyLast = &body[:c][c-1]
	}
	d.entryAnchor, d.lastAnchor, d.prevAnchor = -1, -1, -1
}

// finish drops references to the body and releases oversized buffers.
func (d *Decoder) finish() {
	d.lp = lineprotocol.Decoder{}
	d.body, d.bodyLast = nil, nil
	d.key = core.Key{}
	clear(d.scope[:cap(d.scope)])
	d.scope = d.scope[:0]
	if cap(d.arena) > maxKeepBytes {
		d.arena = nil
	}
	if cap(d.metric) > maxKeepBytes {
		d.metric = nil
	}
	if cap(d.lbuf) > maxKeepBytes {
		d.lbuf = nil
	}
	if cap(d.labels) > maxKeepItems {
		d.labels = nil
	}
	if cap(d.fields) > maxKeepItems {
		d.fields = nil
	}
	clear(d.fser[:cap(d.fser)])
	if cap(d.fser) > maxKeepItems {
		d.fser = nil
	}
	if cap(d.ckey) > maxKeepBytes {
		d.ckey = nil
	}
}

// firstLongLine returns the 1-based number and the offset of the first line
// of body longer than max bytes (line ending excluded), or 0, 0.
func firstLongLine(body []byte, max int) (line, off int) {
	line = 1
	for off < len(body) {
		i := bytes.IndexByte(body[off:], '\n')
		n := i
		if i < 0 {
			n = len(body) - off
		} else if i > 0 && body[off+i-1] == '\r' {
			n--
		}
		if n > max {
			return line, off
		}
		if i < 0 {
			break
		}
		off += i + 1
		line++
	}
	return 0, 0
}
