package nats

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer is an embedded nats-server on 127.0.0.1.
type testServer struct {
	t    *testing.T
	srv  *server.Server
	port int
	dir  string // JetStream store directory; "" without JetStream
}

// startServer starts a server on port (-1: a random free port), with
// JetStream stored in dir when dir is not empty. It is shut down at the
// end of the test.
func startServer(t *testing.T, port int, dir string) *testServer {
	t.Helper()
	ts := &testServer{t: t, port: port, dir: dir}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      ts.port,
		NoLog:     true,
		NoSigs:    true,
		JetStream: ts.dir != "",
		StoreDir:  ts.dir,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		ts.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		ts.t.Fatal("nats-server not ready within 10 s")
	}
	ts.srv = srv
	ts.port = srv.Addr().(*net.TCPAddr).Port
}

// stop shuts the server down and waits for it; a stopped server stays
// stopped.
func (ts *testServer) stop() {
	if ts.srv != nil {
		ts.srv.Shutdown()
		ts.srv.WaitForShutdown()
		ts.srv = nil
	}
}

// restart stops the server and starts a new one on the same port (and
// JetStream directory).
func (ts *testServer) restart() {
	ts.t.Helper()
	ts.stop()
	ts.start()
}

func (ts *testServer) url() string { return ts.srv.ClientURL() }

// connect returns a publisher connection closed at the end of the test.
func (ts *testServer) connect(t *testing.T) *natsgo.Conn {
	t.Helper()
	nc, err := natsgo.Connect(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newStore(t testing.TB) *core.Store {
	t.Helper()
	st, err := core.New(core.Options{DefaultFrequency: 10})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// start starts an Ingester with a private registry (returned) and closes it
// at the end of the test.
func start(t *testing.T, opt Options) (*Ingester, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opt.Metrics = reg
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	in, err := Start(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return in, reg
}

// ready waits until in is connected and the server has processed its
// subscriptions, so that core NATS messages published afterwards reach it.
func ready(t *testing.T, in *Ingester) {
	t.Helper()
	waitFor(t, 10*time.Second, "connection", func() bool { return in.nc.IsConnected() })
	if err := in.nc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every few milliseconds until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// census maps cluster → host → number of samples in the host's subtree.
func census(st *core.Store) map[string]map[string]int {
	out := make(map[string]map[string]int)
	for _, c := range st.Root().Children() {
		hosts := make(map[string]int)
		for _, h := range c.Children() {
			hosts[h.Name()] = countSamples(h)
		}
		out[c.Name()] = hosts
	}
	return out
}

func countSamples(l *core.Level) int {
	n := 0
	for _, s := range l.Series() {
		n += s.NumSamples()
	}
	for _, c := range l.Children() {
		n += countSamples(c)
	}
	return n
}

func totalSamples(st *core.Store) int { return countSamples(st.Root()) }

// seriesSamples returns the samples of metric at [cluster, host], or -1 if
// there is no such series.
func seriesSamples(st *core.Store, cluster, host, metric string) int {
	var l *core.Level
	for _, c := range st.Root().Children() {
		if c.Name() == cluster {
			for _, h := range c.Children() {
				if h.Name() == host {
					l = h
				}
			}
		}
	}
	if l == nil {
		return -1
	}
	for _, s := range l.Series() {
		if s.Metric().Name == metric {
			return s.NumSamples()
		}
	}
	return -1
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
