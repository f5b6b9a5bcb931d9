package promremote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"unsafe"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/promlabels"
)

// The decoder reads the two request messages straight from the decoded
// body, field by field (field numbers from prompb/types.proto,
// prompb/remote.proto and prompb/io/prometheus/write/v2/types.proto), and
// hands every sample to the store as it goes. Strings alias the body; the
// label set of a series is built in a reused labels.ScratchBuilder and
// placed in the tree by promlabels.ToKey in a reused key, so a warmed-up
// decoder allocates nothing per series (gogo's prompb costs ≈ 23
// allocations per series).

// Field numbers.
const (
	// prometheus.WriteRequest
	fWriteRequestTimeseries = 1
	// prometheus.TimeSeries
	fTSLabels     = 1
	fTSSamples    = 2
	fTSExemplars  = 3
	fTSHistograms = 4
	// prometheus.Label
	fLabelName  = 1
	fLabelValue = 2
	// prometheus.Sample and io.prometheus.write.v2.Sample
	fSampleValue     = 1
	fSampleTimestamp = 2
	// io.prometheus.write.v2.Request
	fRequestSymbols    = 4
	fRequestTimeseries = 5
	// io.prometheus.write.v2.TimeSeries
	fTS2LabelsRefs = 1
	fTS2Samples    = 2
	fTS2Histograms = 3
	fTS2Exemplars  = 4
)

// appender is what the decoder needs of core.Appender.
type appender interface {
	Append(k *core.Key, t int64, v float64) error
}

// kind is a kind of element a request carries.
type kind uint8

const (
	kindSample kind = iota
	kindHistogram
	kindExemplar
	numKinds
)

func (k kind) String() string { return [...]string{"sample", "histogram", "exemplar"}[k] }

// stats count what one request wrote and rejected.
type stats struct {
	samples, histograms, exemplars int // written
	rejected                       [numKinds]int
	badSeries                      int
	ignoredExemplars               int // 1.0 only
	first                          string
}

// reject counts n elements of kind k as not written; reason is called for
// the first problem of the request only, so that a request full of bad
// series formats one message.
func (st *stats) reject(k kind, n int, reason func() string) {
	st.rejected[k] += n
	if st.first == "" {
		st.first = reason()
	}
}

// err is the request's 400 error, nil when everything was written.
func (st *stats) err() error {
	if st.first == "" {
		return nil
	}
	return &statusError{code: http.StatusBadRequest, msg: fmt.Sprintf(
		"remote write data rejected: %d samples, %d histograms, %d exemplars not written (%d samples written); first problem: %s",
		st.rejected[kindSample], st.rejected[kindHistogram], st.rejected[kindExemplar], st.samples, st.first)}
}

// decoder is pooled; reset prepares it for a request.
type decoder struct {
	raw     []byte   // snappy-decoded body
	symbols []string // 2.0 symbol table, aliasing raw
	refs    []uint64 // 2.0 labels_refs of the current series
	sb      labels.ScratchBuilder
	ls      labels.Labels
	key     core.Key
	kbuf    []byte
	app     appender
	cluster string
	// minT and maxT bound accepted timestamps (ms).
	minT, maxT int64
	st         stats
	// cache maps the raw label bytes of a 1.0 series to its stored series,
	// so that a known series skips label decoding, validation and mapping.
	// A decoder serves one API, hence one store and default cluster.
	cache map[string]*core.Series
	ckey  []byte
}

// seriesCacheMax bounds the cache of each pooled decoder (about 200 bytes
// an entry); a full cache is dropped and refilled.
const seriesCacheMax = 100_000

// seriesAppender is implemented by core.Appender: appends to a known series.
type seriesAppender interface {
	LastSeries() *core.Series
	AppendSeries(s *core.Series, t int64, v float64) bool
}

func newDecoder() *decoder {
	return &decoder{sb: labels.NewScratchBuilder(16), kbuf: make([]byte, 0, 256), key: core.Key{Scope: make([][]byte, 0, 2)}}
}

func (d *decoder) reset(cluster string, maxT, minT int64) {
	d.cluster, d.maxT, d.minT = cluster, maxT, minT
	d.st = stats{}
}

