// Package config reads cc-metric-store 1.5 configuration files unchanged,
// plus the bridge's own section.
//
// The file is one JSON object whose members are sections: "main" (required),
// "metrics", "metric-store", "nats" (optional) and "bridge" (ours, optional).
// Every section is decoded strictly, so a misspelt key is an error instead of
// a silently ignored setting. As in cc-metric-store (cc-lib's loader), a
// member "<section>-file": "<path>" reads a single-word section from another
// file; relative paths are taken relative to the config file's directory.
//
// Load and Parse return a Config with every default applied and every
// duration parsed. Validation problems are errors that name the key
// ("config: metric-store.retention-in-memory: invalid duration \"x\"");
// problems cc-metric-store only warns about (an unknown aggregation string)
// are collected in Config.Warnings for the caller to log.
package config

import (
	"crypto/ed25519"
	_ "embed"
	"fmt"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"path/filepath"
	"time"
)

// Defaults applied when a key is absent. The embedded default config spells
// out the same values.
const (
	// DefaultCheckpointInterval is metric-store.checkpoint-interval's default
	// (cc-metric-store's).
	DefaultCheckpointInterval = 12 * time.Hour
	// DefaultCheckpointDir is metric-store.checkpoints.directory's default
	// (cc-metric-store's).
	DefaultCheckpointDir = "./var/checkpoints"
	// MaxDefaultNumWorkers caps the computed default of
	// metric-store.num-workers, as cc-metric-store does.
	MaxDefaultNumWorkers = 10

	// DefaultFrequency is bridge.default-frequency's default, in seconds.
	DefaultFrequency = 60
	// DefaultMaxRequestBytes is bridge.max-request-bytes's default (256 MiB),
	// large enough for a full cc-metric-collector batch of a big node.
	DefaultMaxRequestBytes = 256 << 20
	// DefaultMaxPointsPerSeries is bridge.max-points-per-series's default:
	// about 11.5 days of 1 s data, or 1.9 years at 60 s.
	DefaultMaxPointsPerSeries = 1_000_000
	// DefaultMaxPointsPerRequest is bridge.max-points-per-request's default;
	// at 8 bytes per value it bounds one answer's data to about 400 MB.
	DefaultMaxPointsPerRequest = 50_000_000
	// DefaultDataDir is bridge.data-dir's default.
	DefaultDataDir = "./var"
	// DefaultWALFsync is bridge.wal-fsync's default: at most this much
	// acknowledged data is lost on power failure.
	DefaultWALFsync = time.Second
)

// Checkpoint file formats (metric-store.checkpoints.file-format).
const (
	FileFormatWAL  = "wal"
	FileFormatJSON = "json"
)

// Cleanup modes (metric-store.cleanup.mode).
const (
	CleanupDelete  = "delete"
	CleanupArchive = "archive"
)

// Config is a loaded configuration with defaults applied.
type Config struct {
	// Path is the file the config was loaded from; "" for the embedded
	// default and for Parse.
	Path string

	Main Main
	// Metrics maps a metric name to its configuration. It is empty, never
	// nil, when the file has no metrics section.
	Metrics     map[string]Metric
	MetricStore MetricStore
	// NATS is nil when the file has no nats section (HTTP ingest only).
	NATS   *NATS
	Bridge Bridge

	// Warnings lists problems cc-metric-store only logs (for example an
	// unknown aggregation string); the caller logs them at warn level.
	Warnings []string
}

// Main is the "main" section.
type Main struct {
	// Addr is the listen address. Empty means what it means to net.Listen
	// (any free port), as in cc-metric-store.
	Addr string
	// HTTPSCertFile and HTTPSKeyFile enable TLS; Parse rejects a config
	// that sets only one of them (cc-metric-store silently serves plain
	// HTTP then).
	HTTPSCertFile string
	HTTPSKeyFile  string
	// User and Group name the account to switch to after binding.
	User  string
	Group string
	// BackendURL is cc-backend's base URL for the node provider.
	BackendURL string
	// JWTPublicKey verifies tokens; nil means authentication is off.
	JWTPublicKey ed25519.PublicKey
	Debug        Debug
}

// Debug is the "debug" object of main and metric-store.
type Debug struct {
	// DumpToFile is accepted for compatibility; cc-metric-store ignores it.
	DumpToFile string
	// Gops starts the gops agent.
	Gops bool
}

// Aggregation is core's type, so that config values need no mapping.
type Aggregation = core.Aggregation

// Aggregations: none (JSON null: more than one child is an error), sum, avg.
const (
	AggNone = core.AggNone
	AggSum  = core.AggSum
	AggAvg  = core.AggAvg
)

// ParseAggregation maps a config aggregation string to its value. The empty
// string is none, as in cc-metric-store; ok is false for anything else
// unknown (the caller decides whether that is an error).
func ParseAggregation(s string) (a Aggregation, ok bool) {
	switch s {
	case "":
		return AggNone, true
	case "sum":
		return AggSum, true
	case "avg":
		return AggAvg, true
	}
	return AggNone, false
}

// Metric is one entry of the "metrics" section.
type Metric struct {
	// Frequency is the sampling interval in seconds, always > 0.
	Frequency   int64
	Aggregation Aggregation
}

