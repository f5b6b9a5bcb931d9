// Package nats ingests ClusterCockpit line protocol from NATS subjects, as
// cc-metric-store's nats section and metric-store.nats-subscriptions do,
// and optionally from JetStream durable consumers.
//
// Every subscription decodes its messages on its own, with its own
// cluster-tag as the default cluster: unlike cc-metric-store (whose workers
// share one channel across subscriptions, so a message of subject A can be
// decoded with B's cluster-tag), two subscriptions never mix. A message goes
// through the same pooled path as the native /api/write: a pooled
// lineproto.Decoder in Native mode writing into a pooled core.Appender,
// committed once per message, so ingest allocates per message, never per
// sample.
//
// A core NATS subscription may join a queue group, so that several bridge
// instances share a subject and every message is stored by one of them. A
// JetStream subscription pulls from a durable consumer and acknowledges a
// message only after its samples are in the store, so a crash redelivers
// what was not acknowledged (at-least-once); samples carry their own
// timestamps, so a redelivered message overwrites the same samples.
//
// The connection reconnects forever with a capped exponential backoff.
// Messages with a bad line are counted and logged, at most once per
// Options.ErrorLogInterval per subscription; the lines before the bad line
// stay stored, as with /api/write, and a JetStream message is then
// terminated so that it is not redelivered forever.
//
// Concurrency: each subscription's handler runs on one goroutine of the
// NATS client (messages of one subscription are decoded one after another);
// subscriptions run in parallel. The package holds no lock across a store
// call.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
)

// Defaults and limits.
const (
	// DefaultErrorLogInterval is how often at most a subscription logs a
	// rejected message; the others are counted and summed in the next log
	// line, so that a misbehaving producer cannot flood the log.
	DefaultErrorLogInterval = 10 * time.Second
	// DefaultDrainTimeout bounds Close: messages already received are
	// processed (and JetStream ones acknowledged) for at most this long.
	// It stays well below the 30 s the server gives its whole shutdown.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultAckWait is the ack wait of a JetStream consumer the bridge
	// creates: a message not acknowledged within it is redelivered.
	DefaultAckWait = 30 * time.Second
	// DefaultNakDelay is how long a JetStream message whose batch the WAL
	// refused waits before it is redelivered (a full disk needs time).
	DefaultNakDelay = 5 * time.Second
	// DefaultMaxAckPending bounds the unacknowledged messages of a consumer
	// the bridge creates (the NATS server's own default).
	DefaultMaxAckPending = 1000

	// PendingBytesLimit bounds the messages a core subscription buffers in
	// the client while the store catches up; beyond it NATS drops messages
	// and reports a slow consumer (counted in ccmb_nats_errors_total). A
	// cc-metric-collector flush of a large node is a few hundred KB, so
	// this holds hundreds of flushes.
	PendingBytesLimit = 256 << 20

	// pingInterval detects a dead server (half-open TCP) within about a
	// minute instead of the client default of several minutes.
	pingInterval = 20 * time.Second
	// Reconnect backoff: minReconnectDelay doubling up to maxReconnectDelay,
	// with up to 25 % jitter so that many instances do not reconnect in step.
	minReconnectDelay = 100 * time.Millisecond
	maxReconnectDelay = 5 * time.Second
	// jsSetupTimeout bounds one JetStream API request (consumer lookup or
	// creation); failed attempts are retried with the backoff above.
	jsSetupTimeout = 5 * time.Second
)

// Subscription is one subject to ingest.
type Subscription struct {
	// Subject is subscribe-to: a NATS subject, wildcards allowed.
	Subject string
	// ClusterTag is cluster-tag: the cluster of lines without a cluster tag.
	ClusterTag string
	// Queue, when set, joins the core NATS queue group of that name: every
	// message goes to one member of the group. Exclusive with JetStream.
	Queue string
	// JetStream, when set, consumes Subject through a durable JetStream
	// consumer instead of a core subscription.
	JetStream *JetStreamOptions
}

// JetStreamOptions select a durable consumer on an existing stream.
type JetStreamOptions struct {
	// Stream is the stream that stores Subject (it must exist).
	Stream string
	// Durable is the durable consumer name. Instances that use the same
	// durable share its messages (each message to one instance). If the
	// consumer does not exist it is created as a pull consumer with filter
	// subject Subject, deliver policy all, explicit acks, AckWait and
	// MaxAckPending; an existing consumer is used as it is.
	Durable string
	// AckWait (0: DefaultAckWait) is used only when creating the consumer.
	AckWait time.Duration
	// MaxAckPending (0: DefaultMaxAckPending) is used only when creating
	// the consumer.
	MaxAckPending int
}