// big reports whether the decoder holds buffers too large to pool.
func (d *decoder) big() bool {
	return cap(d.raw) > maxKeepBytes || cap(d.symbols) > maxKeepBytes/16 || cap(d.refs) > maxKeepBytes/8
}

// decode decodes a snappy-compressed request body of the given version
// and appends its samples; limit bounds the decoded size. The returned
// error is a malformed body; rejected elements are in d.st.
func (d *decoder) decode(body []byte, ver version, limit int64) error {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return badRequestf("cannot decode snappy body (block format expected): %v", err)
	}
	if int64(n) > limit {
		return badRequestf("snappy body declares %d decoded bytes, more than the limit of %d bytes", n, limit)
	}
	if cap(d.raw) < n {
		d.raw = make([]byte, n)
	}
	raw, err := snappy.Decode(d.raw[:cap(d.raw)], body)
	if err != nil {
		return badRequestf("cannot decode snappy body (block format expected): %v", err)
	}
	if ver == v2 {
		err = d.decodeV2(raw)
	} else {
		err = d.decodeV1(raw)
	}
	if err != nil {
		return badRequestf("cannot decode remote write %s request (%s): %v", ver, protoName(ver), err)
	}
	return nil
}

func protoName(v version) string {
	if v == v2 {
		return protoV2
	}
	return protoV1
}

func badRequestf(format string, args ...any) error {
	return &statusError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// field is one decoded protobuf field: bytes for length-delimited fields,
// u for varint and fixed-size ones.
type field struct {
	num protowire.Number
	typ protowire.Type
	b   []byte
	u   uint64
}

var errWireType = errors.New("unexpected wire type")

// next consumes the field at the start of b into f and returns the rest.
func next(b []byte, f *field) ([]byte, error) {
	// Fast path: a one-byte tag followed by a one-byte length or a one-byte
	// varint, which is what labels, samples and short series look like.
	if len(b) >= 2 && b[0] < 0x80 && b[0] >= 8 && b[1] < 0x80 {
		num, typ := protowire.Number(b[0]>>3), protowire.Type(b[0]&7)
		switch typ {
		case protowire.BytesType:
			if n := int(b[1]); len(b) >= 2+n {
				f.num, f.typ, f.b, f.u = num, typ, b[2:2+n:2+n], 0
				return b[2+n:], nil
			}
		case protowire.VarintType:
			f.num, f.typ, f.b, f.u = num, typ, nil, uint64(b[1])
			return b[2:], nil
		}
	}
	return nextSlow(b, f)
}

func nextSlow(b []byte, f *field) ([]byte, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return nil, protowire.ParseError(n)
	}
	b = b[n:]
	f.num, f.typ, f.b, f.u = num, typ, nil, 0
	switch typ {
	case protowire.BytesType:
		f.b, n = protowire.ConsumeBytes(b)
		f.b = f.b[:len(f.b):len(f.b)]
	case protowire.VarintType:
		f.u, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		f.u, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var u uint32
		u, n = protowire.ConsumeFixed32(b)
		f.u = uint64(u)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return nil, protowire.ParseError(n)
	}
	return b[n:], nil
}

// wantBytes checks that f is length-delimited.
func wantBytes(f *field, what string) error {
	if f.typ != protowire.BytesType {
		return fmt.Errorf("%s: %w %d", what, errWireType, f.typ)
	}
	return nil
}

// str returns b as a string without copying; it aliases the decoded body.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// decodeV1 walks a prometheus.WriteRequest. Metadata (field 3) is skipped.
func (d *decoder) decodeV1(b []byte) error {
	var f field
	for len(b) > 0 {
		var err error
		if b, err = next(b, &f); err != nil {
			return err
		}
		if f.num != fWriteRequestTimeseries {
			continue
		}
		if err := wantBytes(&f, "timeseries"); err != nil {
			return err
		}
		if err := d.seriesV1(f.b); err != nil {
			return err
		}
	}
	return nil
}

// labelCheck collects problems of a label set while it is added.
type labelCheck struct {
	n        int
	prev     string
	unsorted bool
	problem  string
}

