package promlabels

import (
	"strings"
	"unicode/utf8"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// acceleratorType is the one cc-metric-store type whose ids are not numbers
// (PCI addresses such as "00000000:3b:00.0"), so its level names cannot be
// split at a run of digits.
const acceleratorType = "accelerator"

// SplitLevel splits a scope level name into the type and type id it was
// built from, as cc-metric-store concatenates them ("hwthread12" →
// "hwthread", "12"; "accelerator00000000:3b:00.0" → "accelerator",
// "00000000:3b:00.0"). Other names split before their trailing run of
// digits ("gpu3" → "gpu", "3"; "12" → "", "12"; "numa" → "numa", "").
func SplitLevel(name string) (typ, id string) {
	i := splitIndex(name)
	return name[:i], name[i:]
}

func splitIndex[S ~string | ~[]byte](name S) int {
	if len(name) >= len(acceleratorType) && string(name[:len(acceleratorType)]) == acceleratorType {
		return len(acceleratorType)
	}
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	return i
}

// splitsTo reports whether the level named t+i splits back into typ, id,
// without allocating.
func splitsTo(t, i, typ, id string) bool {
	if len(t)+len(i) > core.MaxNameBytes {
		return false
	}
	var a [core.MaxNameBytes]byte
	n := copy(a[:], t)
	n += copy(a[n:], i)
	name := a[:n]
	j := splitIndex(name)
	return string(name[:j]) == typ && string(name[j:]) == id
}

// safeName reports whether core accepts s as a cluster, host or scope
// name (core.validName): bounded length, no "..", no path separators, no
// control characters.
func safeName(s string) bool {
	if len(s) > core.MaxNameBytes || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if badNameByte(s[i]) {
			return false
		}
	}
	return true
}

// safeName2 is safeName(t+i).
func safeName2(t, i string) bool {
	if len(t)+len(i) > core.MaxNameBytes {
		return false
	}
	if strings.HasSuffix(t, ".") && strings.HasPrefix(i, ".") {
		return false
	}
	return safeName(t) && safeName(i)
}

func badNameByte(c byte) bool { return c == '/' || c == '\\' || c < 0x20 || c == 0x7f }

// appendSafe appends s, sanitised when core would reject it: separators
// and control characters become '_', the second dot of ".." becomes '_',
// and the name is cut to core.MaxNameBytes at a character boundary. Series
// with sanitised names keep their labels verbatim (marker), so the change
// only affects where they sit in the tree.
func appendSafe(dst []byte, s string) []byte {
	if safeName(s) {
		return append(dst, s...)
	}
	return appendSanitized(dst, len(dst), s)
}

// appendSafe2 appends t+i, sanitised as one name.
func appendSafe2(dst []byte, t, i string) []byte {
	if safeName2(t, i) {
		return append(append(dst, t...), i...)
	}
	start := len(dst)
	dst = appendSanitized(dst, start, t)
	return appendSanitized(dst, start, i)
}

// appendSanitized appends s to the name that starts at dst[start:].
func appendSanitized(dst []byte, start int, s string) []byte {
	for k := 0; k < len(s); {
		r, size := utf8.DecodeRuneInString(s[k:])
		if len(dst)-start+size > core.MaxNameBytes {
			break
		}
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, '_')
			k++
			continue
		}
		for j := 0; j < size; j++ {
			c := s[k+j]
			switch {
			case badNameByte(c):
				c = '_'
			case c == '.' && len(dst) > start && dst[len(dst)-1] == '.':
				c = '_'
			}
			dst = append(dst, c)
		}
		k += size
	}
	return dst
}