// Options configure Start.
type Options struct {
	// Address is the server URL, or several separated by commas
	// (nats.address).
	Address string
	// Username and Password authenticate with user and password
	// (nats.username, nats.password).
	Username, Password string
	// CredsFile is a NATS credentials file (nats.creds-file-path).
	CredsFile string

	Subscriptions []Subscription
	Store         *core.Store
	// Logger receives connection events and rate-limited errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics receives the package's counters; nil means a private
	// registry (not exported).
	Metrics prometheus.Registerer

	// ErrorLogInterval (0: DefaultErrorLogInterval) is the least time
	// between two logged errors of one subscription.
	ErrorLogInterval time.Duration
	// DrainTimeout (0: DefaultDrainTimeout) bounds Close.
	DrainTimeout time.Duration

	// nakDelay (tests only; 0: DefaultNakDelay) replaces DefaultNakDelay.
	nakDelay time.Duration
	// beforeAck, when set (tests only), runs after a JetStream message is
	// stored and before it is acknowledged.
	beforeAck func(*Ingester)
}

// Ingester is a running set of subscriptions on one NATS connection.
type Ingester struct {
	opt  Options
	log  *slog.Logger
	m    *metrics
	nc   *natsgo.Conn
	js   jetstream.JetStream
	subs []*subscription

	// ctx ends the JetStream consumer loops; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// closed is closed by the connection's closed handler.
	closed chan struct{}
	// connLog limits the log lines of connection-level errors.
	connLog rateLog

	// gate is read-locked by every message handler; Close write-locks it
	// once the connection is closed, so that no handler still runs (or
	// writes to the store) when Close returns, even if the client has
	// already let go of a subscription whose handler is running.
	gate    sync.RWMutex
	stopped bool // guarded by gate

	stopAfter func() bool // releases the context.AfterFunc of Start
	closeOnce sync.Once
	closeErr  error
}

// Start connects to opt.Address and starts every subscription. It returns an
// error for an invalid configuration; an unreachable server is not one: the
// connection keeps trying in the background (and logs), and subscriptions
// start as soon as it is up. The Ingester stops when ctx ends or Close is
// called, whichever comes first.
func Start(ctx context.Context, opt Options) (*Ingester, error) {
	if err := validate(&opt); err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Metrics == nil {
		opt.Metrics = prometheus.NewRegistry()
	}
	if opt.ErrorLogInterval <= 0 {
		opt.ErrorLogInterval = DefaultErrorLogInterval
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = DefaultDrainTimeout
	}
	if opt.nakDelay <= 0 {
		opt.nakDelay = DefaultNakDelay
	}
	m, err := newMetrics(opt.Metrics)
	if err != nil {
		return nil, err
	}
	in := &Ingester{
		opt:    opt,
		log:    opt.Logger.With("component", "nats"),
		m:      m,
		closed: make(chan struct{}),
	}
	in.connLog.every = opt.ErrorLogInterval
	in.ctx, in.cancel = context.WithCancel(context.Background())
	seen := make(map[string]bool)
	for _, cfg := range opt.Subscriptions {
		if seen[cfg.Subject] {
			// cc-metric-store's example config does this; each entry
			// then stores every message (lines without a cluster tag once
			// per cluster-tag).
			in.log.Warn("subject subscribed more than once: every message is ingested once per subscription",
				"subject", cfg.Subject)
		}
		seen[cfg.Subject] = true
		in.subs = append(in.subs, newSubscription(in, cfg))
	}

	in.nc, err = natsgo.Connect(opt.Address, in.connOptions()...)
	if err != nil {
		in.cancel()
		return nil, fmt.Errorf("nats: cannot connect to %q: %w", opt.Address, err)
	}
	if !in.nc.IsConnected() {
		in.log.Warn("NATS server not reachable yet, retrying in the background", "address", opt.Address)
	}
	for _, s := range in.subs {
		if s.cfg.JetStream != nil {
			continue
		}
		if err := s.subscribe(); err != nil {
			in.Close()
			return nil, err
		}
	}
	for _, s := range in.subs {
		if s.cfg.JetStream == nil {
			continue
		}
		if in.js == nil {
			if in.js, err = jetstream.New(in.nc); err != nil {
				in.Close()
				return nil, fmt.Errorf("nats: cannot use JetStream: %w", err)
			}
		}
		in.wg.Add(1)
		go s.consumeLoop()
	}
	in.stopAfter = context.AfterFunc(ctx, func() { in.Close() })
	return in, nil
}