func (c *labelCheck) add(name, value string) {
	c.n++
	switch {
	case c.problem != "":
	case c.n > MaxLabelsPerSeries:
		c.problem = fmt.Sprintf("more than %d labels", MaxLabelsPerSeries)
	case len(name) > MaxLabelNameBytes:
		c.problem = fmt.Sprintf("label name of %d bytes, more than %d", len(name), MaxLabelNameBytes)
	case len(value) > MaxLabelValueBytes:
		c.problem = fmt.Sprintf("label %s has a value of %d bytes, more than %d", name, len(value), MaxLabelValueBytes)
	}
	if name < c.prev {
		c.unsorted = true
	}
	c.prev = name
}

// seriesV1 stores one prometheus.TimeSeries.
func (d *decoder) seriesV1(b []byte) error {
	sa, _ := d.app.(seriesAppender)
	keyed := false
	if sa != nil {
		var done bool
		if done, keyed = d.cachedV1(b, sa); done {
			return nil
		}
	}
	stored := d.st.samples
	if err := d.slowV1(b); err != nil {
		return err
	}
	if keyed && d.st.samples > stored {
		if len(d.cache) >= seriesCacheMax || d.cache == nil {
			d.cache = make(map[string]*core.Series)
		}
		d.cache[string(d.ckey)] = sa.LastSeries()
	}
	return nil
}

// cachedV1 appends the samples of a series whose raw labels are cached. It
// reports done when it stored the series, and keyed when d.ckey holds the
// series' raw label key (for the slow path to cache its result). Anything
// unusual (a malformed field, histograms, samples out of the accepted time
// range, an unknown or deleted series) is left to the slow path, which
// decodes and reports it in full.
func (d *decoder) cachedV1(b []byte, sa seriesAppender) (done, keyed bool) {
	var f field
	d.ckey = d.ckey[:0]
	nSamples, nExemplars := 0, 0
	for rest := b; len(rest) > 0; {
		var err error
		if rest, err = next(rest, &f); err != nil {
			return false, false
		}
		if (f.num == fTSLabels || f.num == fTSSamples) && wantBytes(&f, "") != nil {
			return false, false
		}
		switch f.num {
		case fTSLabels:
			d.ckey = binary.AppendUvarint(d.ckey, uint64(len(f.b)))
			d.ckey = append(d.ckey, f.b...)
		case fTSSamples:
			t, _, err := sample(f.b)
			if err != nil || t > d.maxT || t < d.minT {
				return false, true
			}
			nSamples++
		case fTSExemplars:
			nExemplars++
		case fTSHistograms:
			return false, true
		}
	}
	s := d.cache[string(d.ckey)]
	if s == nil || nSamples == 0 {
		return false, true
	}
	for rest := b; len(rest) > 0; {
		rest, _ = next(rest, &f)
		if f.num != fTSSamples {
			continue
		}
		t, v, _ := sample(f.b)
		if !sa.AppendSeries(s, t, v) {
			// Deleted meanwhile (retention, /api/free): the first append
			// to it failed, nothing was stored; the slow path recreates it.
			delete(d.cache, string(d.ckey))
			return false, true
		}
		d.st.samples++
	}
	d.st.ignoredExemplars += nExemplars
	return true, true
}

// slowV1 decodes a 1.0 series in full: labels, validation, tree placement.
func (d *decoder) slowV1(b []byte) error {
	var f field
	var lc labelCheck
	var nSamples, nExemplars, nHistograms int
	d.sb.Reset()
	for rest := b; len(rest) > 0; {
		var err error
		if rest, err = next(rest, &f); err != nil {
			return err
		}
		switch f.num {
		case fTSLabels:
			if err := wantBytes(&f, "label"); err != nil {
				return err
			}
			name, value, err := labelV1(f.b)
			if err != nil {
				return err
			}
			lc.add(name, value)
			if lc.problem == "" {
				d.sb.Add(name, value)
			}
		case fTSSamples:
			if err := wantBytes(&f, "sample"); err != nil {
				return err
			}
			nSamples++
		case fTSExemplars:
			nExemplars++
		case fTSHistograms:
			nHistograms++
		}
	}
	d.st.ignoredExemplars += nExemplars
	if !d.series(&lc, nSamples, nHistograms, 0) {
		return nil
	}
	return d.samples(b, fTSSamples)
}

