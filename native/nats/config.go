package nats

import (
	"fmt"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/config"
)

// Extension holds the bridge's own options for the reference subscriptions
// of one subject (config: an entry of bridge.nats-subscriptions). The
// reference's metric-store.nats-subscriptions entries cannot take new keys
// (cc-metric-store rejects unknown keys), so these live in the bridge
// section and are matched by subject.
type Extension struct {
	// SubscribeTo names the subject, as in the reference entry.
	SubscribeTo string
	// QueueGroup joins a core NATS queue group (queue-group).
	QueueGroup string
	// JetStream consumes through a durable consumer (jetstream).
	JetStream *JetStreamOptions
}

// Merge returns one Subscription per reference entry, in order, with the
// options of the extension of the same subject. An extension that matches
// no reference entry is an error (a misspelt subject would otherwise be
// ignored silently), and so are two extensions of one subject. Start
// checks the rest (queue group and JetStream together, a durable used
// twice).
func Merge(ref []config.NATSSubscription, ext []Extension) ([]Subscription, error) {
	byName := make(map[string]*Extension, len(ext))
	used := make(map[string]bool, len(ext))
	for i := range ext {
		e := &ext[i]
		if e.SubscribeTo == "" {
			return nil, fmt.Errorf("nats: bridge.nats-subscriptions[%d]: subscribe-to is empty", i)
		}
		if byName[e.SubscribeTo] != nil {
			return nil, fmt.Errorf("nats: bridge.nats-subscriptions: subject %q appears twice", e.SubscribeTo)
		}
		byName[e.SubscribeTo] = e
	}
	out := make([]Subscription, 0, len(ref))
	for _, r := range ref {
		s := Subscription{Subject: r.SubscribeTo, ClusterTag: r.ClusterTag}
		if e := byName[r.SubscribeTo]; e != nil {
			used[e.SubscribeTo] = true
			s.Queue = e.QueueGroup
			if e.JetStream != nil {
				js := *e.JetStream
				s.JetStream = &js
			}
		}
		out = append(out, s)
	}
	for i := range ext {
		if !used[ext[i].SubscribeTo] {
			return nil, fmt.Errorf("nats: bridge.nats-subscriptions: subject %q is not in metric-store.nats-subscriptions", ext[i].SubscribeTo)
		}
	}
	return out, nil
}
