package lineproto

// Fast path.
//
// Why: cc-metric-collector sends ~100-byte lines of one measurement, a few
// plain tags, one field "value" and a timestamp. Tokenizing them with
// lp/v2 (escapes, UTF-8 checks of every token, buffer management) and then
// building the canonical key and looking it up in the store cost most of the
// write path. For bodies without any backslash or double quote (hence
// without escapes and string fields, and where every entry is exactly one
// physical line) the Decoder splits lines itself, and it remembers the
// series of every raw "measurement,tags" section (plus, in Influx mode, the
// field key) that it stored into, so that a known series costs one map
// lookup: tags are neither parsed nor mapped again.
//
// What it does not handle: escapes, quoted strings, and any line it finds
// odd in any way (control characters, bad numbers, booleans in Native mode,
// unknown fields in Native mode, missing parts, bad timestamps, ...). From
// the first such line on, the rest of the body goes through lp/v2 exactly
// as before, so errors (messages, line numbers) and the treatment of odd
// input stay those of lp/v2. The fast path only ever accepts lines that
// lp/v2 would decode to the same samples; FuzzFastPath checks that.

import (
	"bytes"
	"unicode/utf8"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// SeriesAppender may be implemented by an Appender (core.Appender does) to
// let the Decoder cache series: LastSeries returns the series of the last
// successful Append, and AppendSeries appends to such a series directly,
// reporting false (and storing nothing) if it was deleted meanwhile.
type SeriesAppender interface {
	LastSeries() *core.Series
	AppendSeries(s *core.Series, t int64, v float64) bool
}

// seriesCacheMax bounds the series cache of a Decoder (entries); a full
// cache is dropped and refilled. At about 100 bytes of key per entry this
// bounds it to some 25 MB.
const seriesCacheMax = 200_000

// The outcome of the fast path for one line.
const (
	fastOK   = iota // done (stored, skipped or failed with an Appender error)
	fastOdd         // not handled: lp/v2 decodes the line and the rest of the body
	fastSkip        // the MetricFilter declined the measurement
)

// fast decodes the lines of body it can handle (see above). It returns the
// offset of the first line it did not handle (len(body) if none), from
// which the caller goes on with lp/v2, or the error of a line that failed
// in the Appender.
func (d *Decoder) fast(body []byte, opt *Options, app Appender, filter MetricFilter, st *Stats) (int, error) {
	sa, _ := app.(SeriesAppender)
	if sa != nil && (d.cacheMode != opt.Mode || !bytes.Equal(d.cacheCluster, opt.DefaultCluster)) {
		// The mapping depends on both: the cached series would be wrong.
		d.cache = nil
		d.cacheMode = opt.Mode
		d.cacheCluster = append(d.cacheCluster[:0], opt.DefaultCluster...)
	}
	off := 0
	for off < len(body) {
		end, next := len(body), len(body)
		if i := bytes.IndexByte(body[off:], '\n'); i >= 0 {
			end, next = off+i, off+i+1
		}
		line := body[off:end]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1] // lp/v2 takes CR LF, and a CR ending the body, as the line end
		}
		i := 0
		for i < len(line) && line[i] == ' ' {
			i++
		}
		switch {
		case i == len(line): // blank line
		case line[i] == '#': // comment: printable bytes only, else lp/v2 reports it
			for _, c := range line[i:] {
				if c < 0x20 || c == 0x7f {
					return off, nil
				}
			}
		default:
			r, err := d.fastEntry(line[i:], off+i, opt, app, sa, filter, st)
			if err != nil {
				return 0, err
			}
			if r == fastOdd {
				return off, nil
			}
		}
		off = next
	}
	return off, nil
}

