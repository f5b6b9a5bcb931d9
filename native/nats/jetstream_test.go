package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

const (
	testStream  = "METRICS"
	testSubject = "metrics.fritz"
)

// jsFixture is an embedded server with JetStream and a stream on
// "metrics.>".
type jsFixture struct {
	srv *testServer
	js  jetstream.JetStream
}

func newJSFixture(t *testing.T, createStream bool) *jsFixture {
	t.Helper()
	srv := startServer(t, -1, t.TempDir())
	js, err := jetstream.New(srv.connect(t))
	if err != nil {
		t.Fatal(err)
	}
	f := &jsFixture{srv: srv, js: js}
	if createStream {
		f.createStream(t)
	}
	return f
}

func (f *jsFixture) createStream(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{Name: testStream, Subjects: []string{"metrics.>"}}); err != nil {
		t.Fatal(err)
	}
}

// publish stores msg in the stream (waiting for the stream's ack).
func (f *jsFixture) publish(t *testing.T, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.js.Publish(ctx, testSubject, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// settled reports whether the durable has acknowledged (or terminated)
// every message of the stream and has nothing left to deliver.
func (f *jsFixture) settled(t *testing.T, durable string) (bool, *jetstream.ConsumerInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := f.js.Stream(ctx, testStream)
	if err != nil {
		return false, nil
	}
	sinfo, err := stream.Info(ctx)
	if err != nil {
		return false, nil
	}
	c, err := stream.Consumer(ctx, durable)
	if err != nil {
		return false, nil
	}
	info, err := c.Info(ctx)
	if err != nil {
		return false, nil
	}
	return info.NumAckPending == 0 && info.NumPending == 0 && info.AckFloor.Stream >= sinfo.State.LastSeq, info
}

func (f *jsFixture) waitSettled(t *testing.T, durable string) *jetstream.ConsumerInfo {
	t.Helper()
	var info *jetstream.ConsumerInfo
	waitFor(t, 30*time.Second, "consumer "+durable+" to settle", func() bool {
		var ok bool
		ok, info = f.settled(t, durable)
		return ok
	})
	return info
}

func jsOptions(f *jsFixture, st *core.Store, durable string) Options {
	return Options{
		Address: f.srv.url(),
		Store:   st,
		Subscriptions: []Subscription{{
			Subject:    testSubject,
			ClusterTag: "fritz",
			JetStream:  &JetStreamOptions{Stream: testStream, Durable: durable, AckWait: time.Second},
		}},
	}
}

// crashBody is message k of TestJetStreamCrashRedelivers: three node lines
// with a timestamp, plus one line without a timestamp on a host of its own
// (its time is the stream's, so a redelivery must not add a sample).
func crashBody(k int) string {
	var b strings.Builder
	for h := range 3 {
		fmt.Fprintf(&b, "cpu_load,hostname=n%d value=%d %d\n", h, k, baseTS+10*k)
	}
	fmt.Fprintf(&b, "mem_used,hostname=m%d value=%d\n", k, k)
	return b.String()
}

// TestJetStreamCrashRedelivers: the subscriber dies mid-stream after
// storing a message and before acknowledging it (its connection is closed
// from the ack hook, with more messages pulled and in flight). A new
// subscriber on the same durable gets everything not acknowledged:
// nothing is lost, and redelivered messages overwrite the same samples, so
// the count of distinct samples is exact.
func TestJetStreamCrashRedelivers(t *testing.T) {
	f := newJSFixture(t, true)
	const n, crashAt = 300, 100
	for k := range n {
		f.publish(t, crashBody(k))
	}
	st := newStore(t)
	want := 4 * n

	var acks atomic.Int64
	storedAtCrash := make(chan int, 1)
	opt1 := jsOptions(f, st, "bridge")
	opt1.beforeAck = func(in *Ingester) {
		if acks.Add(1) == crashAt {
			storedAtCrash <- totalSamples(st)
			in.nc.Close() // the crash: this message and those in flight stay unacknowledged
		}
	}
	in1, _ := start(t, opt1)
	var stored int
	select {
	case stored = <-storedAtCrash:
	case <-time.After(30 * time.Second):
		t.Fatal("first subscriber did not reach the crash point")
	}
	<-in1.closed
	if err := in1.Close(); err != nil {
		t.Fatal(err)
	}
	if stored >= want {
		t.Fatalf("crash after %d of %d samples: not mid-stream", stored, want)
	}
	if v := testutil.ToFloat64(in1.m.ackErrors.WithLabelValues(testSubject)); v < 1 {
		t.Errorf("first subscriber: %v failed acks, want >= 1 (the message being acknowledged at the crash)", v)
	}
	ok, info := f.settled(t, "bridge")
	if ok {
		t.Fatal("consumer settled after the crash: nothing left to redeliver")
	}
	t.Logf("crash: %d of %d samples stored, %d messages unacknowledged, %d not yet delivered",
		stored, want, info.NumAckPending, info.NumPending)

	in2, _ := start(t, jsOptions(f, st, "bridge"))
	info = f.waitSettled(t, "bridge")
	if got := totalSamples(st); got != want {
		t.Errorf("%d distinct samples stored, want exactly %d", got, want)
	}
	for h := range 3 {
		if got := seriesSamples(st, "fritz", fmt.Sprintf("n%d", h), "cpu_load"); got != n {
			t.Errorf("host n%d: %d samples, want %d", h, got, n)
		}
	}
	for k := range n {
		if got := seriesSamples(st, "fritz", fmt.Sprintf("m%d", k), "mem_used"); got != 1 {
			t.Errorf("message %d's line without timestamp: %d samples, want 1", k, got)
		}
	}
	m1 := testutil.ToFloat64(in1.m.messages.WithLabelValues(testSubject))
	m2 := testutil.ToFloat64(in2.m.messages.WithLabelValues(testSubject))
	redelivered := testutil.ToFloat64(in2.m.redelivered.WithLabelValues(testSubject))
	t.Logf("first subscriber handled %v messages, second %v (%v redelivered); server counts %d redeliveries",
		m1, m2, redelivered, info.NumRedelivered)
	if redelivered < 1 {
		t.Error("no redelivery seen by the second subscriber")
	}
	if m1+m2 <= n {
		t.Errorf("%v+%v messages handled: the stored-but-unacknowledged message was not redelivered", m1, m2)
	}
}

// TestJetStreamBadMessageTerminated: a message with a bad line keeps its
// good lines, is terminated (not redelivered) and counted.
func TestJetStreamBadMessageTerminated(t *testing.T) {
	f := newJSFixture(t, true)
	f.publish(t, "cpu_load,hostname=x value=1 1700000000\ncpu_load,hostname=x value=true 1700000010\n")
	f.publish(t, "cpu_load,hostname=x value=2 1700000020\n")
	st := newStore(t)
	in, _ := start(t, jsOptions(f, st, "bridge"))
	info := f.waitSettled(t, "bridge")
	if info.NumRedelivered != 0 || info.Delivered.Consumer != 2 {
		t.Errorf("consumer delivered %d, redelivered %d; want 2 and 0", info.Delivered.Consumer, info.NumRedelivered)
	}
	if got := seriesSamples(st, "fritz", "x", "cpu_load"); got != 2 {
		t.Errorf("%d samples, want 2 (the good line of the bad message and the good message)", got)
	}
	if v := testutil.ToFloat64(in.m.rejected.WithLabelValues(testSubject)); v != 1 {
		t.Errorf("decode errors = %v, want 1", v)
	}
	if v := testutil.ToFloat64(in.m.ackErrors.WithLabelValues(testSubject)); v != 0 {
		t.Errorf("ack errors = %v", v)
	}
}

// TestJetStreamStreamLater: the bridge starts before the stream exists and
// binds once it does.
func TestJetStreamStreamLater(t *testing.T) {
	f := newJSFixture(t, false)
	st := newStore(t)
	var logs logBuffer
	opt := jsOptions(f, st, "bridge")
	opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	start(t, opt)
	waitFor(t, 10*time.Second, "a bind failure", func() bool { return logs.count("JetStream consumer unavailable") > 0 })
	f.createStream(t)
	f.publish(t, "cpu_load,hostname=x value=1 1700000000\n")
	waitFor(t, 30*time.Second, "sample", func() bool { return totalSamples(st) == 1 })
	f.waitSettled(t, "bridge")
}

// TestJetStreamReconnect: the server restarts (same port, same store);
// consumption resumes without a new Ingester.
func TestJetStreamReconnect(t *testing.T) {
	f := newJSFixture(t, true)
	st := newStore(t)
	in, _ := start(t, jsOptions(f, st, "bridge"))
	f.publish(t, "cpu_load,hostname=x value=1 1700000000\n")
	waitFor(t, 10*time.Second, "first sample", func() bool { return totalSamples(st) == 1 })
	f.waitSettled(t, "bridge")

	f.srv.restart()
	js, err := jetstream.New(f.srv.connect(t))
	if err != nil {
		t.Fatal(err)
	}
	f.js = js
	f.publish(t, "cpu_load,hostname=x value=2 1700000010\n")
	waitFor(t, 30*time.Second, "sample after restart", func() bool { return totalSamples(st) == 2 })
	f.waitSettled(t, "bridge")
	if v := testutil.ToFloat64(in.m.reconnects); v < 1 {
		t.Errorf("reconnects = %v", v)
	}
}

// TestJetStreamSharedDurable: two instances on one durable share its
// messages; each is stored once overall.
func TestJetStreamSharedDurable(t *testing.T) {
	f := newJSFixture(t, true)
	stores := [2]*core.Store{newStore(t), newStore(t)}
	var ins [2]*Ingester
	for i := range ins {
		ins[i], _ = start(t, jsOptions(f, stores[i], "shared"))
	}
	const n = 400
	for k := range n {
		f.publish(t, fmt.Sprintf("cpu_load,hostname=n%d value=1 %d\n", k, baseTS+k))
	}
	f.waitSettled(t, "shared")
	for _, in := range ins {
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[string]int)
	for i, st := range stores {
		hosts := census(st)["fritz"]
		t.Logf("instance %d stored %d messages", i, len(hosts))
		for h := range hosts {
			seen[h]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d messages stored, want %d", len(seen), n)
	}
	for h, c := range seen {
		if c != 1 {
			t.Errorf("message %s stored by %d instances", h, c)
		}
	}
}

// failingWAL refuses the first n batches, as a full disk would.
type failingWAL struct{ n atomic.Int64 }

func (w *failingWAL) Log([]*core.Series, []byte) error {
	if w.n.Add(-1) >= 0 {
		return errors.New("no space left on device")
	}
	return nil
}

// TestJetStreamStoreErrorRedelivers: a batch the WAL refuses is not
// acknowledged but negatively acknowledged, and stored on redelivery.
func TestJetStreamStoreErrorRedelivers(t *testing.T) {
	f := newJSFixture(t, true)
	st := newStore(t)
	wal := &failingWAL{}
	wal.n.Store(2)
	st.SetWAL(wal)
	f.publish(t, "cpu_load,hostname=x value=1 1700000000\n")
	opt := jsOptions(f, st, "bridge")
	opt.nakDelay = 50 * time.Millisecond
	in, _ := start(t, opt)
	f.waitSettled(t, "bridge")
	if v := testutil.ToFloat64(in.m.storeErrors.WithLabelValues(testSubject)); v != 2 {
		t.Errorf("store errors = %v, want 2", v)
	}
	if v := testutil.ToFloat64(in.m.messages.WithLabelValues(testSubject)); v != 3 {
		t.Errorf("messages = %v, want 3 (two refused, one stored)", v)
	}
	if v := testutil.ToFloat64(in.m.samples.WithLabelValues(testSubject)); v != 1 {
		t.Errorf("samples written = %v, want 1", v)
	}
}

// TestCoreStoreErrorCounted: core NATS cannot redeliver; a refused batch
// is counted.
func TestCoreStoreErrorCounted(t *testing.T) {
	srv := startServer(t, -1, "")
	st := newStore(t)
	wal := &failingWAL{}
	wal.n.Store(1)
	st.SetWAL(wal)
	in, _ := start(t, Options{Address: srv.url(), Store: st, Subscriptions: []Subscription{{Subject: "c", ClusterTag: "fritz"}}})
	ready(t, in)
	nc := srv.connect(t)
	for i := range 2 {
		nc.Publish("c", fmt.Appendf(nil, "cpu_load,hostname=x value=1 %d\n", baseTS+i))
	}
	nc.Flush()
	waitFor(t, 10*time.Second, "messages", func() bool { return testutil.ToFloat64(in.m.messages.WithLabelValues("c")) == 2 })
	if v := testutil.ToFloat64(in.m.storeErrors.WithLabelValues("c")); v != 1 {
		t.Errorf("store errors = %v, want 1", v)
	}
}
