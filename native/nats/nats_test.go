package nats

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/config"
)

const baseTS = 1_700_000_000

// TestClusterTagsNeverMix: two subscriptions with different cluster tags on
// one connection, fed concurrently by many publishers. Lines without a
// cluster tag land in their own subscription's cluster; a line with one
// keeps it. (cc-metric-store's shared worker channel mixes these.)
func TestClusterTagsNeverMix(t *testing.T) {
	srv := startServer(t, -1, "")
	st := newStore(t)
	in, reg := start(t, Options{
		Address: srv.url(),
		Store:   st,
		Subscriptions: []Subscription{
			{Subject: "ccms.a", ClusterTag: "alpha"},
			{Subject: "ccms.b", ClusterTag: "beta"},
		},
	})
	ready(t, in)

	const (
		publishers = 8
		messages   = 150 // per publisher
		hostsPer   = 4   // lines without a cluster tag per message
	)
	var wg sync.WaitGroup
	for p := range publishers {
		nc := srv.connect(t)
		side := "ab"[p%2 : p%2+1]
		wg.Go(func() {
			var b strings.Builder
			for k := range messages {
				b.Reset()
				ts := baseTS + p*messages + k // distinct per publisher and message
				for h := range hostsPer {
					fmt.Fprintf(&b, "cpu_load,hostname=h%s%d-%d,type=node value=%d %d\n", side, p, h, k, ts)
				}
				fmt.Fprintf(&b, "mem_used,cluster=gamma,hostname=g%s value=%d %d\n", side, k, ts)
				if err := nc.Publish("ccms."+side, []byte(b.String())); err != nil {
					t.Error(err)
					return
				}
			}
			if err := nc.Flush(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	want := publishers * messages * (hostsPer + 1)
	waitFor(t, 20*time.Second, fmt.Sprintf("%d samples", want), func() bool { return totalSamples(st) >= want })

	got := census(st)
	if len(got) != 3 {
		t.Errorf("clusters %v, want alpha, beta, gamma", keys(got))
	}
	for cluster, prefix := range map[string]string{"alpha": "ha", "beta": "hb"} {
		hosts := got[cluster]
		if len(hosts) != publishers/2*hostsPer {
			t.Errorf("%s has %d hosts, want %d: %v", cluster, len(hosts), publishers/2*hostsPer, hosts)
		}
		for h, n := range hosts {
			if !strings.HasPrefix(h, prefix) {
				t.Errorf("host %s (sent to the other subject) landed in %s", h, cluster)
			}
			if n != messages {
				t.Errorf("%s/%s has %d samples, want %d", cluster, h, n, messages)
			}
		}
	}
	if g := got["gamma"]; len(g) != 2 || g["ga"] != publishers/2*messages || g["gb"] != publishers/2*messages {
		t.Errorf("gamma (explicit cluster tag) = %v, want ga and gb with %d samples each", g, publishers/2*messages)
	}
	if n := totalSamples(st); n != want {
		t.Errorf("%d samples stored, want exactly %d", n, want)
	}
	for _, subj := range []string{"ccms.a", "ccms.b"} {
		if n := testutil.ToFloat64(in.m.messages.WithLabelValues(subj)); n != publishers/2*messages {
			t.Errorf("messages{subject=%s} = %v, want %d", subj, n, publishers/2*messages)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "ccmb_nats_samples_written_total"); err != nil || n != 2 {
		t.Errorf("ccmb_nats_samples_written_total: %d series, %v", n, err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestQueueGroup: two Ingesters in one queue group share a subject; every
// message is stored by exactly one of them.
func TestQueueGroup(t *testing.T) {
	srv := startServer(t, -1, "")
	stores := [2]*core.Store{newStore(t), newStore(t)}
	var ins [2]*Ingester
	for i := range ins {
		ins[i], _ = start(t, Options{
			Address:       srv.url(),
			Store:         stores[i],
			Subscriptions: []Subscription{{Subject: "ccms.q", ClusterTag: "fritz", Queue: "bridges"}},
		})
		ready(t, ins[i])
	}

	const n = 600
	nc := srv.connect(t)
	for k := range n {
		// One host per message: a host tells which message a store got.
		msg := fmt.Sprintf("cpu_load,hostname=n%d value=%d %d\nmem_used,hostname=n%d value=1 %d\n", k, k, baseTS+k, k, baseTS+k)
		if err := nc.Publish("ccms.q", []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "all messages", func() bool {
		return totalSamples(stores[0])+totalSamples(stores[1]) >= 2*n
	})
	// Close drains: nothing still in flight can arrive after the count.
	for _, in := range ins {
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
	}

	seen := make(map[string]int)
	for i, s := range stores {
		hosts := census(s)["fritz"]
		if len(hosts) == 0 {
			t.Errorf("instance %d got no message (queue group not shared?)", i)
		}
		for h, c := range hosts {
			if c != 2 {
				t.Errorf("instance %d: host %s has %d samples, want 2", i, h, c)
			}
			seen[h]++
		}
		t.Logf("instance %d stored %d messages", i, len(hosts))
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages stored, want %d", len(seen), n)
	}
	for h, c := range seen {
		if c != 1 {
			t.Errorf("message %s stored by %d instances", h, c)
		}
	}
}

// TestReconnect: the server restarts on the same port; the Ingester
// reconnects on its own, subscribes again, and ingest resumes.
func TestReconnect(t *testing.T) {
	srv := startServer(t, -1, "")
	st := newStore(t)
	in, _ := start(t, Options{
		Address:       srv.url(),
		Store:         st,
		Subscriptions: []Subscription{{Subject: "ccms.r", ClusterTag: "fritz"}},
	})
	ready(t, in)

	// publishUntilStored publishes messages, each to its own host, until
	// one is stored: after a restart the Ingester's subscription reaches
	// the server at a moment we cannot observe from outside, and core NATS
	// drops what nobody is subscribed to.
	k := 0
	publishUntilStored := func(what string) {
		t.Helper()
		nc := srv.connect(t)
		deadline := time.Now().Add(20 * time.Second)
		for {
			k++
			host := fmt.Sprintf("r%d", k)
			if err := nc.Publish("ccms.r", fmt.Appendf(nil, "cpu_load,hostname=%s value=%d %d", host, k, baseTS+k)); err != nil {
				t.Fatal(err)
			}
			nc.Flush()
			for stop := time.Now().Add(200 * time.Millisecond); time.Now().Before(stop); time.Sleep(5 * time.Millisecond) {
				if seriesSamples(st, "fritz", host, "cpu_load") == 1 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: nothing stored within 20 s", what)
			}
		}
	}
	publishUntilStored("before restart")
	srv.restart()
	publishUntilStored("after restart")
	waitFor(t, 5*time.Second, "reconnect counter", func() bool { return testutil.ToFloat64(in.m.reconnects) >= 1 })
	if v := testutil.ToFloat64(in.m.connected); v != 1 {
		t.Errorf("ccmb_nats_connected = %v", v)
	}
}

// TestStartBeforeServer: the bridge starts while the NATS server is down
// (start-up order must not matter); ingest begins once the server is up.
func TestStartBeforeServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	st := newStore(t)
	in, _ := start(t, Options{
		Address:       fmt.Sprintf("nats://127.0.0.1:%d", port),
		Store:         st,
		Subscriptions: []Subscription{{Subject: "ccms.late", ClusterTag: "fritz"}},
	})
	if in.nc.IsConnected() {
		t.Fatal("connected without a server")
	}
	srv := startServer(t, port, "")
	ready(t, in)
	nc := srv.connect(t)
	if err := nc.Publish("ccms.late", []byte("cpu_load,hostname=x value=1 1700000000")); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	waitFor(t, 10*time.Second, "sample", func() bool { return totalSamples(st) == 1 })
}

// TestCloseWithoutServer: Close ends everything even if the server was
// never reachable (goleak in TestMain checks the goroutines).
func TestCloseWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "nats://" + ln.Addr().String()
	ln.Close()
	in, err := Start(context.Background(), Options{
		Address: addr,
		Store:   newStore(t),
		Logger:  slog.New(slog.DiscardHandler),
		Subscriptions: []Subscription{
			{Subject: "a", ClusterTag: "x"},
			{Subject: "b", ClusterTag: "y", JetStream: &JetStreamOptions{Stream: "S", Durable: "d"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := in.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// TestContextEndsIngester: cancelling Start's context stops the Ingester.
func TestContextEndsIngester(t *testing.T) {
	srv := startServer(t, -1, "")
	ctx, cancel := context.WithCancel(context.Background())
	in, err := Start(ctx, Options{
		Address:       srv.url(),
		Store:         newStore(t),
		Logger:        slog.New(slog.DiscardHandler),
		Subscriptions: []Subscription{{Subject: "a"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-in.closed:
	case <-time.After(15 * time.Second):
		t.Fatal("connection not closed after the context ended")
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBadMessages: the lines before a bad line are stored (as /api/write),
// the message is counted, and the log is rate-limited per subscription.
func TestBadMessages(t *testing.T) {
	srv := startServer(t, -1, "")
	st := newStore(t)
	var logs logBuffer
	in, reg := start(t, Options{
		Address:          srv.url(),
		Store:            st,
		Logger:           slog.New(slog.NewTextHandler(&logs, nil)),
		ErrorLogInterval: time.Hour,
		Subscriptions: []Subscription{
			{Subject: "ccms.bad", ClusterTag: "fritz"},
			{Subject: "ccms.other", ClusterTag: "alex"},
		},
	})
	ready(t, in)
	nc := srv.connect(t)
	bad := "cpu_load,hostname=x value=1 1700000000\n" +
		"cpu_load,hostname=x value=\"text\" 1700000010\n" +
		"cpu_load,hostname=x value=3 1700000020\n"
	for range 5 {
		if err := nc.Publish("ccms.bad", []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Publish("ccms.other", []byte("cpu_load,hostname=y value=1 17000000x0\n")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("ccms.bad", []byte("cpu_load,hostname=x value=4 1700000030\n")); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	waitFor(t, 10*time.Second, "messages", func() bool {
		return testutil.ToFloat64(in.m.messages.WithLabelValues("ccms.bad")) == 6 &&
			testutil.ToFloat64(in.m.messages.WithLabelValues("ccms.other")) == 1
	})
	if n := seriesSamples(st, "fritz", "x", "cpu_load"); n != 2 {
		t.Errorf("fritz/x has %d samples, want 2 (first line of the bad messages and the good message)", n)
	}
	if n := testutil.ToFloat64(in.m.rejected.WithLabelValues("ccms.bad")); n != 5 {
		t.Errorf("decode errors of ccms.bad = %v, want 5", n)
	}
	if n := testutil.ToFloat64(in.m.rejected.WithLabelValues("ccms.other")); n != 1 {
		t.Errorf("decode errors of ccms.other = %v, want 1", n)
	}
	// One line per subscription within the interval.
	if n := logs.count("NATS message rejected"); n != 2 {
		t.Errorf("%d log lines, want 2 (one per subscription):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "line 2") || !strings.Contains(logs.String(), "subject=ccms.bad") {
		t.Errorf("log does not name the line and subject:\n%s", logs.String())
	}
	if _, err := testutil.GatherAndCount(reg, "ccmb_nats_decode_errors_total"); err != nil {
		t.Error(err)
	}
}

func TestRateLog(t *testing.T) {
	var logs logBuffer
	l := slog.New(slog.NewTextHandler(&logs, nil))
	r := rateLog{every: 50 * time.Millisecond}
	for range 10 {
		r.log(l, "boom", fmt.Errorf("x"))
	}
	if n := logs.count("boom"); n != 1 {
		t.Fatalf("%d lines, want 1", n)
	}
	waitFor(t, 5*time.Second, "interval", func() bool {
		r.log(l, "boom", fmt.Errorf("x"))
		return logs.count("boom") == 2
	})
	if !strings.Contains(logs.String(), "suppressed=") {
		t.Errorf("suppressed count missing:\n%s", logs.String())
	}
}

func TestStartValidation(t *testing.T) {
	st := newStore(t)
	js := func(stream, durable string) *JetStreamOptions {
		return &JetStreamOptions{Stream: stream, Durable: durable}
	}
	for name, opt := range map[string]Options{
		"no address":    {Store: st},
		"no store":      {Address: "nats://127.0.0.1:1"},
		"empty subject": {Address: "nats://127.0.0.1:1", Store: st, Subscriptions: []Subscription{{}}},
		"queue and jetstream": {Address: "nats://127.0.0.1:1", Store: st,
			Subscriptions: []Subscription{{Subject: "a", Queue: "q", JetStream: js("S", "d")}}},
		"no durable": {Address: "nats://127.0.0.1:1", Store: st,
			Subscriptions: []Subscription{{Subject: "a", JetStream: js("S", "")}}},
		"durable twice": {Address: "nats://127.0.0.1:1", Store: st,
			Subscriptions: []Subscription{{Subject: "a", JetStream: js("S", "d")}, {Subject: "b", JetStream: js("S", "d")}}},
		"queue group twice": {Address: "nats://127.0.0.1:1", Store: st,
			Subscriptions: []Subscription{{Subject: "a", ClusterTag: "x", Queue: "q"}, {Subject: "a", ClusterTag: "y", Queue: "q"}}},
		"negative ack wait": {Address: "nats://127.0.0.1:1", Store: st,
			Subscriptions: []Subscription{{Subject: "a", JetStream: &JetStreamOptions{Stream: "S", Durable: "d", AckWait: -1}}}},
	} {
		if in, err := Start(context.Background(), opt); err == nil {
			in.Close()
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestMerge(t *testing.T) {
	ref := []config.NATSSubscription{
		{SubscribeTo: "ccms.fritz", ClusterTag: "fritz"},
		{SubscribeTo: "ccms.alex", ClusterTag: "alex"},
		{SubscribeTo: "ccms.plain", ClusterTag: "plain"},
	}
	got, err := Merge(ref, []Extension{
		{SubscribeTo: "ccms.fritz", QueueGroup: "bridges"},
		{SubscribeTo: "ccms.alex", JetStream: &JetStreamOptions{Stream: "METRICS", Durable: "alex", AckWait: time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Subscription{
		{Subject: "ccms.fritz", ClusterTag: "fritz", Queue: "bridges"},
		{Subject: "ccms.alex", ClusterTag: "alex", JetStream: &JetStreamOptions{Stream: "METRICS", Durable: "alex", AckWait: time.Minute}},
		{Subject: "ccms.plain", ClusterTag: "plain"},
	}
	if fmt.Sprintf("%+v", deref(got)) != fmt.Sprintf("%+v", deref(want)) {
		t.Errorf("Merge = %+v\nwant %+v", deref(got), deref(want))
	}
	if _, err := Merge(ref, []Extension{{SubscribeTo: "ccms.typo", QueueGroup: "q"}}); err == nil {
		t.Error("extension without a reference subscription accepted")
	}
	if _, err := Merge(ref, []Extension{{SubscribeTo: "ccms.fritz"}, {SubscribeTo: "ccms.fritz"}}); err == nil {
		t.Error("subject twice accepted")
	}
}

func deref(s []Subscription) []string {
	var out []string
	for _, x := range s {
		js := "<nil>"
		if x.JetStream != nil {
			js = fmt.Sprintf("%+v", *x.JetStream)
		}
		out = append(out, fmt.Sprintf("%s|%s|%s|%s", x.Subject, x.ClusterTag, x.Queue, js))
	}
	return out
}

// TestIngestAllocs: ingest allocates per message, not per sample (the
// lineproto decoder makes one small allocation per body).
func TestIngestAllocs(t *testing.T) {
	in := &Ingester{opt: Options{Store: newStore(t), ErrorLogInterval: time.Hour}, log: slog.New(slog.DiscardHandler)}
	var err error
	if in.m, err = newMetrics(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	if raceEnabled {
		t.Skip("allocation counts are not meaningful with the race detector")
	}
	s := newSubscription(in, Subscription{Subject: "s", ClusterTag: "fritz"})
	for _, lines := range []int{10, 1000} {
		body := benchBody(lines, 0)
		s.ingest(body, 0) // creates the series
		allocs := testing.AllocsPerRun(50, func() { s.ingest(body, 0) })
		t.Logf("%d lines: %.1f allocations per message", lines, allocs)
		if allocs > 2 {
			t.Errorf("%d lines: %.1f allocations per message, want at most 2", lines, allocs)
		}
	}
}

// BenchmarkIngest decodes and stores cc-metric-collector-like messages of
// 1000 lines, each message a minute later than the one before (the usual
// in-order append path).
func BenchmarkIngest(b *testing.B) {
	in := &Ingester{opt: Options{Store: newStore(b), ErrorLogInterval: time.Hour}, log: slog.New(slog.DiscardHandler)}
	in.m, _ = newMetrics(prometheus.NewRegistry())
	s := newSubscription(in, Subscription{Subject: "s", ClusterTag: "fritz"})
	const lines = 1000
	var body []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody(lines, 0))))
	i := 0
	for b.Loop() {
		b.StopTimer()
		body = appendBenchBody(body[:0], lines, i*600)
		i++
		b.StartTimer()
		s.ingest(body, 0)
	}
	b.ReportMetric(float64(b.N)*lines/b.Elapsed().Seconds(), "samples/s")
}

// benchBody is one cc-metric-collector-like message: lines of a node,
// timestamps from baseTS+offset on.
func benchBody(lines, offset int) []byte { return appendBenchBody(nil, lines, offset) }

func appendBenchBody(dst []byte, lines, offset int) []byte {
	for i := range lines {
		dst = fmt.Appendf(dst, "flops_any,hostname=f0101,type=hwthread,type-id=%d value=%d.5 %d\n", i%128, i, baseTS+offset+i/128*60)
	}
	return dst
}