// labelV1 decodes a prometheus.Label.
func labelV1(b []byte) (name, value string, err error) {
	var f field
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return "", "", err
		}
		switch f.num {
		case fLabelName, fLabelValue:
			if err := wantBytes(&f, "label name or value"); err != nil {
				return "", "", err
			}
			if f.num == fLabelName {
				name = str(f.b)
			} else {
				value = str(f.b)
			}
		}
	}
	return name, value, nil
}

// series finishes the label set of a series and places it in the tree. It
// counts the elements that cannot be written (the whole series for a bad
// label set, histograms and 2.0 exemplars always) and reports whether the
// samples can be appended.
func (d *decoder) series(lc *labelCheck, nSamples, nHistograms, nExemplars int) bool {
	var err error
	if lc.problem == "" {
		if lc.unsorted {
			d.sb.Sort()
		}
		d.sb.Overwrite(&d.ls)
		d.kbuf, err = promlabels.ToKey(d.ls, d.cluster, &d.key, d.kbuf)
	}
	if lc.problem != "" || err != nil {
		d.st.badSeries++
		reason := func() string {
			if lc.problem != "" {
				return "series with " + lc.problem
			}
			return fmt.Sprintf("series %s: %v", d.ls.String(), err)
		}
		d.st.reject(kindSample, nSamples, reason)
		d.st.reject(kindHistogram, nHistograms, reason)
		d.st.reject(kindExemplar, nExemplars, reason)
		return false
	}
	if nHistograms > 0 {
		d.st.reject(kindHistogram, nHistograms, func() string {
			return fmt.Sprintf("series %s: native histograms are not supported, this store keeps float samples only", d.ls.String())
		})
	}
	if nExemplars > 0 {
		d.st.reject(kindExemplar, nExemplars, func() string {
			return fmt.Sprintf("series %s: exemplars are not stored (set send_exemplars: false)", d.ls.String())
		})
	}
	return nSamples > 0
}

// samples appends the samples (field num of the series message b) to the
// series in d.key. v1 and v2 samples share the value and timestamp fields;
// the v2 start timestamp (field 3) is ignored.
func (d *decoder) samples(b []byte, num protowire.Number) error {
	var f field
	for len(b) > 0 {
		var err error
		if b, err = next(b, &f); err != nil {
			return err
		}
		if f.num != num {
			continue
		}
		t, v, err := sample(f.b)
		if err != nil {
			return err
		}
		switch {
		case t > d.maxT:
			d.st.reject(kindSample, 1, func() string {
				return fmt.Sprintf("series %s: sample at %d ms is more than %v in the future", d.ls.String(), t, MaxAhead)
			})
			continue
		case t < d.minT:
			d.st.reject(kindSample, 1, func() string {
				return fmt.Sprintf("series %s: sample at %d ms is older than the retention", d.ls.String(), t)
			})
			continue
		}
		if err := d.app.Append(&d.key, t, v); err != nil {
			// The store refuses the series itself (strict metrics, name
			// limits): its other samples would fail alike.
			d.st.reject(kindSample, 1+countField(b, num), func() string {
				if errors.Is(err, core.ErrUnknownMetric) {
					return fmt.Sprintf("series %s: metric %q is not configured (strict-metrics)", d.ls.String(), d.key.Metric)
				}
				return fmt.Sprintf("series %s: cannot store sample: %v", d.ls.String(), err)
			})
			return nil
		}
		d.st.samples++
	}
	return nil
}

// countField counts the fields numbered num in b (already validated).
func countField(b []byte, num protowire.Number) int {
	var f field
	n := 0
	for len(b) > 0 {
		var err error
		if b, err = next(b, &f); err != nil {
			return n
		}
		if f.num == num {
			n++
		}
	}
	return n
}

