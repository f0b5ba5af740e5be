// Command previewshim is the entrypoint of every preview container.
//
// It serves a small control API on $PREVIEW_RUN_DIR/control.sock (upload the
// app's files, start the app) and relays each connection accepted on
// $PREVIEW_RUN_DIR/app.sock to the app's TCP port on loopback, so the host can
// reach an app in a container that has no network at all. Once the app is
// started the shim lives exactly as long as the app and exits with its code.
// The app's own route table reaches it on a socket in $TMPDIR (routes.go).
//
// Docker runs it under --init, so it does not reap orphans itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// config is everything the shim reads from its environment.
type config struct {
	runDir  string
	appDir  string
	appPort int
	// outputLines is how many lines a second the app may print (stdout and
	// stderr together); 0 leaves it unpaced.
	outputLines int
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("previewshim: ")
	os.Exit(run())
}

func loadConfig() (config, error) {
	cfg := config{
		runDir:  envOr("PREVIEW_RUN_DIR", "/run/preview"),
		appDir:  envOr("PREVIEW_APP_DIR", "/app"),
		appPort: 8000,
	}
	if s := os.Getenv("PREVIEW_OUTPUT_LINES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return config{}, fmt.Errorf("invalid PREVIEW_OUTPUT_LINES %q", s)
		}
		cfg.outputLines = n
	}
	if s := os.Getenv("PREVIEW_APP_PORT"); s != "" {
		port, err := strconv.Atoi(s)
		if err != nil || port < 1 || port > 65535 {
			return config{}, fmt.Errorf("invalid PREVIEW_APP_PORT %q", s)
		}
		cfg.appPort = port
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// run returns the process exit code: the child's once one was started.
func run() int {
	cfg, err := loadConfig()
	if err != nil {
		log.Print(err)
		return 2
	}

	// Subscribe before anything else so that a SIGTERM arriving during
	// start-up is not lost to the default action.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	controlLn, err := listenUnix(filepath.Join(cfg.runDir, "control.sock"))
	if err != nil {
		log.Print(err)
		return 1
	}
	appLn, err := listenUnix(filepath.Join(cfg.runDir, "app.sock"))
	if err != nil {
		log.Print(err)
		return 1
	}

	sup := newSupervisor(cfg.appDir, os.Environ())
	routesLn, err := listenRoutes(os.TempDir())
	if err != nil {
		// The app runs all the same; previewd lists its routes from its
		// files alone.
		log.Print(err)
	} else {
		sup.routes = newRouteTables(routesLn.Addr().String())
	}
	if cfg.outputLines > 0 {
		sup.output = newLineLimiter(cfg.outputLines, os.Stderr)
	}
	relay := newRelayer(cfg.appPort, listeningPorts)
	sup.relay = relay
	srv := &http.Server{
		Handler:           newControlHandler(sup),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.Default(),
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(controlLn) }()
	go func() { serveErr <- relay.serve(appLn) }()
	if sup.routes != nil {
		go func() {
			// A failed accept costs only the route table, not the app.
			if err := sup.routes.serve(routesLn, sup.isLive); err != nil {
				log.Print(err)
			}
		}()
	}

	for {
		select {
		case sig := <-sigs:
			if !sup.forward(sig.(syscall.Signal)) {
				return 0 // nothing started, so nothing to wait for
			}
			// Forwarded: keep waiting for the child to exit.
		case code := <-sup.exited:
			reportPidsAtExit()
			// An app that dies at once may do so before its /start got
			// its 204; let that answer out too.
			drain(srv)
			return code
		case code := <-sup.execFailed:
			drain(srv) // let the 422 reach the host before the container goes
			return code
		case err := <-serveErr:
			log.Print(err)
			sup.forward(syscall.SIGTERM)
			return 1
		}
	}
}

// drain stops the control server, giving responses being written a moment
// to finish: Shutdown returns once every connection is idle.
func drain(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// listenUnix listens on a fresh unix socket at path that any user may
// connect to: the host side does not run as the container's uid.
func listenUnix(path string) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return ln, nil
}
