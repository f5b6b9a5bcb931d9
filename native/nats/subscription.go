package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/lineproto"
)

// jsPullMaxBytes bounds what a JetStream consumer buffers in the client. It
// must exceed the largest message (the server's max_payload, 1 MB by
// default, 64 MB at most), or the consumer stalls.
const jsPullMaxBytes = 64 << 20

// subscription is one configured subject. Its handler runs on one
// goroutine at a time (the NATS client's delivery goroutine), so it keeps
// no lock of its own; its counters and rate limiter are safe for
// concurrent use.
type subscription struct {
	in  *Ingester
	cfg Subscription
	// cluster is cfg.ClusterTag as the decoder wants it, made once.
	cluster []byte
	errLog  rateLog
	// decoders is per subscription: a Decoder caches series per default
	// cluster, which differs between subscriptions.
	decoders sync.Pool

	messages, samples, skipped, rejected prometheus.Counter
	storeErrors, redelivered, ackErrors  prometheus.Counter
}

func newSubscription(in *Ingester, cfg Subscription) *subscription {
	m, subj := in.m, cfg.Subject
	return &subscription{
		in:          in,
		cfg:         cfg,
		cluster:     []byte(cfg.ClusterTag),
		errLog:      rateLog{every: in.opt.ErrorLogInterval},
		messages:    m.messages.WithLabelValues(subj),
		samples:     m.samples.WithLabelValues(subj),
		skipped:     m.skipped.WithLabelValues(subj),
		rejected:    m.rejected.WithLabelValues(subj),
		storeErrors: m.storeErrors.WithLabelValues(subj),
		redelivered: m.redelivered.WithLabelValues(subj),
		ackErrors:   m.ackErrors.WithLabelValues(subj),
	}
}

// subscribe starts a core NATS subscription. While the connection is down
// the client keeps the subscription and sends it when it connects.
func (s *subscription) subscribe() error {
	var (
		sub *natsgo.Subscription
		err error
	)
	if s.cfg.Queue != "" {
		sub, err = s.in.nc.QueueSubscribe(s.cfg.Subject, s.cfg.Queue, s.handle)
	} else {
		sub, err = s.in.nc.Subscribe(s.cfg.Subject, s.handle)
	}
	if err != nil {
		return fmt.Errorf("nats: cannot subscribe to %q: %w", s.cfg.Subject, err)
	}
	if err := sub.SetPendingLimits(-1, PendingBytesLimit); err != nil {
		sub.Unsubscribe()
		return fmt.Errorf("nats: cannot set pending limits of %q: %w", s.cfg.Subject, err)
	}
	return nil
}

// handle stores a core NATS message. Lines without a timestamp get the
// receive time. Core NATS has no redelivery: a batch the WAL refused stays
// in memory only (counted and logged).
func (s *subscription) handle(msg *natsgo.Msg) {
	if !s.in.enter() {
		return
	}
	defer s.in.leave()
	s.ingest(msg.Data, time.Now().UnixMilli())
}

// ingest decodes one message into the store through the same pooled path as
// /api/write: the lines before a bad line stay stored, the rest of the
// message is dropped. decodeErr names a bad line; storeErr says the batch
// did not reach the WAL (so it must not be acknowledged). Both are counted
// and logged (rate-limited).
func (s *subscription) ingest(data []byte, now int64) (decodeErr, storeErr error) {
	s.messages.Inc()
	app := s.in.opt.Store.Appender()
	dec, _ := s.decoders.Get().(*lineproto.Decoder)
	if dec == nil {
		dec = lineproto.NewDecoder()
	}
	defer s.decoders.Put(dec)
	st, decodeErr := dec.Decode(data, lineproto.Options{
		Mode:           lineproto.Native,
		DefaultCluster: s.cluster,
		Now:            now,
	}, app)
	if storeErr = app.Commit(); storeErr != nil {
		s.storeErrors.Inc()
		s.logError("NATS message not persisted", storeErr, "samples", st.Samples)
		return decodeErr, storeErr
	}
	s.samples.Add(float64(st.Samples))
	s.skipped.Add(float64(st.Skipped))
	if decodeErr != nil {
		s.rejected.Inc()
		s.logError("NATS message rejected", decodeErr, "samples-stored", st.Samples)
	}
	return decodeErr, nil
}

