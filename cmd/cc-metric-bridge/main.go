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
	dev := fs.Bool("dev", false, "development mode: debug routes and verbose errors")
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
	srv, err := newServer(cfg, log, *dev)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Main.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %q: %w", cfg.Main.Addr, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", version)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.shutdown(shutdownCtx)
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
