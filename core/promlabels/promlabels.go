// Package promlabels maps Prometheus label sets to the level tree and back
// (DESIGN.md, "Data model and mapping").
//
// Into the tree: cluster from `cluster` (else the default cluster), host from
// `hostname`, else `host`, else `instance` without scheme, path and port;
// the first scope level is type+type_id (type-id accepted too; type=node or
// no type means host level), the second stype+stype_id (stype-id accepted);
// the metric is __name__; every other label is an extra label of the key.
//
// Out of the tree: a series written over line protocol or the native API
// reads back as __name__, cluster, hostname, type (`node` at host level),
// type_id, stype, stype_id where they apply, plus its extra labels. A series
// written over remote write reads back with exactly the labels it was sent
// with. Both hold with one encoding:
//
//   - If the label set is exactly what the line-protocol reading of its tree
//     position would produce, the key carries no marker and is the key a
//     line-protocol write of the same series produces: one series.
//   - Otherwise (host from `host` or `instance`, no `type` label, cluster from
//     the default, `type-id` spelled with a dash, a name that had to be
//     sanitised, a level name that does not split back into type and id ...)
//     every label but __name__ is kept verbatim among the extra labels,
//     together with the reserved marker label MarkerLabel="1", and reading it
//     back derives nothing from the tree. Names starting with "__" are
//     reserved by Prometheus and never sent by its clients; a label set that
//     carries MarkerLabel itself is rejected.
//
// Level names alone are ambiguous ("accelerator" + "00000000:3b:00.0"), so
// SplitLevel splits them with cc-metric-store's known type names and falls
// back to a trailing run of digits; a remote-write label set that does not
// split back exactly is simply stored with the marker.
package promlabels

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// MarkerLabel is the reserved extra label of series whose labels are stored
// verbatim (see the package comment). Its value is MarkerValue.
const (
	MarkerLabel = "__ccmb_rw__"
	MarkerValue = "1"
)

// Names of the labels that place a series in the tree.
const (
	LabelName     = labels.MetricName // "__name__"
	LabelCluster  = "cluster"
	LabelHostname = "hostname"
	LabelHost     = "host"
	LabelInstance = "instance"
	LabelType     = "type"
	LabelTypeID   = "type_id"
	LabelTypeIDLP = "type-id" // line-protocol spelling, accepted on ingest
	LabelSType    = "stype"
	LabelSTypeID  = "stype_id"
	LabelSTypeLP  = "stype-id"
	// NodeType is the type of host-level series.
	NodeType = "node"
)

// Errors of ToKey. All wrap core.ErrInvalidName so that adapters map them
// to their "bad data" status with one errors.Is.
var (
	ErrMissingName   = fmt.Errorf("%w: missing or empty metric name (label __name__)", core.ErrInvalidName)
	ErrInvalidLabels = fmt.Errorf("%w: invalid label set", core.ErrInvalidName)
)

// labelSep is core.LabelSep as a byte.
const labelSep = core.LabelSep

// parsed holds the tree-relevant labels of one label set.
type parsed struct {
	name, cluster, hostname, host, instance          string
	typ, typeID, typeIDLP, stype, stypeID, stypeIDLP string
}

