package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pidFile is what the postmaster writes to postmaster.pid in its data dir.
type pidFile struct {
	pid  int
	port int
}

// parsePIDFile reads the lines of postmaster.pid that matter here: the first
// is the postmaster's PID, the fourth its port.
func parsePIDFile(text string) (pidFile, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 {
		return pidFile{}, fmt.Errorf("postmaster.pid has %d lines, want at least 4", len(lines))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return pidFile{}, fmt.Errorf("postmaster.pid: bad pid %q", lines[0])
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil || port <= 0 || port > 65535 {
		return pidFile{}, fmt.Errorf("postmaster.pid: bad port %q", lines[3])
	}
	return pidFile{pid: pid, port: port}, nil
}

// runningServer returns the port of the postmaster that runs on dir, or 0
// when none does. A postmaster.pid left behind by a crash names a dead
// process and counts as none: pg_ctl start copes with it.
func runningServer(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read postmaster.pid: %w", err)
	}
	pf, err := parsePIDFile(string(b))
	if err != nil {
		return 0, err
	}
	// EPERM means the process exists but belongs to someone else, which is
	// the normal case when a non-root user looks at another user's server.
	if err := syscall.Kill(pf.pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, nil
	}
	if zombie(pf.pid) {
		return 0, nil
	}
	return pf.port, nil
}

// zombie tells whether pid has exited but not been reaped yet. kill(pid, 0)
// still succeeds then, and a container whose init reaps slowly keeps a killed
// postmaster in that state for a while. Without /proc (not Linux) it says no.
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain ") ".
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// waitAccepting waits until something accepts TCP connections on
// 127.0.0.1:port. A server found by its postmaster.pid may still be starting.
func waitAccepting(ctx context.Context, port int, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to %s: %w", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process may
// take it before postgres binds it; Start retries when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}