// sample decodes a Sample message: value (double, 1), timestamp (int64, 2).
func sample(b []byte) (t int64, v float64, err error) {
	var f field
	var bits uint64
	for len(b) > 0 {
		if b, err = next(b, &f); err != nil {
			return 0, 0, err
		}
		switch f.num {
		case fSampleValue:
			if f.typ != protowire.Fixed64Type {
				return 0, 0, fmt.Errorf("sample value: %w %d", errWireType, f.typ)
			}
			bits = f.u
		case fSampleTimestamp:
			if f.typ != protowire.VarintType {
				return 0, 0, fmt.Errorf("sample timestamp: %w %d", errWireType, f.typ)
			}
			t = int64(f.u)
		}
	}
	// The bits are kept as they are: a stale marker stays a stale marker.
	return t, math.Float64frombits(bits), nil
}

// decodeV2 walks an io.prometheus.write.v2.Request: the symbol table first
// (it may follow the series on the wire), then the series.
func (d *decoder) decodeV2(b []byte) error {
	var f field
	d.symbols = d.symbols[:0]
	series := 0
	for rest := b; len(rest) > 0; {
		var err error
		if rest, err = next(rest, &f); err != nil {
			return err
		}
		switch f.num {
		case fRequestSymbols:
			if err := wantBytes(&f, "symbol"); err != nil {
				return err
			}
			d.symbols = append(d.symbols, str(f.b))
		case fRequestTimeseries:
			if err := wantBytes(&f, "timeseries"); err != nil {
				return err
			}
			series++
		}
	}
	if len(d.symbols) > 0 && d.symbols[0] != "" {
		return fmt.Errorf("symbols[0] must be the empty string, got %q", truncate(d.symbols[0], 64))
	}
	if series == 0 {
		return nil
	}
	for len(b) > 0 {
		var err error
		if b, err = next(b, &f); err != nil {
			return err
		}
		if f.num == fRequestTimeseries {
			if err := d.seriesV2(f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

// seriesV2 stores one io.prometheus.write.v2.TimeSeries. Metadata (5) and
// the created timestamp older senders put in field 6 are skipped.
func (d *decoder) seriesV2(b []byte) error {
	var f field
	var nSamples, nExemplars, nHistograms int
	d.refs = d.refs[:0]
	for rest := b; len(rest) > 0; {
		var err error
		if rest, err = next(rest, &f); err != nil {
			return err
		}
		switch f.num {
		case fTS2LabelsRefs:
			switch f.typ {
			case protowire.BytesType: // packed
				for p := f.b; len(p) > 0; {
					u, n := protowire.ConsumeVarint(p)
					if n < 0 {
						return protowire.ParseError(n)
					}
					d.refs = append(d.refs, u)
					p = p[n:]
				}
			case protowire.VarintType:
				d.refs = append(d.refs, f.u)
			default:
				return fmt.Errorf("labels_refs: %w %d", errWireType, f.typ)
			}
		case fTS2Samples:
			if err := wantBytes(&f, "sample"); err != nil {
				return err
			}
			nSamples++
		case fTS2Histograms:
			nHistograms++
		case fTS2Exemplars:
			nExemplars++
		}
	}

	var lc labelCheck
	d.sb.Reset()
	switch {
	case len(d.refs)%2 != 0:
		lc.problem = fmt.Sprintf("an odd number (%d) of labels_refs", len(d.refs))
	case len(d.refs)/2 > MaxLabelsPerSeries:
		lc.problem = fmt.Sprintf("more than %d labels", MaxLabelsPerSeries)
	}
	for i := 0; lc.problem == "" && i+1 < len(d.refs); i += 2 {
		n, v := d.refs[i], d.refs[i+1]
		if n >= uint64(len(d.symbols)) || v >= uint64(len(d.symbols)) {
			lc.problem = fmt.Sprintf("a label reference out of the symbol table (%d symbols)", len(d.symbols))
			break
		}
		name, value := d.symbols[n], d.symbols[v]
		lc.add(name, value)
		if lc.problem == "" {
			d.sb.Add(name, value)
		}
	}
	if !d.series(&lc, nSamples, nHistograms, nExemplars) {
		return nil
	}
	return d.samples(b, fTS2Samples)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
