package core

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

// Level is one node of the tree: the root, a cluster, a host or a sub-level
// such as "socket0" or "hwthread12". It owns the series written at exactly
// this position and its child levels.
type Level struct {
	name   string
	parent *Level

	mu       sync.RWMutex
	children map[string]*Level
	series   []*Series
	// removed is set when the level was pruned from its parent; writers that
	// still hold it must start again from the root.
	removed bool
	// sorted caches the children in natural order; nil when stale.
	sorted atomic.Pointer[[]*Level]
}

func newLevel(name string, parent *Level) *Level {
	return &Level{name: name, parent: parent}
}

// Name returns the level's name ("" for the root).
func (l *Level) Name() string { return l.name }

// Parent returns the parent level, nil for the root.
func (l *Level) Parent() *Level { return l.parent }

// child returns the named child or nil.
func (l *Level) child(name []byte) *Level {
	l.mu.RLock()
	c := l.children[string(name)]
	l.mu.RUnlock()
	return c
}

// childOrCreate returns the named child, creating it if needed, or nil when
// l itself was pruned meanwhile.
func (l *Level) childOrCreate(name []byte) *Level {
	if c := l.child(name); c != nil {
		return c
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.removed {
		return nil
	}
	if c := l.children[string(name)]; c != nil {
		return c
	}
	if l.children == nil {
		l.children = make(map[string]*Level)
	}
	c := newLevel(string(name), l)
	l.children[c.name] = c
	l.sorted.Store(nil)
	return c
}

// Children returns the children in natural order (hwthread2 before
// hwthread10). The slice is shared: callers must not modify it.
func (l *Level) Children() []*Level {
	if p := l.sorted.Load(); p != nil {
		return *p
	}
	// Build and publish under the read lock: invalidation happens under the
	// write lock, so a list built here cannot miss a child added meanwhile.
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*Level, 0, len(l.children))
	for _, c := range l.children {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Level) int { return naturalCompare(a.name, b.name) })
	l.sorted.Store(&out)
	return out
}

// Series returns a snapshot of the series stored at this level.
func (l *Level) Series() []*Series {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.series)
}

// seriesFor appends the series of metric m at this level to dst.
func (l *Level) seriesFor(dst []*Series, m *Metric) []*Series {
	l.mu.RLock()
	for _, s := range l.series {
		if s.metric == m {
			dst = append(dst, s)
		}
	}
	l.mu.RUnlock()
	return dst
}

// naturalCompare orders names with embedded numbers by value, so that
// hwthread2 sorts before hwthread10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ca, cb := a[0], b[0]
		if isDigit(ca) && isDigit(cb) {
			na, ra := splitDigits(a)
			nb, rb := splitDigits(b)
			// Compare numbers by length first (leading zeros stripped), then
			// lexically: no overflow for long digit runs.
			ta, tb := trimZeros(na), trimZeros(nb)
			if len(ta) != len(tb) {
				return cmp.Compare(len(ta), len(tb))
			}
			if ta != tb {
				if ta < tb {
					return -1
				}
				return 1
			}
			if len(na) != len(nb) {
				return cmp.Compare(len(na), len(nb))
			}
			a, b = ra, rb
			continue
		}
		if ca != cb {
			return cmp.Compare(int(ca), int(cb))
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func splitDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
