// Command previewd runs generated web apps in throwaway, hardened containers
// and serves the preview API.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/docker"
	"github.com/previewd/previewd/server"
	"github.com/previewd/previewd/server/browser"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "previewd:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := parseConfig(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if err := useDevSecret(&cfg, os.Stderr, time.Now()); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("PREVIEW_LOG_LEVEL: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	store, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}

	engine, err := newBackend(cfg, log)
	if err != nil {
		return err
	}
	defer engine.Close()
	if err := engine.Ping(ctx); err != nil {
		return fmt.Errorf("%s engine: %w", cfg.Backend, err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ports, err := sandbox.NewPortPool(cfg.Sandbox.Host, cfg.PortStart, cfg.PortEnd)
	if err != nil {
		return err
	}
	mgr, err := sandbox.NewManager(cfg.Sandbox, engine, store, ports, sandbox.NewMetrics(reg), log)
	if err != nil {
		return err
	}
	mgr.RegisterLive(reg)
	if err := mgr.Adopt(ctx); err != nil {
		log.Error("reconcile previews after start", "err", err)
	}

	if !cfg.Server.ChecksOff && cfg.Chromium != "off" {
		if path, err := browser.Find(cfg.Chromium); err == nil {
			opts := browser.Options{ExecPath: path, MemoryMB: cfg.ChromiumMemoryMB}
			if cfg.PublicDomain != "" {
				// The check's pages are at <preview_id>.<domain>, on loopback.
				opts.HostRules = "MAP *." + cfg.PublicDomain + " 127.0.0.1"
			}
			b := browser.New(opts)
			defer b.Close()
			go func() { // ends once the browser has started (or failed to)
				if err := b.Warm(); err != nil {
					log.Warn("start the browser for the browser check", "err", err)
				}
				log.Info("browser for the browser check", "path", path, "cap", b.Cap())
			}()
			cfg.Server.Browser = b
		} else {
			log.Info("no browser for the browser check: it says unavailable", "err", err)
		}
	}
	// Log streams of previews another previewd on this database runs wake
	// on its stored lines (PostgreSQL LISTEN/NOTIFY) rather than a timer.
	notices, err := db.ListenLogs(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer notices.Close()
	cfg.Server.LogNotices = notices
	api := server.New(cfg.Server, store, mgr, reg, reg, log)
	httpServer := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	httpServer.RegisterOnShutdown(api.Close)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = server.LimitConnsPerIP(ln, cfg.MaxConnsPerIP, reg)
	// The metrics name every running preview: with PREVIEW_METRICS_ADDR they
	// are served on an internal address of their own and not on the public one.
	metricsServer := &http.Server{Handler: api.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
	}
	errc := make(chan error, 3)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		errc <- mgr.Run(ctx)
	}()
	go func() {
		log.Info("previewd listening", "addr", cfg.ListenAddr, "ports", fmt.Sprintf("%d-%d", cfg.PortStart, cfg.PortEnd), "runner_id", cfg.Sandbox.RunnerID)
		if err := httpServer.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if metricsLn != nil {
		go func() {
			log.Info("metrics listening", "addr", cfg.MetricsAddr)
			if err := metricsServer.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("previewd stopping", "err", err)
	}
	stop()
	// Running previews are left running for the next start to adopt.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	shutdownErr := errors.Join(httpServer.Shutdown(shutdownCtx), metricsServer.Shutdown(shutdownCtx))
	// Run's background work (an image copy at start, say) ends with ctx and
	// cleans up after itself; exiting before it would leave its container.
	select {
	case <-runDone:
	case <-shutdownCtx.Done():
	}
	closed := mgr.Close()
	// Says what is left on the engine: the previews, for the next start to
	// adopt, and any warm container that could not be removed.
	log.Info("previewd stopped", "previews_left_running", closed.Previews,
		"warm_containers_removed", closed.WarmRemoved, "warm_containers_left_running", closed.WarmFailed)
	return errors.Join(err, shutdownErr)
}

// newBackend connects to the engine PREVIEW_BACKEND names (parseConfig
// accepts only the known ones).
func newBackend(cfg config, log *slog.Logger) (backend.Backend, error) {
	switch cfg.Backend {
	case backendDocker:
		c := cfg.Docker
		c.Log = log
		return docker.New(c)
	}
	return nil, fmt.Errorf("PREVIEW_BACKEND: unknown backend %q", cfg.Backend)
}