// ToKey places a Prometheus label set in the tree: cluster from `cluster`
// (else defaultCluster), host from `hostname`, else `host`, else `instance`
// without its port; scope from type/type_id (type=node or absent → host
// level), sub-scope from stype/stype_id; metric from __name__; every other
// label into k.Labels (canonical, sorted). It is allocation-free given
// reused k and buf: k's slices point into the returned buffer, which the
// caller passes again on the next call. Labels with an empty value count as
// absent. It returns an error wrapping core.ErrInvalidName for a missing or
// empty __name__ and for invalid label sets (unsorted or duplicate names, an
// empty name, invalid UTF-8, a NUL in the metric name, MarkerLabel).
func ToKey(ls labels.Labels, defaultCluster string, k *core.Key, buf []byte) ([]byte, error) {
	var p parsed
	var bad string // why the set is invalid; set once
	prev, first := "", true
	ls.Range(func(l labels.Label) {
		if bad != "" {
			return
		}
		switch {
		case l.Name == "":
			bad = "empty label name"
			return
		case !first && l.Name <= prev:
			bad = "duplicate or unsorted label name"
			return
		}
		prev, first = l.Name, false
		if l.Value == "" {
			return // absent
		}
		if !utf8.ValidString(l.Name) || !utf8.ValidString(l.Value) {
			bad = "label name or value is not valid UTF-8"
			return
		}
		switch l.Name {
		case LabelName:
			p.name = l.Value
		case LabelCluster:
			p.cluster = l.Value
		case LabelHostname:
			p.hostname = l.Value
		case LabelHost:
			p.host = l.Value
		case LabelInstance:
			p.instance = l.Value
		case LabelType:
			p.typ = l.Value
		case LabelTypeID:
			p.typeID = l.Value
		case LabelTypeIDLP:
			p.typeIDLP = l.Value
		case LabelSType:
			p.stype = l.Value
		case LabelSTypeID:
			p.stypeID = l.Value
		case LabelSTypeLP:
			p.stypeIDLP = l.Value
		case MarkerLabel:
			bad = "reserved label name " + MarkerLabel
		}
	})
	if bad != "" {
		return buf, fmt.Errorf("%w: %s", ErrInvalidLabels, bad)
	}
	if p.name == "" {
		return buf, ErrMissingName
	}
	if strings.IndexByte(p.name, 0) >= 0 {
		return buf, fmt.Errorf("%w: metric name contains a NUL byte", ErrInvalidLabels)
	}

	// Tree position.
	cluster := p.cluster
	if cluster == "" {
		cluster = defaultCluster
	}
	host := p.hostname
	if host == "" {
		host = p.host
	}
	if host == "" {
		host = HostFromInstance(p.instance)
	}
	typeID := firstNonEmpty(p.typeID, p.typeIDLP)
	stypeID := firstNonEmpty(p.stypeID, p.stypeIDLP)
	var s1t, s1i, s2t, s2i string // scope levels as type + id
	if p.typ != NodeType && (p.typ != "" || typeID != "") {
		s1t, s1i = p.typ, typeID
		if p.stype != "" || stypeID != "" {
			s2t, s2i = p.stype, stypeID
		}
	}

	// Would the line-protocol reading of this position give back exactly
	// the labels sent? Extra labels are everything but the seven derived
	// names, so comparing those seven decides it.
	plain := cluster == p.cluster && host == p.hostname &&
		safeName(cluster) && safeName(host)
	if plain {
		switch {
		case s1t == "" && s1i == "":
			plain = p.typ == NodeType && p.typeID == "" && p.stype == "" && p.stypeID == ""
		default:
			plain = safeName2(s1t, s1i) && splitsTo(s1t, s1i, p.typ, p.typeID)
			if plain && s2t == "" && s2i == "" {
				plain = p.stype == "" && p.stypeID == ""
			} else if plain {
				plain = safeName2(s2t, s2i) && splitsTo(s2t, s2i, p.stype, p.stypeID)
			}
		}
	}

	// Layout of buf: metric, cluster, host, scope levels, labels. Slices are
	// taken only when buf no longer grows.
	buf = buf[:0]
	buf = append(buf, p.name...)
	mEnd := len(buf)
	buf = appendSafe(buf, cluster)
	cEnd := len(buf)
	buf = appendSafe(buf, host)
	hEnd := len(buf)
	s1End, s2End := hEnd, hEnd
	if s1t != "" || s1i != "" {
		buf = appendSafe2(buf, s1t, s1i)
		s1End = len(buf)
		s2End = s1End
		if s2t != "" || s2i != "" {
			buf = appendSafe2(buf, s2t, s2i)
			s2End = len(buf)
		}
	}
	lStart := len(buf)
	if plain {
		ls.Range(func(l labels.Label) {
			if l.Value != "" && !derived(l.Name) {
				buf = appendLabel(buf, l.Name, l.Value)
			}
		})
	} else {
		marked := false
		ls.Range(func(l labels.Label) {
			if l.Value == "" || l.Name == LabelName {
				return
			}
			if !marked && MarkerLabel < l.Name {
				buf = appendLabel(buf, MarkerLabel, MarkerValue)
				marked = true
			}
			buf = appendLabel(buf, l.Name, l.Value)
		})
		if !marked {
			buf = appendLabel(buf, MarkerLabel, MarkerValue)
		}
	}

	k.Metric = buf[0:mEnd:mEnd]
	k.Cluster = buf[mEnd:cEnd:cEnd]
	k.Host = buf[cEnd:hEnd:hEnd]
	k.Scope = k.Scope[:0]
	if s1End > hEnd {
		k.Scope = append(k.Scope, buf[hEnd:s1End:s1End])
		if s2End > s1End {
			k.Scope = append(k.Scope, buf[s1End:s2End:s2End])
		}
	}
	k.Labels = buf[lStart:len(buf):len(buf)]
	return buf, nil
}

