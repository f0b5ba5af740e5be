// Command previewdev is what `make run` executes: it provides what the server
// needs on a developer's machine (a local PostgreSQL, a JWT secret, a token to
// call the API with), then runs the server binary with that environment.
//
// The local PostgreSQL is left running on exit so that the next run starts in
// a moment; previewdev prints how to stop it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/previewd/previewd/cmd/internal/devtoken"
	"github.com/previewd/previewd/db/localpg"
)

func main() {
	os.Exit(run())
}

// run returns the process exit code: the server's, or 1 when previewdev
// itself fails.
func run() int {
	var (
		dataDir = flag.String("data", ".data", "directory for the local PostgreSQL, the JWT secret and the dev token")
		pgPort  = flag.Int("pg-port", 54329, "TCP port of the local PostgreSQL, when DATABASE_URL is unset")
		user    = flag.String("user", "dev", "subject (user id) of the dev token")
		server  = flag.String("server", "bin/previewd", "server binary to run")
	)
	flag.Parse()
	log := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "previewdev: "+format+"\n", args...) }

	if _, err := os.Stat(*server); err != nil {
		log("server binary: %v (build it with make build)", err)
		return 1
	}
	ctx, stopSetup := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env, cluster, err := devEnv(ctx, *dataDir, *pgPort)
	stopSetup()
	if err != nil {
		log("%v", err)
		return 1
	}

	secret := os.Getenv("PREVIEW_JWT_SECRET")
	if secret == "" {
		if secret, err = devtoken.LoadOrCreateSecret(filepath.Join(*dataDir, "jwt-secret")); err != nil {
			log("%v", err)
			return 1
		}
		env = append(env, "PREVIEW_JWT_SECRET="+secret)
	}
	token, err := devtoken.Mint([]byte(secret), devtoken.Claims{
		Subject:  *user,
		Issuer:   os.Getenv("PREVIEW_JWT_ISSUER"),
		Audience: os.Getenv("PREVIEW_JWT_AUDIENCE"),
		TTL:      devtoken.TTL,
	}, time.Now())
	if err != nil {
		log("%v", err)
		return 1
	}
	tokenFile := filepath.Join(*dataDir, "dev-token")
	if err := devtoken.WritePrivate(tokenFile, token+"\n"); err != nil {
		log("write dev token: %v", err)
		return 1
	}
	printBanner(os.Stderr, baseURL(listenAddr()), token, tokenFile, *user)

	code := runServer(*server, env)
	if cluster != nil {
		log("PostgreSQL is left running so that the next make run starts fast; stop it with:\n  %s", cluster.StopCommand())
	}
	return code
}

// devEnv returns the server's environment: this process's, plus a
// DATABASE_URL for a local cluster in dataDir/pg when DATABASE_URL is unset.
// The cluster is nil when the caller brought its own database.
func devEnv(ctx context.Context, dataDir string, pgPort int) ([]string, *localpg.Cluster, error) {
	env := os.Environ()
	if os.Getenv("DATABASE_URL") != "" {
		return env, nil, nil
	}
	start := time.Now()
	c, err := localpg.Start(ctx, localpg.Options{Dir: filepath.Join(dataDir, "pg"), Port: pgPort, Log: notesOnly{os.Stderr}})
	if err != nil {
		return nil, nil, fmt.Errorf("local postgresql: %w", err)
	}
	dbURL, err := c.CreateDatabase(ctx, "previewd")
	if errors.Is(err, localpg.ErrDatabaseExists) {
		dbURL, err = c.URL("previewd"), nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("local postgresql: %w", err)
	}
	fmt.Fprintf(os.Stderr, "previewdev: PostgreSQL ready in %v: %s\n", time.Since(start).Round(time.Millisecond), dbURL)
	return append(env, "DATABASE_URL="+dbURL), c, nil
}

// notesOnly passes on localpg's own notes (reuse, chmod of a parent dir) and
// drops the chatter of initdb and pg_ctl, which also ends up in any error.
type notesOnly struct{ w io.Writer }

func (n notesOnly) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("localpg: ")) {
		return n.w.Write(p)
	}
	return len(p), nil
}

func listenAddr() string {
	if a := os.Getenv("PREVIEW_LISTEN_ADDR"); a != "" {
		return a
	}
	return ":8080"
}

// runServer runs the server with env and the standard streams, forwards
// signals to it, and returns its exit code, 128+n when signal n ended it, as a
// shell reports it.
//
// The server gets a process group of its own so that each signal reaches it
// exactly once, from us: in our group a Ctrl-C would reach it from the
// terminal and again from us, and a second SIGINT kills a Go server that has
// already called stop() on its signal.NotifyContext, in the middle of its
// graceful shutdown. SIGHUP (terminal closed) and SIGQUIT (Ctrl-\, a
// goroutine dump) are forwarded too, since the terminal no longer sends them
// to the server itself.
func runServer(path string, env []string) int {
	cmd := exec.Command(path)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "previewdev: start server: %v\n", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // ends when the server exits

	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s) // fails only once the server has exited, which done reports
		case err := <-done:
			return exitCode(err)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "previewdev: server: %v\n", err)
		return 1
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}