// fastEntry decodes one entry (ent, at offset entOff of the body; leading
// spaces and line end removed). Nothing is stored, and no statistics
// change, before the whole line has been checked, so that fastOdd leaves
// the line to lp/v2 untouched.
func (d *Decoder) fastEntry(ent []byte, entOff int, opt *Options, app Appender, sa SeriesAppender, filter MetricFilter, st *Stats) (int, error) {
	sp := bytes.IndexByte(ent, ' ')
	if sp <= 0 {
		return fastOdd, nil
	}
	raw := ent[:sp] // measurement and tags, as sent
	native := opt.Mode == Native
	d.newLine()

	// Fields.
	var value float64
	p := sp + 1
	for p < len(ent) && ent[p] == ' ' {
		p++
	}
	var tb []byte
	for {
		ks := p
		for p < len(ent) {
			if c := ent[p]; c == '=' || c == ',' || c == ' ' || c < 0x20 || c == 0x7f {
				break
			}
			p++
		}
		if p == ks || p == len(ent) || ent[p] != '=' {
			return fastOdd, nil
		}
		key := ent[ks:p]
		p++
		vs := p
		for p < len(ent) {
			if c := ent[p]; c == ',' || c == ' ' {
				break
			}
			p++
		}
		val := ent[vs:p]
		if len(val) == 0 {
			return fastOdd, nil
		}
		var v float64
		switch c := val[0]; {
		case c == '-' || c == '.' || c >= '0' && c <= '9':
			var ok bool
			if v, ok = numValue(key, val); !ok {
				return fastOdd, nil
			}
		case !native && (c == 't' || c == 'T' || c == 'f' || c == 'F'):
			switch string(val) {
			case "t", "T", "true", "True", "TRUE":
				v = 1
			case "f", "F", "false", "False", "FALSE":
				v = 0
			default:
				return fastOdd, nil
			}
		default:
			return fastOdd, nil
		}
		if !isASCII(key) && !utf8.Valid(key) {
			return fastOdd, nil
		}
		if native {
			if string(key) != "value" {
				return fastOdd, nil
			}
			value = v // several "value" fields: last wins
		} else {
			d.fields = append(d.fields, item{k: d.copy(key), val: v})
		}
		if p == len(ent) {
			break
		}
		if ent[p] == ',' {
			p++
			continue
		}
		for p < len(ent) && ent[p] == ' ' {
			p++
		}
		if p == len(ent) {
			break
		}
		ts := p
		for p < len(ent) && (ent[p] == '-' || ent[p] >= '0' && ent[p] <= '9') {
			p++
		}
		tb = ent[ts:p]
		for p < len(ent) && ent[p] == ' ' {
			p++
		}
		if len(tb) == 0 || p != len(ent) {
			return fastOdd, nil
		}
		break
	}

	// Timestamp.
	t := opt.Now
	if tb != nil {
		ts, err := parseTimestamp(tb)
		if err != nil {
			return fastOdd, nil
		}
		var ok bool
		if native {
			t = nativeMillis(ts)
		} else if t, ok = opt.Precision.toMillis(ts); !ok {
			return fastOdd, nil
		}
	}

	d.prevAnchor, d.entryAnchor, d.lastAnchor = d.lastAnchor, entOff, entOff
	useCache := sa != nil && d.cacheChecked

	if native {
		if useCache {
			if s := d.cache[string(raw)]; s != nil && sa.AppendSeries(s, t, value) {
				st.Samples++
				st.Lines++
				return fastOK, nil
			}
		}
		switch r := d.fastKey(raw, filter, opt); r {
		case fastSkip:
			st.Lines++
			st.Skipped++
			return fastOK, nil
		case fastOdd:
			return r, nil
		}
		d.key.Metric = d.bytes(d.meas)
		n := st.Samples
		if err := d.append(app, t, value, st); err != nil {
			return fastOK, err
		}
		if sa != nil && st.Samples > n {
			d.remember(sa, raw)
		}
		st.Lines++
		return fastOK, nil
	}

	// Influx mode: look every field up first, so that a line whose key
	// section turns out odd is left to lp/v2 before anything is stored.
	d.fields = d.sortUnique(d.fields) // duplicate field keys: last wins
	d.fser = d.fser[:0]
	haveKey := false
	for i := range d.fields {
		var s *core.Series
		if useCache {
			s = d.cache[string(d.cacheKey(raw, d.bytes(d.fields[i].k)))]
		}
		if s == nil && !haveKey {
			if r := d.fastKey(raw, nil, opt); r != fastOK {
				return r, nil
			}
			haveKey = true
		}
		d.fser = append(d.fser, s)
	}
	var meas []byte
	for i := range d.fields {
		f := &d.fields[i]
		if s := d.fser[i]; s != nil {
			if sa.AppendSeries(s, t, f.val) {
				st.Samples++
				continue
			}
			// Deleted meanwhile: Append recreates it.
		}
		if !haveKey {
			if d.fastKey(raw, nil, opt) != fastOK {
				// The section was cached, so it parsed before.
				panic("lineproto: cached key section no longer parses")
			}
			haveKey = true
		}
		if meas == nil {
			meas = d.bytes(d.meas)
		}
		d.influxMetric(meas, d.bytes(f.k))
		n := st.Samples
		if err := d.append(app, t, f.val, st); err != nil {
			return fastOK, err
		}
		if sa != nil && st.Samples > n {
			d.remember(sa, d.cacheKey(raw, d.bytes(f.k)))
		}
	}
	st.Lines++
	return fastOK, nil
}

// cacheKey returns the cache key of field fk of a line with the key section
// raw in Influx mode: no space can occur in either part.
func (d *Decoder) cacheKey(raw, fk []byte) []byte {
	d.ckey = append(d.ckey[:0], raw...)
	d.ckey = append(d.ckey, ' ')
	d.ckey = append(d.ckey, fk...)
	return d.ckey
}