// derived reports whether name is one of the labels a plain (unmarked)
// series derives from its tree position.
func derived(name string) bool {
	switch name {
	case LabelName, LabelCluster, LabelHostname, LabelType, LabelTypeID, LabelSType, LabelSTypeID:
		return true
	}
	return false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func appendLabel(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, labelSep)
	dst = append(dst, value...)
	return append(dst, labelSep)
}

// HostFromInstance returns the host part of a Prometheus instance label:
// without scheme, user info, path and port, and without the brackets of an
// IPv6 literal ("[::1]:9100" → "::1", "http://h:80/x" → "h").
func HostFromInstance(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			return s[1:j]
		}
		return s
	}
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		return s[:i] // host:port; two or more colons: a bare IPv6 address
	}
	return s
}

// FromSeries returns the Prometheus labels of a stored series, built with b.
// The strings of the result are owned by it (b's own buffer is reused).
func FromSeries(s *core.Series, b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	b.Add(LabelName, s.Metric().Name)
	extra := s.Labels()
	if marked(extra) {
		forEachLabel(extra, func(name, value string) {
			if name != MarkerLabel && name != LabelName {
				b.Add(name, value)
			}
		})
		b.Sort()
		return b.Labels()
	}

	// Path from the cluster down: root → cluster → host → scope levels.
	var path [8]string
	n := 0
	for l := s.Level(); l != nil && l.Parent() != nil; l = l.Parent() {
		if n < len(path) {
			copy(path[1:], path[:len(path)-1])
			path[0] = l.Name()
		}
		n++
	}
	if n > len(path) {
		n = len(path)
	}
	addNonEmpty := func(name, value string) {
		if value != "" {
			b.Add(name, value)
		}
	}
	if n > 0 {
		addNonEmpty(LabelCluster, path[0])
	}
	if n > 1 {
		addNonEmpty(LabelHostname, path[1])
	}
	if n <= 2 {
		b.Add(LabelType, NodeType)
	} else {
		t, id := SplitLevel(path[2])
		addNonEmpty(LabelType, t)
		addNonEmpty(LabelTypeID, id)
		if n > 3 {
			t, id = SplitLevel(path[3])
			addNonEmpty(LabelSType, t)
			addNonEmpty(LabelSTypeID, id)
		}
	}
	forEachLabel(extra, func(name, value string) {
		if !derived(name) {
			b.Add(name, value)
		}
	})
	b.Sort()
	return b.Labels()
}

// marked reports whether canonical extra labels carry the marker.
func marked(canon string) bool {
	found := false
	forEachLabel(canon, func(name, value string) {
		if name == MarkerLabel && value == MarkerValue {
			found = true
		}
	})
	return found
}

// forEachLabel calls f for each pair of a canonical label encoding.
func forEachLabel(canon string, f func(name, value string)) {
	for canon != "" {
		i := strings.IndexByte(canon, labelSep)
		if i < 0 {
			return
		}
		name := canon[:i]
		canon = canon[i+1:]
		j := strings.IndexByte(canon, labelSep)
		if j < 0 {
			return
		}
		f(name, canon[:j])
		canon = canon[j+1:]
	}
}