// consumeLoop binds the JetStream consumer and consumes from it until the
// Ingester closes. If the consumer cannot be bound (no stream yet, server
// down) or stops (deleted, connection lost for good), it binds again after
// a backoff.
func (s *subscription) consumeLoop() {
	defer s.in.wg.Done()
	ctx := s.in.ctx
	for attempt := 1; ; attempt++ {
		cc, err := s.consume(ctx)
		if err == nil {
			attempt = 0
			select {
			case <-ctx.Done():
				s.drain(cc)
				return
			case <-cc.Closed():
				err = errors.New("consumer stopped")
			}
		}
		if ctx.Err() != nil || s.in.nc.IsClosed() {
			return
		}
		s.logError("JetStream consumer unavailable, binding again", err,
			"stream", s.cfg.JetStream.Stream, "durable", s.cfg.JetStream.Durable)
		t := time.NewTimer(reconnectDelay(max(attempt, 1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// consume looks the durable consumer up, creates it if it does not exist,
// and starts consuming.
func (s *subscription) consume(ctx context.Context) (jetstream.ConsumeContext, error) {
	o := s.cfg.JetStream
	ctx, cancel := context.WithTimeout(ctx, jsSetupTimeout)
	defer cancel()
	cons, err := s.in.js.Consumer(ctx, o.Stream, o.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		ackWait, maxAck := o.AckWait, o.MaxAckPending
		if ackWait == 0 {
			ackWait = DefaultAckWait
		}
		if maxAck == 0 {
			maxAck = DefaultMaxAckPending
		}
		cons, err = s.in.js.CreateConsumer(ctx, o.Stream, jetstream.ConsumerConfig{
			Durable:       o.Durable,
			FilterSubject: s.cfg.Subject,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       ackWait,
			MaxAckPending: maxAck,
		})
		if err == nil {
			s.in.log.Info("created JetStream consumer", "stream", o.Stream, "durable", o.Durable, "subject", s.cfg.Subject)
		} else if errors.Is(err, jetstream.ErrConsumerExists) {
			// Another instance created it meanwhile.
			cons, err = s.in.js.Consumer(ctx, o.Stream, o.Durable)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot bind stream %q durable %q: %w", o.Stream, o.Durable, err)
	}
	cc, err := cons.Consume(s.handleJS,
		jetstream.PullMaxBytes(jsPullMaxBytes),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.in.m.errors.Inc()
			s.logError("JetStream consumer error", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("cannot consume from stream %q durable %q: %w", o.Stream, o.Durable, err)
	}
	return cc, nil
}

// drain stops pulling and waits, for at most DrainTimeout, until the
// messages already pulled are stored and acknowledged.
func (s *subscription) drain(cc jetstream.ConsumeContext) {
	cc.Drain()
	t := time.NewTimer(s.in.opt.DrainTimeout)
	defer t.Stop()
	select {
	case <-cc.Closed():
	case <-t.C:
		cc.Stop()
		s.in.log.Warn("JetStream consumer not drained in time; unacknowledged messages will be redelivered",
			"subject", s.cfg.Subject, "durable", s.cfg.JetStream.Durable)
	}
}

// handleJS stores a JetStream message and acknowledges it only once the
// batch has been committed (reached the WAL, when persistence is on), so a
// crash before the acknowledgement redelivers it: at-least-once. Lines
// without a timestamp get the time the stream stored the message, so a
// redelivery writes the very same samples. A batch the WAL refused is
// negatively acknowledged, to be redelivered after DefaultNakDelay. A message
// with a bad line is terminated once its good lines are committed:
// redelivering it would fail again forever.
func (s *subscription) handleJS(msg jetstream.Msg) {
	if !s.in.enter() {
		return // not acknowledged: redelivered to the next subscriber
	}
	defer s.in.leave()
	now := time.Now().UnixMilli()
	if md, err := msg.Metadata(); err == nil {
		now = md.Timestamp.UnixMilli()
		if md.NumDelivered > 1 {
			s.redelivered.Inc()
		}
	}
	decodeErr, storeErr := s.ingest(msg.Data(), now)
	var err error
	switch {
	case storeErr != nil:
		err = msg.NakWithDelay(s.in.opt.nakDelay)
	case decodeErr != nil:
		err = msg.Term()
	default:
		if s.in.opt.beforeAck != nil {
			s.in.opt.beforeAck(s.in)
		}
		err = msg.Ack()
	}
	if err != nil {
		s.ackErrors.Inc()
		s.logError("cannot acknowledge JetStream message; it will be redelivered", err)
	}
}

// logError logs err with the subscription's identity, at most once per
// ErrorLogInterval; the number of errors not logged since is attached.
func (s *subscription) logError(msg string, err error, attrs ...any) {
	attrs = append(attrs, "subject", s.cfg.Subject, "cluster-tag", s.cfg.ClusterTag)
	s.errLog.log(s.in.log, msg, err, attrs...)
}

// rateLog lets one log line through per interval and counts the others.
type rateLog struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *rateLog) log(l *slog.Logger, msg string, err error, attrs ...any) {
	now := time.Now()
	r.mu.Lock()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.last = now
	n := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	attrs = append(attrs, "error", err)
	if n > 0 {
		attrs = append(attrs, "suppressed", n)
	}
	l.Warn(msg, attrs...)
}