// MetricStore is the "metric-store" section.
type MetricStore struct {
	// RetentionInMemory is how long data stays in memory (> 0).
	RetentionInMemory time.Duration
	// MemoryCap is the memory limit in GB; 0 means no cap, as the
	// cc-metric-store documentation says (its code treats 0 as always
	// exceeded).
	MemoryCap int64
	// CheckpointInterval is the time between snapshots (> 0).
	CheckpointInterval time.Duration
	// NumWorkers is the number of checkpoint/archive workers; a value <= 0
	// in the file becomes min(NumCPU/2+1, 10).
	NumWorkers  int
	Checkpoints Checkpoints
	Cleanup     Cleanup
	// NATSSubscriptions are the subjects to ingest line protocol from.
	NATSSubscriptions []NATSSubscription
	Debug             Debug
}

// Checkpoints is metric-store.checkpoints.
type Checkpoints struct {
	// FileFormat is FileFormatWAL (default) or FileFormatJSON.
	FileFormat string
	// Directory is the checkpoint root (default DefaultCheckpointDir).
	Directory string
	// MaxWALSize (bytes) starts a snapshot early when the current WAL
	// segment grows past it, bounding disk use and replay time; 0 means
	// persist.DefaultMaxWALBytes (512 MiB). (cc-metric-store deletes an
	// oversized WAL instead, losing its data.)
	MaxWALSize int64
}

// Cleanup is metric-store.cleanup.
type Cleanup struct {
	// Mode is CleanupDelete (default) or CleanupArchive.
	Mode string
	// Directory is the Parquet archive root; set whenever Mode is
	// CleanupArchive.
	Directory string
}

// NATSSubscription is one entry of metric-store.nats-subscriptions.
type NATSSubscription struct {
	// SubscribeTo is the subject (never empty).
	SubscribeTo string
	// ClusterTag is the cluster for lines without a cluster tag.
	ClusterTag string
}

// NATS is the "nats" section: the broker connection.
type NATS struct {
	// Address is the server URL (never empty).
	Address       string
	Username      string
	Password      string
	CredsFilePath string
}

// Bridge is the "bridge" section: settings cc-metric-store does not have.
// Every key is optional.
type Bridge struct {
	// DefaultFrequency (default-frequency, seconds, default 60) is the
	// frequency given to metrics registered on first write.
	DefaultFrequency int64
	// StrictMetrics (strict-metrics, default false): when true, samples of
	// metrics not in the metrics section are skipped and counted, as
	// cc-metric-store does; when false such metrics are registered on
	// first write with DefaultFrequency and aggregation sum.
	StrictMetrics bool
	// DefaultCluster (default-cluster, default "") is the cluster for
	// samples that name none, after the request's own default.
	DefaultCluster string
	// MaxRequestBytes (max-request-bytes, default 256 MiB) is the largest
	// accepted request body, after decompression.
	MaxRequestBytes int64
	// MaxPointsPerSeries (max-points-per-series, default 1,000,000): a
	// native query entry that would return more points, padding included,
	// becomes a per-entry error.
	MaxPointsPerSeries int64
	// MaxPointsPerRequest (max-points-per-request, default 50,000,000): a
	// native query whose answer would hold more points is rejected with 400.
	MaxPointsPerRequest int64
	// DataDir (data-dir, default ./var) is the root of the bridge's own
	// files; the write-ahead log lives in <data-dir>/wal.
	DataDir string
	// WALFsync (wal-fsync, default "1s") is how often the write-ahead log
	// is fsynced: it bounds what a power failure can lose. "always" (0
	// here) fsyncs before every acknowledgement. A process crash loses
	// nothing acknowledged either way.
	WALFsync time.Duration
	// InfluxClusterFromDB (influx-cluster-from-db, default false): the
	// Influx v1 db / v2 bucket names the cluster of lines without a
	// cluster tag when the request has no ?cluster=; otherwise db and
	// bucket are ignored.
	InfluxClusterFromDB bool
	// NATSSubscriptions (nats-subscriptions) extend the reference's
	// metric-store.nats-subscriptions, matched by subject, with a queue
	// group or a JetStream durable consumer (see docs/nats.md).
	NATSSubscriptions []BridgeNATSSubscription
}

// BridgeNATSSubscription is one entry of bridge.nats-subscriptions.
type BridgeNATSSubscription struct {
	SubscribeTo string
	QueueGroup  string
	JetStream   *BridgeJetStream
}

// BridgeJetStream binds a subscription to a JetStream durable consumer.
type BridgeJetStream struct {
	Stream, Durable string
	AckWait         time.Duration
	MaxAckPending   int
}

//go:embed default.json
var defaultJSON []byte

// DefaultJSON returns the embedded default config file, e.g. to print it as
// a starting point.
func DefaultJSON() []byte {
	return append([]byte(nil), defaultJSON...)
}

// Default returns the embedded default config: listen on 127.0.0.1:8080, no
// authentication, 48h retention, a few typical ClusterCockpit metrics and the
// bridge defaults. Each call returns a fresh copy.
func Default() *Config {
	c, err := Parse(defaultJSON, "")
	if err != nil {
		panic("BUG: embedded default config: " + err.Error())
	}
	return c
}

// Load reads the config file at path; "" means the embedded default.
// "<section>-file" paths are relative to path's directory.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot read config file: %w", err)
	}
	c, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	c.Path = path
	return c, nil
}
