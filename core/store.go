// Package core owns the data: the level tree (cluster → host → scope →
// sub-scope), the metric registry and the series with their samples. Every
// protocol writes through an Appender and reads through the query functions.
//
// Lock order: a parent Level before its children, any Level before a
// Series, a Series before a cache shard. No lock is held across I/O. An
// Appender holds at most one Series lock between calls (for a run of
// samples to the same series) and releases it before it takes a Level lock.
package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
)

// MaxNameBytes bounds cluster, host and scope names: they become path
// elements of checkpoint files, and 255 bytes is the common file-name limit.
const MaxNameBytes = 255

// Options configure a Store.
type Options struct {
	Metrics []MetricConfig
	// DefaultFrequency (seconds) is given to metrics registered on first write.
	DefaultFrequency int64
	// StrictMetrics skips samples of metrics not in Metrics
	// (cc-metric-store's behaviour) instead of registering them.
	StrictMetrics bool
}

// Store is the in-memory time-series store.
type Store struct {
	reg  *registry
	root *Level

	cache [cacheShards]cacheShard

	appenders sync.Pool
	numSeries atomic.Int64
	lastID    atomic.Uint64
	wal       WAL
}

const cacheShards = 32

// cacheShard maps canonical series keys to series, so that the write path
// finds a known series with one hash lookup instead of a tree walk.
type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*Series
	_  [40]byte // keep shards on separate cache lines
}

// New returns an empty store.
func New(opt Options) (*Store, error) {
	reg, err := newRegistry(opt.Metrics, opt.DefaultFrequency, opt.StrictMetrics)
	if err != nil {
		return nil, fmt.Errorf("cannot create store: %w", err)
	}
	st := &Store{reg: reg, root: newLevel("", nil)}
	for i := range st.cache {
		st.cache[i].m = make(map[string]*Series)
	}
	st.appenders.New = func() any { return &Appender{st: st} }
	return st, nil
}

// shard picks the cache shard of a canonical key. The map hashes the key
// again; this only spreads lock traffic, so a cheap word-wise mix will do.
func (st *Store) shard(key []byte) *cacheShard {
	h := uint64(len(key))
	for ; len(key) >= 8; key = key[8:] {
		h = (h ^ binary.LittleEndian.Uint64(key)) * 0x9e3779b97f4a7c15
	}
	for _, c := range key {
		h = (h ^ uint64(c)) * 0x9e3779b97f4a7c15
	}
	return &st.cache[(h>>32)%cacheShards]
}

// NumSeries returns the number of series held.
func (st *Store) NumSeries() int64 { return st.numSeries.Load() }

// Root returns the root level; its children are the clusters.
func (st *Store) Root() *Level { return st.root }

// Metric returns the registered metric called name, or nil.
func (st *Store) Metric(name string) *Metric { return st.reg.lookup([]byte(name)) }

// Metrics returns every registered metric, in no particular order.
func (st *Store) Metrics() []*Metric { return st.reg.all() }

// Appender returns a pooled appender. Call Commit when done with it.
func (st *Store) Appender() *Appender { return st.appenders.Get().(*Appender) }

// Appender writes samples. It is not safe for concurrent use; take one per
// request. Samples are visible to readers as soon as Append returns.
type Appender struct {
	st  *Store
	key []byte
	// cur stays write-locked while consecutive samples go to the same series,
	// so a run costs one lock acquisition.
	cur *Series
	n   int
	// log and logged collect the batch for the WAL (see wal.go).
	log    []byte
	logged []*Series
}

// Append stores one sample (t in Unix milliseconds) of the series named by
// k, creating the series if needed. It returns ErrUnknownMetric (strict
// mode) or an ErrInvalidName error without storing anything.
func (a *Appender) Append(k *Key, t int64, v float64) error {
	a.key = appendCanonical(a.key[:0], k)
	sh := a.st.shard(a.key)
	sh.mu.RLock()
	s := sh.m[string(a.key)]
	sh.mu.RUnlock()
	for s == nil || !a.AppendSeries(s, t, v) {
		// Unknown, or deleted since it was cached: resolve (or recreate)
		// it through the tree, holding no series lock (lock order).
		a.unlock()
		var err error
		if s, err = a.st.resolve(k, a.key); err != nil {
			return err
		}
	}
	return nil
}

// LastSeries returns the series of the last successful Append, for callers
// that cache series under their own keys (see AppendSeries).
func (a *Appender) LastSeries() *Series { return a.cur }

// AppendSeries stores one sample in a series returned by LastSeries
// earlier, skipping name resolution. It reports false, storing nothing,
// when the series was deleted meanwhile (freed by retention or
// /api/free): the caller then uses Append, which recreates it.
func (a *Appender) AppendSeries(s *Series, t int64, v float64) bool {
	if s != a.cur {
		a.unlock()
		s.mu.Lock()
		if s.deleted {
			s.mu.Unlock()
			return false
		}
		a.cur = s
		if a.st.wal != nil {
			a.logged = append(a.logged, s)
		}
	}
	s.append(t, v)
	a.n++
	if a.st.wal != nil {
		a.log = appendWALSample(a.log, s.id, t, v)
	}
	return true
}

// Count returns the number of samples appended since the last Commit.
func (a *Appender) Count() int { return a.n }

// Commit hands the batch to the WAL, if one is attached, and releases the
// appender; it must not be used afterwards. A write may be acknowledged only
// when Commit returned nil: then the batch has reached the WAL.
func (a *Appender) Commit() error {
	a.unlock()
	var err error
	if w := a.st.wal; w != nil && len(a.log) > 0 {
		if err = w.Log(a.logged, a.log); err != nil {
			err = fmt.Errorf("cannot log samples: %w", err)
		}
	}
	clear(a.logged)
	a.n, a.log, a.logged = 0, a.log[:0], a.logged[:0]
	if cap(a.log) > 16<<20 {
		a.log = nil // do not pin the buffer of one huge request
	}
	a.st.appenders.Put(a)
	return err
}

