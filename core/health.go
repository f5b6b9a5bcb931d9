package core

// ChunkInfo describes one stored run of samples on the series' slot grid,
// in Unix seconds (the shape of cc-metric-store's /api/debug).
type ChunkInfo struct {
	Start, End int64
	Len        int64 // slots spanned
	Samples    int
}

// Chunks describes the sealed chunks and the head of s, oldest first.
func (s *Series) Chunks() []ChunkInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ChunkInfo, 0, len(s.chunks)+1)
	for _, c := range s.chunks {
		out = append(out, s.chunkInfo(c.mint, c.maxt, c.len()))
	}
	if n := len(s.hd.t); n > 0 {
		out = append(out, s.chunkInfo(s.hd.t[0], s.hd.t[n-1], n))
	}
	return out
}

func (s *Series) chunkInfo(mint, maxt int64, n int) ChunkInfo {
	fms := s.metric.Frequency * 1000
	first := floorDiv(mint-s.anchor, fms)
	slots := floorDiv(maxt-s.anchor, fms) - first + 1
	start := floorDiv(s.anchor+first*fms, 1000)
	return ChunkInfo{Start: start, Len: slots, End: start + slots*s.metric.Frequency, Samples: n}
}

// NumSamples returns the number of samples held by s.
func (s *Series) NumSamples() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.numSamples()
}

// Health checks the node [cluster, node] as cc-metric-store's healthcheck
// does: a metric is missing when it is not registered or has no series in
// the node's subtree, degraded when any of its series there ended more than
// five intervals before now (ms). found is false for an unknown node.
func (st *Store) Health(cluster, node string, metrics []string, now int64) (found bool, degraded, missing []string) {
	c := st.root.child([]byte(cluster))
	if c == nil {
		return false, nil, nil
	}
	l := c.child([]byte(node))
	if l == nil {
		return false, nil, nil
	}
	degraded, missing = []string{}, []string{}
	for _, name := range metrics {
		m := st.reg.lookup([]byte(name))
		if m == nil {
			missing = append(missing, name)
			continue
		}
		seen, stale := subtreeFreshness(l, m, now)
		switch {
		case !seen:
			missing = append(missing, name)
		case stale:
			degraded = append(degraded, name)
		}
	}
	return true, degraded, missing
}

func subtreeFreshness(l *Level, m *Metric, now int64) (seen, stale bool) {
	fms := m.Frequency * 1000
	for _, s := range l.seriesFor(nil, m) {
		s.mu.RLock()
		_, last, ok := s.bounds()
		end := s.anchor + (floorDiv(last-s.anchor, fms)+1)*fms
		s.mu.RUnlock()
		if ok {
			seen = true
			stale = stale || now-end > 5*fms
		}
	}
	for _, c := range l.Children() {
		cs, cst := subtreeFreshness(c, m, now)
		seen, stale = seen || cs, stale || cst
	}
	return seen, stale
}
