// Package localpg starts and stops a PostgreSQL cluster of its own: throwaway
// ones for tests, and a persistent one in .data/ for `make run`.
//
// It runs initdb, pg_ctl and postgres from the directory BinDir finds. When
// this process is root they run as the postgres user, since initdb and postgres
// refuse to run as root, and the cluster directory is handed to that user.
package localpg

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lib/pq"
)

// ErrDatabaseExists is returned by CreateDatabase when the database is already there.
var ErrDatabaseExists = errors.New("database already exists")

// Options configures a cluster.
type Options struct {
	// Dir holds the data files and the Unix socket. It is created if missing;
	// if it already holds a cluster, that cluster is used as it is (no initdb),
	// and if that cluster's server is running, no second one is started.
	// Empty means a new temporary directory, allowed only with Throwaway.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Throwaway trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off), and makes Stop remove Dir.
	Throwaway bool
	// Log, when set, receives the output of initdb and pg_ctl and notes on
	// what Start did. The server's own log is in Dir/server.log.
	Log io.Writer
}

// Cluster is a running server.
type Cluster struct {
	dir       string // absolute
	port      int
	bin       string
	owner     *account // who runs the programs; nil means this process's user
	throwaway bool
	log       io.Writer

	mu      sync.Mutex
	stopped bool
}

const (
	// startTries bounds the retries when another process takes the free port
	// between freePort and postgres binding it.
	startTries = 3
	// pgctlTimeout is how long pg_ctl waits for start or stop, in seconds.
	pgctlTimeout = 60
	// maxSocketPath is the room in sockaddr_un.sun_path, less the final NUL.
	maxSocketPath = 107
)

// Start initialises the cluster in opt.Dir if needed, starts its server, and
// returns once the server accepts connections.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	owner, err := lookupServerUser()
	if err != nil {
		return nil, err
	}
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	dir, err := prepareDir(opt, owner, log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, owner: owner, throwaway: opt.Throwaway, log: log}

	port, err := runningServer(dir)
	if err != nil {
		return nil, err
	}
	if port != 0 {
		if opt.Port != 0 && opt.Port != port {
			fmt.Fprintf(log, "localpg: %s is already served on port %d, not %d; using it\n", dir, port, opt.Port)
		}
		err := waitAccepting(ctx, port, 10*time.Second)
		if err == nil {
			fmt.Fprintf(log, "localpg: reusing the server already running on %s, port %d\n", dir, port)
			c.port = port
			return c, nil
		}
		// A server that was shutting down or had crashed is gone by now;
		// then start a new one below.
		if again, _ := runningServer(dir); again != 0 {
			return nil, fmt.Errorf("server of %s (postmaster.pid) does not answer; if none is running, remove %s: %w",
				dir, filepath.Join(dir, "postmaster.pid"), err)
		}
	}

	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, c.cleanup(err)
		}
	}
	if err := c.start(ctx, opt.Port); err != nil {
		return nil, c.cleanup(err)
	}
	return c, nil
}

// prepareDir creates the cluster directory and, when the programs run as
// another user, hands it to that user.
func prepareDir(opt Options, owner *account, log io.Writer) (string, error) {
	var dir string
	switch {
	case opt.Dir != "":
		abs, err := filepath.Abs(opt.Dir)
		if err != nil {
			return "", fmt.Errorf("cluster dir: %w", err)
		}
		dir = abs
		// Parents get 0755 rather than 0700 so that the postgres user can
		// pass through them; the cluster dir itself is private, as initdb wants.
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", fmt.Errorf("cluster dir: %w", err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("cluster dir: %w", err)
		}
	case opt.Throwaway:
		d, err := os.MkdirTemp("", "localpg-")
		if err != nil {
			return "", fmt.Errorf("cluster dir: %w", err)
		}
		dir = d
	default:
		return "", errors.New("cluster dir: Dir is required unless Throwaway is set")
	}
	if owner == nil {
		return dir, nil
	}
	if err := makeReachable(dir, owner, log); err != nil {
		return "", err
	}
	if err := chownTree(dir, owner); err != nil {
		return "", fmt.Errorf("give %s to user %s: %w", dir, serverUser, err)
	}
	return dir, nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	args := []string{"-D", c.dir, "-A", "trust", "-U", "postgres", "-E", "UTF8",
		// The C locale sorts bytewise whatever the caller's environment says,
		// and goes with UTF8 where an inherited LANG might not.
		"--no-locale", "--no-instructions"}
	if c.throwaway {
		args = append(args, "--no-sync")
	}
	start := time.Now()
	if err := c.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("initdb %s: %w", c.dir, err)
	}
	fmt.Fprintf(c.log, "localpg: initdb %s took %v\n", c.dir, time.Since(start).Round(time.Millisecond))
	return nil
}

// start runs pg_ctl start, picking a new free port on a bind failure when the
// caller left the choice to us.
func (c *Cluster) start(ctx context.Context, wantPort int) error {
	var err error
	for try := 1; try <= startTries; try++ {
		port := wantPort
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		var inUse bool
		inUse, err = c.pgctlStart(ctx, port)
		if err == nil {
			c.port = port
			return nil
		}
		if !inUse || wantPort != 0 {
			return err
		}
		fmt.Fprintf(c.log, "localpg: port %d was taken, trying another\n", port)
	}
	return err
}

