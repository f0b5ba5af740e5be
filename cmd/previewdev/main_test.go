package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func writeScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunServerExitCodeAndEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	server := writeScript(t, `printf '%s' "$DATABASE_URL" > "$OUT"; exit 3`)
	env := append(os.Environ(), "OUT="+out, "DATABASE_URL=postgres://x")
	if code := runServer(server, env); code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "postgres://x" {
		t.Errorf("server saw DATABASE_URL=%q (%v), want postgres://x", b, err)
	}
}

// TestRunServerForwardsSIGTERM sends SIGTERM to the test process itself, as
// `kill` would to previewdev, and expects the server's trap to see it.
func TestRunServerForwardsSIGTERM(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	server := writeScript(t, `trap 'exit 7' TERM
: > "$OUT"
while :; do sleep 0.05; done`)
	env := append(os.Environ(), "OUT="+started)

	codes := make(chan int, 1)
	go func() { codes <- runServer(server, env) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server script did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// runServer registered for SIGTERM before starting the script, so this
	// cannot reach the test process's default handler.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codes:
		if code != 7 {
			t.Errorf("exit code = %d, want 7 from the server's TERM trap", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
}

func TestExitCodeOfSignalledServer(t *testing.T) {
	server := writeScript(t, `kill -KILL $$`)
	if code := runServer(server, os.Environ()); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code = %d, want %d", code, 128+int(syscall.SIGKILL))
	}
}
