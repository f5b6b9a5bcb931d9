package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cc-metric-bridge/cc-metric-bridge/auth"
	"github.com/cc-metric-bridge/cc-metric-bridge/compat/influx"
	"github.com/cc-metric-bridge/cc-metric-bridge/compat/promapi"
	"github.com/cc-metric-bridge/cc-metric-bridge/compat/promremote"
	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/config"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/persist"
	"github.com/cc-metric-bridge/cc-metric-bridge/core/persist/ccms"
	"github.com/cc-metric-bridge/cc-metric-bridge/native"
	natsingest "github.com/cc-metric-bridge/cc-metric-bridge/native/nats"
)

// server wires the store, the protocol adapters and the HTTP listener.
type server struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *core.Store
	http    *http.Server
	started time.Time
	ready   atomic.Bool
	persist *persist.Manager
	reg     *prometheus.Registry
	nats    *natsingest.Ingester
}

func newServer(cfg *config.Config, log *slog.Logger, dev bool) (*server, error) {
	metrics := make([]core.MetricConfig, 0, len(cfg.Metrics))
	for name, m := range cfg.Metrics {
		metrics = append(metrics, core.MetricConfig{Name: name, Frequency: m.Frequency, Aggregation: m.Aggregation})
	}
	sort.Slice(metrics, func(i, j int) bool { return metrics[i].Name < metrics[j].Name })
	st, err := core.New(core.Options{
		Metrics:          metrics,
		DefaultFrequency: cfg.Bridge.DefaultFrequency,
		StrictMetrics:    cfg.Bridge.StrictMetrics,
	})
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: log, store: st, started: time.Now()}

	if !dev {
		gin.SetMode(gin.ReleaseMode)
	}
	engine := native.NewEngine()
	var verifier *auth.Verifier
	var authMW gin.HandlerFunc
	if cfg.Main.JWTPublicKey != nil {
		verifier = auth.NewVerifier(cfg.Main.JWTPublicKey)
		authMW = verifier.Middleware()
	} else {
		log.Warn("authentication is off: main.jwt-public-key is not set")
	}
	reg := prometheus.NewRegistry()
	s.reg = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{Name: "ccmb_series", Help: "Series held in memory."},
		func() float64 { return float64(st.NumSeries()) })
	engine.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	native.New(native.Options{
		Metrics:             native.NewMetrics(reg),
		Store:               st,
		MaxRequestBytes:     cfg.Bridge.MaxRequestBytes,
		MaxPointsPerSeries:  int(cfg.Bridge.MaxPointsPerSeries),
		MaxPointsPerRequest: int(cfg.Bridge.MaxPointsPerRequest),
		Auth:                authMW,
		DefaultCluster:      cfg.Bridge.DefaultCluster,
		Health:              s.health,
		Ready:               s.ready.Load,
	}).Register(engine)
	promAPI, err := promapi.New(promapi.Options{
		Store:   st,
		Auth:    authMW,
		Version: version,
		Ready:   s.ready.Load,
	})
	if err != nil {
		return nil, err
	}
	promAPI.Register(engine)
	promremote.New(promremote.Options{
		Store:           st,
		DefaultCluster:  cfg.Bridge.DefaultCluster,
		MaxRequestBytes: cfg.Bridge.MaxRequestBytes,
		Auth:            authMW,
		Registerer:      reg,
		Ready:           s.ready.Load,
		MaxAge:          cfg.MetricStore.RetentionInMemory,
	}).Register(engine)
	// The other adapters answer 503 in their own shapes while restoring;
	// Influx's routes get the gate here.
	influx.New(influx.Options{
		Store:           st,
		DefaultCluster:  cfg.Bridge.DefaultCluster,
		MaxRequestBytes: cfg.Bridge.MaxRequestBytes,
		ClusterFromDB:   cfg.Bridge.InfluxClusterFromDB,
		Verifier:        verifier, // Influx clients send Basic, Token or u/p, not only Bearer
		Metrics:         reg,
	}).Register(engine.Group("", s.readyGate))

	s.http = &http.Server{
		Handler:           engine,
		ReadHeaderTimeout: 10 * time.Second,
		// Large job queries take seconds to stream; the reference allows 30 s.
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.Main.HTTPSCertFile != "" {
		s.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

func (s *server) serve(ln net.Listener) error {
	if s.cfg.Main.HTTPSCertFile != "" {
		return s.http.ServeTLS(ln, s.cfg.Main.HTTPSCertFile, s.cfg.Main.HTTPSKeyFile)
	}
	return s.http.Serve(ln)
}

// restore loads the persisted data and starts logging writes.
func (s *server) restore() error {
	ms := s.cfg.MetricStore
	imported := 0
	importCCMS := func(st *core.Store) error {
		n, err := s.importCCMS(st)
		imported = n
		return err
	}
	m, err := persist.Open(s.store, persist.Options{
		Restorers:        []func(*core.Store) error{importCCMS},
		SnapshotDir:      ms.Checkpoints.Directory,
		WALDir:           filepath.Join(s.cfg.Bridge.DataDir, "wal"),
		Fsync:            s.cfg.Bridge.WALFsync,
		SnapshotInterval: ms.CheckpointInterval,
		MaxWALBytes:      ms.Checkpoints.MaxWALSize,
		Retention:        ms.RetentionInMemory,
		MemoryCap:        uint64(ms.MemoryCap) * 1e9,
		Workers:          ms.NumWorkers,
		Log:              s.log,
		ArchiveDir:       archiveDir(ms.Cleanup),
	})
	if err != nil {
		return fmt.Errorf("cannot restore data: %w", err)
	}
	s.persist = m
	if imported > 0 {
		// Keep the imported data in our own format, so that the import
		// runs once.
		if err := m.Snapshot(); err != nil {
			return err
		}
		if err := os.MkdirAll(s.cfg.Bridge.DataDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(s.importMarker(), []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return fmt.Errorf("cannot record the cc-metric-store import: %w", err)
		}
	}
	return nil
}

// start restores the data, starts NATS ingest and opens the data routes.
func (s *server) start() error {
	if err := s.restore(); err != nil {
		return err
	}
	if err := s.startNATS(); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}

// importMarker records that the cc-metric-store files in the checkpoint
// directory were imported; its presence skips the import.
func (s *server) importMarker() string {
	// In our data directory, not the checkpoint directory: cc-metric-store
	// refuses to start with a file there, and the operator may roll back.
	return filepath.Join(s.cfg.Bridge.DataDir, "imported-from-cc-metric-store")
}

// importCCMS loads a checkpoint directory written by cc-metric-store 1.5
// (JSON, binary snapshots, current.wal), once.
func (s *server) importCCMS(st *core.Store) (int, error) {
	if _, err := os.Stat(s.importMarker()); err == nil {
		return 0, nil
	}
	ms := s.cfg.MetricStore
	stats, err := ccms.Restore(ms.Checkpoints.Directory, st, time.Now().Add(-ms.RetentionInMemory), ms.NumWorkers)
	if err != nil {
		return 0, fmt.Errorf("cannot import cc-metric-store checkpoints: %w", err)
	}
	for _, p := range stats.Problems {
		s.log.Warn("cc-metric-store import: skipped", "problem", p)
	}
	if stats.Files+stats.WALFiles > 0 {
		s.log.Info("imported cc-metric-store checkpoints", "files", stats.Files, "wal_files", stats.WALFiles, "samples", stats.Samples)
	}
	return stats.Files + stats.WALFiles, nil
}

// startNATS subscribes to the configured subjects (nats section).
func (s *server) startNATS() error {
	if s.cfg.NATS == nil {
		return nil
	}
	ext := make([]natsingest.Extension, 0, len(s.cfg.Bridge.NATSSubscriptions))
	for _, e := range s.cfg.Bridge.NATSSubscriptions {
		x := natsingest.Extension{SubscribeTo: e.SubscribeTo, QueueGroup: e.QueueGroup}
		if js := e.JetStream; js != nil {
			x.JetStream = &natsingest.JetStreamOptions{Stream: js.Stream, Durable: js.Durable,
				AckWait: js.AckWait, MaxAckPending: js.MaxAckPending}
		}
		ext = append(ext, x)
	}
	subs, err := natsingest.Merge(s.cfg.MetricStore.NATSSubscriptions, ext)
	if err != nil {
		return err
	}
	for i := range subs {
		if subs[i].ClusterTag == "" {
			subs[i].ClusterTag = s.cfg.Bridge.DefaultCluster
		}
	}
	in, err := natsingest.Start(context.Background(), natsingest.Options{
		Address: s.cfg.NATS.Address, Username: s.cfg.NATS.Username, Password: s.cfg.NATS.Password,
		CredsFile: s.cfg.NATS.CredsFilePath, Subscriptions: subs,
		Store: s.store, Logger: s.log, Metrics: s.reg,
	})
	if err != nil {
		return fmt.Errorf("cannot start NATS ingest: %w", err)
	}
	s.nats = in
	return nil
}

func archiveDir(c config.Cleanup) string {
	if c.Mode == config.CleanupArchive {
		return c.Directory
	}
	return ""
}

// cleanupOnce is -cleanup-checkpoints: restore, release (and archive) what
// is older than the retention, snapshot, exit.
func (s *server) cleanupOnce() error {
	if err := s.restore(); err != nil {
		return err
	}
	rows := s.persist.Cleanup(time.Now())
	s.log.Info("cleanup done", "archived_rows", rows)
	return s.persist.Close()
}

// shutdown stops the listener, drains requests and persists; idempotent.
func (s *server) shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if s.nats != nil {
		err = errors.Join(err, s.nats.Close())
	}
	if s.persist != nil {
		err = errors.Join(err, s.persist.Close())
	}
	return err
}

// readyGate answers the Influx routes with 503 until the restore has
// finished and the WAL is attached: a write accepted before would not be
// logged. /ping stays open, as monitors use it.
func (s *server) readyGate(c *gin.Context) {
	if s.ready.Load() || strings.HasSuffix(c.Request.URL.Path, "/ping") {
		return
	}
	c.Header("Retry-After", "5")
	c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "restoring data: not ready yet"})
}

// health is the answer of /api/healthcheck without a body.
func (s *server) health() any {
	status := "ok"
	if !s.ready.Load() {
		status = "restoring"
	}
	return map[string]any{
		"status":         status,
		"ready":          s.ready.Load(),
		"series":         s.store.NumSeries(),
		"version":        version,
		"uptime-seconds": int64(time.Since(s.started).Seconds()),
	}
}