// pgctlStart starts the server on port and reports, on failure, whether the
// port was in use. The settings go on the command line rather than into
// postgresql.conf so that a cluster made elsewhere gets them too.
func (c *Cluster) pgctlStart(ctx context.Context, port int) (inUse bool, err error) {
	settings := []string{
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=200",
	}
	if len(c.dir)+len("/.s.PGSQL.")+len(strconv.Itoa(port)) <= maxSocketPath {
		settings = append(settings, "-c", "unix_socket_directories="+c.dir)
	} else {
		// A path too long for a socket address makes postgres refuse to
		// start; TCP is all that URL uses.
		fmt.Fprintf(c.log, "localpg: %s is too long for a Unix socket path; TCP only\n", c.dir)
		settings = append(settings, "-c", "unix_socket_directories=")
	}
	if c.throwaway {
		settings = append(settings, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	quoted := make([]string, len(settings))
	for i, s := range settings {
		quoted[i] = shellQuote(s) // pg_ctl passes -o through /bin/sh
	}

	logFile := filepath.Join(c.dir, "server.log")
	var logStart int64
	if fi, err := os.Stat(logFile); err == nil {
		logStart = fi.Size()
	}
	err = c.run(ctx, "pg_ctl", "start", "-D", c.dir, "-l", logFile, "-w", "-t", strconv.Itoa(pgctlTimeout),
		"-o", strings.Join(quoted, " "))
	if err == nil {
		return false, nil
	}
	serverLog := readFrom(logFile, logStart)
	inUse = strings.Contains(serverLog, "Address already in use")
	return inUse, fmt.Errorf("start postgres on port %d (server log: %s): %w", port, lastLines(serverLog, 5), err)
}

// URL returns the URL of database on this cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, url.PathEscape(database))
}

// CreateDatabase creates the database name, which must match [a-z0-9_]+, and
// returns its URL. The error wraps ErrDatabaseExists when it is already there.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	if !validDatabaseName(name) {
		return "", fmt.Errorf("create database %q: name must match [a-z0-9_]+ and be at most 63 bytes", name)
	}
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "42P04" { // duplicate_database
			return "", fmt.Errorf("create database %s: %w", name, ErrDatabaseExists)
		}
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

func validDatabaseName(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Stop stops the server (fast shutdown; immediate for a throwaway cluster,
// whose data nobody keeps) and removes Dir of a throwaway cluster. A server
// that is no longer running counts as stopped. Calling Stop again does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), (pgctlTimeout+10)*time.Second)
	defer cancel()

	var errs []error
	port, err := runningServer(c.dir)
	switch {
	case err != nil:
		errs = append(errs, err)
	case port != 0:
		mode := "fast"
		if c.throwaway {
			mode = "immediate"
		}
		if err := c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", mode, "-w", "-t", strconv.Itoa(pgctlTimeout)); err != nil {
			errs = append(errs, fmt.Errorf("stop postgres on %s: %w", c.dir, err))
		}
	}
	if c.throwaway && len(errs) == 0 {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove cluster dir: %w", err))
		}
	}
	if len(errs) == 0 {
		c.stopped = true
	}
	return errors.Join(errs...)
}

// StopCommand returns a shell command that stops this cluster's server, for
// people who leave it running on purpose.
func (c *Cluster) StopCommand() string {
	cmd := shellQuote(filepath.Join(c.bin, "pg_ctl")) + " -D " + shellQuote(c.dir) + " stop"
	if c.owner != nil {
		cmd = "runuser -u " + serverUser + " -- " + cmd
	}
	return cmd
}

// cleanup removes what a failed Start of a throwaway cluster left behind and
// returns err, so that failed test runs do not fill /tmp.
func (c *Cluster) cleanup(err error) error {
	if !c.throwaway {
		return err
	}
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		return errors.Join(err, fmt.Errorf("remove cluster dir: %w", rmErr))
	}
	return err
}

// run runs one of the PostgreSQL programs in the cluster dir, as the cluster's
// owner. Its output goes to c.log, and its last lines into the error.
func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	// The cluster dir, because the caller's working directory (say /root) may
	// be closed to the postgres user.
	cmd.Dir = c.dir
	var out bytes.Buffer
	w := io.MultiWriter(&out, c.log)
	cmd.Stdout, cmd.Stderr = w, w
	// pg_ctl start sends the server's output to the log file, but should
	// anything inherit our pipe, Wait must not hang on it.
	cmd.WaitDelay = 5 * time.Second
	if cred := c.owner.credential(); cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s: %w", name, lastLines(out.String(), 5), err)
	}
	return nil
}

// lastLines returns the last n non-empty lines of s joined by " | ", to fit a
// program's complaint into a one-line error.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return "no output"
	}
	return strings.Join(lines, " | ")
}

// readFrom returns what was appended to path after offset, or "" if it cannot
// be read.
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// shellQuote quotes s for /bin/sh, leaving plain words such as paths bare
// so that a printed command reads naturally.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-=,:@+", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