// remember caches the series of the last successful Append under key. The
// first time in a Decode call it makes sure that the cache holds series of
// the same store as the Appender's (Decoders are pooled, and a process may
// have several stores): all series of a store share its root level.
func (d *Decoder) remember(sa SeriesAppender, key []byte) {
	s := sa.LastSeries()
	if s == nil {
		return
	}
	if !d.cacheChecked {
		if root := rootOf(s); root != d.cacheRoot {
			d.cache = nil
			d.cacheRoot = root
		}
		d.cacheChecked = true
	}
	if d.cache == nil || len(d.cache) >= seriesCacheMax {
		d.cache = make(map[string]*core.Series)
	}
	d.cache[string(key)] = s
}

func rootOf(s *core.Series) *core.Level {
	l := s.Level()
	for l != nil && l.Parent() != nil {
		l = l.Parent()
	}
	return l
}

// fastKey parses the key section raw (no escapes, no spaces) into the
// per-line state and builds d.key but its metric, as entry does with what
// lp/v2 returns. It returns fastOdd for anything lp/v2 might see otherwise,
// and fastSkip if filter declines the measurement.
func (d *Decoder) fastKey(raw []byte, filter MetricFilter, opt *Options) int {
	ascii := true
	for _, c := range raw {
		if c < 0x20 || c == 0x7f {
			return fastOdd
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(raw) {
		return fastOdd // tokens are valid iff the section is: separators are ASCII
	}
	i := bytes.IndexByte(raw, ',')
	if i < 0 {
		i = len(raw)
	}
	if i == 0 || raw[0] == '#' || i == len(raw)-1 {
		return fastOdd
	}
	m := raw[:i]
	if filter != nil && !filter.KnownMetric(m) {
		return fastSkip
	}
	d.meas = d.copy(m)
	var hostname span
	for i < len(raw) { // at a comma
		i++
		ks := i
		for i < len(raw) && raw[i] != '=' && raw[i] != ',' {
			i++
		}
		if i == ks || i == len(raw) || raw[i] != '=' {
			return fastOdd
		}
		k := raw[ks:i]
		i++
		vs := i
		for i < len(raw) && raw[i] != '=' && raw[i] != ',' {
			i++
		}
		if i == vs || i < len(raw) && (raw[i] != ',' || i == len(raw)-1) {
			return fastOdd
		}
		d.tag(k, raw[vs:i], &hostname)
	}
	d.setHost(hostname)
	d.buildKey(opt)
	return fastOK
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// numValue converts a numeric field value as lp/v2 and fieldValue do: an
// "i" or "u" suffix makes it an integer. Simple decimals are converted
// here; everything else goes to fieldValue (lp/v2's strconv wrappers).
func numValue(key, val []byte) (float64, bool) {
	switch val[len(val)-1] {
	case 'i':
		s := val[:len(val)-1]
		if u, neg, ok := smallUint(s, true, 18); ok {
			if neg {
				return float64(-int64(u)), true
			}
			return float64(int64(u)), true
		}
		v, err := fieldValue(key, lineprotocol.Int, s)
		return v, err == nil
	case 'u':
		s := val[:len(val)-1]
		if u, _, ok := smallUint(s, false, 19); ok {
			return float64(u), true
		}
		v, err := fieldValue(key, lineprotocol.Uint, s)
		return v, err == nil
	}
	if v, ok := simpleFloat(val); ok {
		return v, true
	}
	v, err := fieldValue(key, lineprotocol.Float, val)
	return v, err == nil
}

// smallUint parses an optional minus (if signed) and 1 to maxDigits decimal
// digits.
func smallUint(s []byte, signed bool, maxDigits int) (u uint64, neg, ok bool) {
	if signed && len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) == 0 || len(s) > maxDigits {
		return 0, false, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		u = u*10 + uint64(c-'0')
	}
	return u, neg, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// simpleFloat converts [-]digits[.digits][e[±]digits] when the result is
// exact by construction: a mantissa below 2^53 and a power of ten up to
// 1e22, each exactly representable, so one multiplication or division
// rounds correctly, as strconv.ParseFloat does (its own fast path).
func simpleFloat(s []byte) (float64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var mant uint64
	digits, frac, i := 0, 0, 0
	dot := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
			continue
		case c == '.' && !dot:
			dot = true
			continue
		}
		break
	}
	if digits == 0 || mant >= 1<<53 {
		return 0, false
	}
	exp := -frac
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return 0, false
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) || len(s)-i > 3 {
			return 0, false
		}
		e := 0
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			e = e*10 + int(s[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	f := float64(mant)
	switch {
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= pow10[exp]
	case exp < 0 && exp >= -22:
		f /= pow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}
