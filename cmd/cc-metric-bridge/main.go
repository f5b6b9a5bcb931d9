// Command cc-metric-bridge serves one in-memory metric store through the
// cc-metric-store API and compatibility adapters for other protocols.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cc-metric-bridge/cc-metric-bridge/core/config"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "0.1.0-dev"
	commit  = "unknown"
	date    = "unknown"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cc-metric-bridge:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("cc-metric-bridge", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "path to a cc-metric-store config file (default: the embedded config)")
	dev := fs.Bool("dev", false, "development mode: gin's debug mode (route table and request logging)")
	// Flags of cc-metric-store accepted so that its unit files keep working.
	gops := fs.Bool("gops", false, "accepted for cc-metric-store compatibility; no gops agent is started")
	fs.Bool("logdate", false, "accepted for cc-metric-store compatibility; log lines always carry the time")
	cleanup := fs.Bool("cleanup-checkpoints", false, "restore, release (or archive, per metric-store.cleanup) the data older than the retention, snapshot and exit")
	logLevel := fs.String("loglevel", "warn", "log level: debug, info, warn, err, crit")
	showVersion := fs.Bool("version", false, "print version information and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Printf("Version:\t%s\nGit hash:\t%s\nBuild time:\t%s\n", version, commit, date)
		return nil
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	for _, w := range unusedSettings(cfg, *gops) {
		log.Warn(w)
	}
	srv, err := newServer(cfg, log, *dev)
	if err != nil {
		return err
	}
	if *cleanup {
		return srv.cleanupOnce()
	}
	ln, err := net.Listen("tcp", cfg.Main.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %q: %w", cfg.Main.Addr, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", version)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	// The listener answers at once (healthcheck: not ready) while the data
	// is restored; data routes answer 503 until then.
	go func() { errc <- srv.serve(ln) }()
	err = srv.start()
	if err == nil {
		select {
		case err = <-errc:
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
		case <-ctx.Done():
			log.Info("shutting down")
		}
	}
	// One path for signals and start-up errors: stop accepting, drain
	// in-flight requests, flush the WAL, write the final snapshot.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(err, srv.shutdown(shutdownCtx))
}

// parseLevel maps cc-metric-store's log levels onto slog's.
func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "err", "error", "crit":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid -loglevel %q: want debug, info, warn, err or crit", s)
}

// unusedSettings names the configured settings this version accepts but does
// not act on yet, so that none is ignored silently.
func unusedSettings(cfg *config.Config, gops bool) []string {
	var out []string
	if cfg.NATS == nil && (len(cfg.MetricStore.NATSSubscriptions) > 0 || len(cfg.Bridge.NATSSubscriptions) > 0) {
		out = append(out, "nats-subscriptions are set but there is no nats section: NATS ingest is off")
	}
	if cfg.Main.User != "" || cfg.Main.Group != "" {
		out = append(out, "main.user/main.group are accepted but privileges are not dropped: run the server as the intended user")
	}
	if cfg.Main.BackendURL != "" {
		out = append(out, "main.backend-url is accepted but not used (no node provider)")
	}
	if cfg.MetricStore.Checkpoints.FileFormat == config.FileFormatJSON {
		out = append(out, "metric-store.checkpoints.file-format \"json\" is accepted but snapshots use the bridge's own lossless format (cc-metric-store JSON and binary files are still imported)")
	}
	if cfg.Main.Debug.DumpToFile != "" || cfg.MetricStore.Debug.DumpToFile != "" {
		out = append(out, "debug.dump-to-file is accepted but not used (cc-metric-store ignores it too)")
	}
	if gops || cfg.Main.Debug.Gops || cfg.MetricStore.Debug.Gops {
		out = append(out, "gops is accepted but no gops agent is started")
	}
	return out
}