func (a *Appender) unlock() {
	if a.cur != nil {
		a.cur.mu.Unlock()
		a.cur = nil
	}
}

// resolve finds or creates the series named by k (slow path) and caches it
// under its canonical key.
func (st *Store) resolve(k *Key, canon []byte) (*Series, error) {
	m, err := st.reg.lookupOrRegister(k.Metric)
	if err != nil {
		return nil, err
	}
	if err := validName("cluster", k.Cluster); err != nil {
		return nil, err
	}
	if err := validName("host", k.Host); err != nil {
		return nil, err
	}
	for _, sc := range k.Scope {
		if len(sc) == 0 {
			return nil, fmt.Errorf("%w: empty scope name", ErrInvalidName)
		}
		if err := validName("scope", sc); err != nil {
			return nil, err
		}
	}
	var s *Series
	for s == nil {
		// A level pruned concurrently is marked removed; start again from
		// the root so that nothing is written into a detached subtree.
		s = st.seriesAt(k, m, canon)
	}
	sh := st.shard([]byte(s.key))
	sh.mu.Lock()
	sh.m[s.key] = s
	sh.mu.Unlock()
	return s, nil
}

// seriesAt walks to the level of k and finds or creates the series there.
// It returns nil when it met a level that was pruned meanwhile.
func (st *Store) seriesAt(k *Key, m *Metric, canon []byte) *Series {
	l := st.root.childOrCreate(k.Cluster)
	if l != nil {
		l = l.childOrCreate(k.Host)
	}
	for i := 0; l != nil && i < len(k.Scope); i++ {
		l = l.childOrCreate(k.Scope[i])
	}
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.removed {
		return nil
	}
	for _, x := range l.series {
		if x.metric == m && x.labels == string(k.Labels) {
			return x
		}
	}
	s := &Series{id: st.lastID.Add(1), key: string(canon), labels: string(k.Labels), metric: m, level: l, hd: noHead}
	l.series = append(l.series, s)
	st.numSeries.Add(1)
	return s
}

// validName rejects names that are unsafe as file-path elements (they name
// checkpoint directories) or cannot be told apart in canonical keys.
func validName(what string, b []byte) error {
	switch {
	case len(b) > MaxNameBytes:
		return fmt.Errorf("%w: %s name longer than %d bytes", ErrInvalidName, what, MaxNameBytes)
	case bytes.Contains(b, []byte("..")):
		return fmt.Errorf("%w: %s name %q contains \"..\"", ErrInvalidName, what, b)
	case bytes.ContainsAny(b, "/\\"):
		return fmt.Errorf("%w: %s name %q contains a path separator", ErrInvalidName, what, b)
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s name %q contains a control character", ErrInvalidName, what, b)
		}
	}
	return nil
}

// appendCanonical writes the identity of k: names separated by 0x00 (which
// validName rejects), scope elements ended by 0x01.
func appendCanonical(dst []byte, k *Key) []byte {
	dst = append(dst, k.Cluster...)
	dst = append(dst, 0)
	dst = append(dst, k.Host...)
	dst = append(dst, 0)
	for _, sc := range k.Scope {
		dst = append(dst, sc...)
		dst = append(dst, 1)
	}
	dst = append(dst, 0)
	dst = append(dst, k.Metric...)
	dst = append(dst, 0)
	return append(dst, k.Labels...)
}

// Free drops, below the level at path, every chunk whose samples all lie
// before t (ms), removes series and levels left empty, and returns the number
// of chunks freed. An unknown path frees nothing.
func (st *Store) Free(path []string, t int64) int {
	l := st.root
	for _, p := range path {
		if l = l.child([]byte(p)); l == nil {
			return 0
		}
	}
	n := st.free(l, t)
	// The level at path itself may now be empty; prune it upwards too.
	for l != st.root && l.parent.pruneChild(l) {
		l = l.parent
	}
	return n
}

func (st *Store) free(l *Level, t int64) int {
	n := 0
	for _, c := range l.Children() {
		n += st.free(c, t)
		l.pruneChild(c)
	}
	var gone []*Series
	l.mu.Lock()
	kept := l.series[:0]
	for _, s := range l.series {
		s.mu.Lock()
		n += s.dropBefore(t)
		if s.empty() {
			s.deleted = true
			gone = append(gone, s)
		} else {
			kept = append(kept, s)
		}
		s.mu.Unlock()
	}
	clear(l.series[len(kept):])
	l.series = kept
	l.mu.Unlock()
	st.numSeries.Add(-int64(len(gone)))
	for _, s := range gone {
		sh := st.shard([]byte(s.key))
		sh.mu.Lock()
		if sh.m[s.key] == s {
			delete(sh.m, s.key)
		}
		sh.mu.Unlock()
	}
	return n
}

// pruneChild removes c from l when c has neither series nor children, and
// reports whether it did.
func (l *Level) pruneChild(c *Level) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.series) > 0 || len(c.children) > 0 || l.children[c.name] != c {
		return false
	}
	c.removed = true
	delete(l.children, c.name)
	l.sorted.Store(nil)
	return true
}

// KnownMetric reports whether samples of the named metric are stored: with
// strict-metrics on, lines of other metrics are skipped before they are
// parsed, as cc-metric-store does.
func (a *Appender) KnownMetric(name []byte) bool {
	return !a.st.reg.strict || a.st.reg.lookup(name) != nil
}