// validate checks opt without changing anything but defaults.
func validate(opt *Options) error {
	if opt.Address == "" {
		return errors.New("nats: address is required")
	}
	if opt.Store == nil {
		return errors.New("nats: Options.Store is nil")
	}
	durables := make(map[[2]string]bool)
	queues := make(map[[2]string]bool)
	for i, s := range opt.Subscriptions {
		if s.Subject == "" {
			return fmt.Errorf("nats: subscription %d: subscribe-to is empty", i)
		}
		js := s.JetStream
		if js == nil {
			// Two members of one queue group in one process would split
			// the subject's messages between two cluster-tags.
			k := [2]string{s.Subject, s.Queue}
			if s.Queue != "" && queues[k] {
				return fmt.Errorf("nats: subscription %q: queue group %q is used twice for this subject", s.Subject, s.Queue)
			}
			queues[k] = true
			continue
		}
		if s.Queue != "" {
			return fmt.Errorf("nats: subscription %q: queue-group and jetstream exclude each other (instances share a JetStream subject through the same durable)", s.Subject)
		}
		if js.Stream == "" || js.Durable == "" {
			return fmt.Errorf("nats: subscription %q: jetstream needs stream and durable", s.Subject)
		}
		if js.AckWait < 0 || js.MaxAckPending < 0 {
			return fmt.Errorf("nats: subscription %q: jetstream ack-wait and max-ack-pending must not be negative", s.Subject)
		}
		// One consumer read by two subscriptions would hand each message to
		// either of them, with either cluster-tag: the mix this package
		// exists to avoid.
		k := [2]string{js.Stream, js.Durable}
		if durables[k] {
			return fmt.Errorf("nats: subscription %q: stream %q durable %q is already used by another subscription", s.Subject, js.Stream, js.Durable)
		}
		durables[k] = true
	}
	return nil
}

func (in *Ingester) connOptions() []natsgo.Option {
	o := []natsgo.Option{
		natsgo.Name("cc-metric-bridge"),
		natsgo.MaxReconnects(-1),
		natsgo.RetryOnFailedConnect(true),
		natsgo.CustomReconnectDelay(reconnectDelay),
		natsgo.PingInterval(pingInterval),
		natsgo.DrainTimeout(in.opt.DrainTimeout),
		natsgo.ConnectHandler(func(nc *natsgo.Conn) {
			in.m.connected.Set(1)
			in.log.Info("connected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			in.m.connected.Set(1)
			in.m.reconnects.Inc()
			in.log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			in.m.connected.Set(0)
			if err != nil {
				in.log.Warn("disconnected from NATS, reconnecting", "error", err)
			}
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
			in.asyncError(sub, err)
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) {
			in.m.connected.Set(0)
			close(in.closed)
		}),
	}
	if in.opt.Username != "" || in.opt.Password != "" {
		o = append(o, natsgo.UserInfo(in.opt.Username, in.opt.Password))
	}
	if in.opt.CredsFile != "" {
		o = append(o, natsgo.UserCredentials(in.opt.CredsFile))
	}
	return o
}

// reconnectDelay is the wait after every server of the pool failed once:
// minReconnectDelay·2^(attempts-1), capped, plus up to 25 % jitter.
func reconnectDelay(attempts int) time.Duration {
	d := maxReconnectDelay
	if attempts < 16 {
		d = min(minReconnectDelay<<max(attempts-1, 0), maxReconnectDelay)
	}
	return d + rand.N(d/4+1)
}

// asyncError handles errors the client reports outside any call: slow
// consumers (messages dropped because a subscription fell behind),
// permission violations, server errors.
func (in *Ingester) asyncError(sub *natsgo.Subscription, err error) {
	in.m.errors.Inc()
	if sub != nil {
		for _, s := range in.subs {
			if s.cfg.JetStream == nil && s.cfg.Subject == sub.Subject && s.cfg.Queue == sub.Queue {
				s.logError("NATS subscription error", err)
				return
			}
		}
	}
	in.connLog.log(in.log, "NATS error", err)
}

// Close stops every subscription, lets the messages already received be
// stored (and JetStream ones acknowledged) for at most DrainTimeout, closes
// the connection and waits until the goroutines it started have ended. It
// is safe to call more than once and concurrently; later calls return the
// first call's result.
func (in *Ingester) Close() error {
	in.closeOnce.Do(func() {
		if in.stopAfter != nil {
			in.stopAfter()
		}
		in.cancel()  // JetStream loops drain their consumers and return
		in.wg.Wait() // before the connection drains
		if err := in.nc.Drain(); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) &&
			!errors.Is(err, natsgo.ErrConnectionReconnecting) {
			in.closeErr = fmt.Errorf("nats: cannot drain connection: %w", err)
			in.nc.Close()
		}
		// Drain closes the connection itself after DrainTimeout at the
		// latest; the extra second is for its callbacks.
		t := time.NewTimer(in.opt.DrainTimeout + time.Second)
		defer t.Stop()
		select {
		case <-in.closed:
		case <-t.C:
			in.nc.Close()
			<-in.closed
		}
		in.gate.Lock()
		in.stopped = true
		in.gate.Unlock()
	})
	return in.closeErr
}

// enter admits a message handler; it returns false once Close has
// finished. Every true must be followed by leave.
func (in *Ingester) enter() bool {
	in.gate.RLock()
	if in.stopped {
		in.gate.RUnlock()
		return false
	}
	return true
}

func (in *Ingester) leave() { in.gate.RUnlock() }
