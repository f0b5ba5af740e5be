package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// maxStartBody bounds the /start request; an argv and env never come near it.
const maxStartBody = 1 << 20

// execFailedCode is the exit code after the app's command could not be
// executed, as a shell would report a missing command.
const execFailedCode = 127

var errAlreadyStarted = errors.New("app already started")

// errNotWarm answers /warm and /load for a child that was not started warm.
var errNotWarm = errors.New("the app was not started warm")

// errAlreadyLoaded answers a second /load.
var errAlreadyLoaded = errors.New("the app was already loaded")

// startError is a /start request that cannot be honoured as sent.
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

// execError means the app's command could not be executed at all.
type execError struct{ err error }

func (e *execError) Error() string { return e.err.Error() }
func (e *execError) Unwrap() error { return e.err }

type childState int

const (
	idle     childState = iota // waiting for /start
	running                    // child started; exited reports its end
	failed                     // exec failed; execFailed has the code
	stopping                   // signalled before any start; no start allowed
)

// supervisor starts the app at most once and relays signals to it. Later
// versions of the app replace it in place (see reload.go): each runs as a
// child of its own, and only the one serving (current) ends the shim when it
// exits.
type supervisor struct {
	appDir  string
	baseEnv []string
	// migratedDir is where a Django app's migrated database is copied
	// before it serves (see migrated.go).
	migratedDir string
	// output paces the app's output; nil: the app writes to the shim's
	// stdout and stderr directly.
	output *lineLimiter
	// relay is where connections to the app go; reloads move it. Nil in
	// tests that only start an app.
	relay *relayer
	// routes keeps the route tables the children report (see routes.go);
	// nil: children are not told where to report.
	routes *routeTables

	// exited receives the current child's exit code; execFailed receives
	// the code to exit with when the command could not be executed. One
	// value is ever sent on either, so a buffer of one never blocks.
	exited     chan int
	execFailed chan int

	mu    sync.Mutex
	state childState
	// lastID numbers the children, for their route reports.
	lastID int
	// current is the child serving the app, nil before /start.
	current *child
	// live is every child not yet reaped: the current one, a candidate
	// being reloaded, one being retired, a standby preloader.
	live map[*child]struct{}
	// candidate is a new version being started by /reload, standby a
	// preloader kept ready for the next reload, standbyArgv its command.
	candidate   *child
	standby     *child
	standbyArgv []string
	// retiring are versions a reload replaced, finishing their requests.
	retiring map[*child]struct{}
}

// child is one process the shim started, in its own process group.
type child struct {
	pgid int
	// id names the child in its route table reports.
	id int
	// done is closed once the child was reaped; code is its exit code then.
	done chan struct{}
	code int

	// A warm child is a preloader: it starts before the app's files exist,
	// imports its framework, reports ready on its fd 3 and then waits for
	// one line on stdin saying what to load. load is that stdin (guarded by
	// the supervisor's mu); ready is closed when the report came, readyErr
	// set before if it never will.
	load     *os.File
	ready    chan struct{}
	readyErr error

	term sync.Once // SIGTERM goes once (see terminate)
}

func newSupervisor(appDir string, environ []string) *supervisor {
	base := make([]string, 0, len(environ))
	for _, kv := range environ {
		// PREVIEW_* configure the shim, not the app.
		if !strings.HasPrefix(kv, "PREVIEW_") {
			base = append(base, kv)
		}
	}
	return &supervisor{
		appDir:      appDir,
		migratedDir: migratedDir,
		baseEnv:     base,
		exited:      make(chan int, 1),
		execFailed:  make(chan int, 1),
		live:        map[*child]struct{}{},
		retiring:    map[*child]struct{}{},
	}
}

// start runs argv in the app dir, in its own process group so that a
// forwarded signal reaches every process the app spawned. With warm, the
// child is a preloader (see child.load).
func (s *supervisor) start(argv, extraEnv []string, warm bool) error {
	if len(argv) == 0 || argv[0] == "" {
		return &startError{"argv must not be empty"}
	}
	env, err := mergeEnv(s.baseEnv, extraEnv)
	if err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != idle {
		return errAlreadyStarted
	}
	c, err := s.spawn(argv, env, s.appDir, warm)
	if err != nil {
		s.state = failed
		s.execFailed <- execFailedCode
		return err
	}
	s.state = running
	s.current = c
	return nil
}

// spawn starts argv with env in dir as a new child; s.mu is held. The
// error is an *execError.
func (s *supervisor) spawn(argv, env []string, dir string, warm bool) (*child, error) {
	path, err := lookPath(argv[0], env)
	if err != nil {
		return nil, &execError{err}
	}
	if _, err := os.Stat(nodeDrainModule); err == nil {
		env = withNodeDrain(env, nodeDrainModule)
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         env,
		Dir:         dir,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	s.lastID++
	c := &child{done: make(chan struct{}), id: s.lastID}
	if s.routes != nil {
		cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], s.routes.env(c.id))
	}
	var readyR *os.File
	var pacer *outputPacer
	if s.output != nil {
		pacer = newOutputPacer(s.output)
		cmd.Stdout, cmd.Stderr, err = pacer.start(os.Stdout, os.Stderr)
	}
	if warm && err == nil {
		readyR, err = c.warmPipes(cmd)
	}
	if pacer != nil && err == nil {
		f, v := pacer.orderedEnd(3 + len(cmd.ExtraFiles))
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		cmd.Env = append(cmd.Env, v)
	}
	if err == nil {
		err = cmd.Start()
	}
	closeChildEnds(cmd)
	if pacer != nil {
		pacer.closeChildEnds()
	}
	if err != nil {
		if readyR != nil {
			readyR.Close()
			c.load.Close()
		}
		return nil, &execError{err}
	}
	c.pgid = cmd.Process.Pid
	s.live[c] = struct{}{}
	if warm {
		c.ready = make(chan struct{})
		go c.awaitReady(readyR)
	}
	go func() {
		// Ends when the child does; for the current child the shim
		// exits right after.
		_ = cmd.Wait()
		if pacer != nil {
			pacer.finish(outputGrace) // what the app printed is written before the shim exits
		}
		s.reaped(c, exitCode(cmd.ProcessState))
	}()
	return c, nil
}

// reaped records a child's end. Only the serving child's exit ends the
// shim: a retired version's or a failed candidate's does not.
func (s *supervisor) reaped(c *child, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.code = code
	close(c.done)
	delete(s.live, c)
	delete(s.retiring, c)
	if s.routes != nil {
		s.routes.forget(c.id)
	}
	if s.standby == c {
		s.standby = nil
	}
	if s.current == c {
		select {
		case s.exited <- code:
		default:
		}
	}
}

// warmPipes gives a warm child a stdin to receive its load line on and an fd
// 3 to report ready on; it returns the read end of the latter.
func (c *child) warmPipes(cmd *exec.Cmd) (*os.File, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, err
	}
	cmd.Stdin = stdinR
	cmd.ExtraFiles = []*os.File{readyW}
	c.load = stdinW
	return readyR, nil
}

// closeChildEnds closes the child's ends of the warm pipes in this process,
// so that the read ends see EOF when the child closes or exits.
func closeChildEnds(cmd *exec.Cmd) {
	if f, ok := cmd.Stdin.(*os.File); ok {
		f.Close()
	}
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
}

// awaitReady waits for the warm child's ready byte; EOF before it means the
// preloader failed or exited.
func (c *child) awaitReady(r *os.File) {
	defer r.Close()
	var b [1]byte
	if _, err := r.Read(b[:]); err != nil {
		c.readyErr = fmt.Errorf("the preloader exited before it was ready: %w", err)
	}
	close(c.ready) // readyErr is read only after this
}

// waitReady waits until the warm child c is ready to load the app.
func (c *child) waitReady(done <-chan struct{}) error {
	select {
	case <-c.ready:
		return c.readyErr
	case <-done:
		return errors.New("gave up waiting")
	}
}

// waitWarm waits until a warm child is ready to load the app.
func (s *supervisor) waitWarm(done <-chan struct{}) error {
	s.mu.Lock()
	c := s.current
	s.mu.Unlock()
	if c == nil || c.ready == nil {
		return errNotWarm
	}
	return c.waitReady(done)
}

// loadApp hands a warm child its one load line and closes its stdin.
func (s *supervisor) loadApp(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.current
	if c == nil || c.ready == nil {
		return errNotWarm
	}
	return c.loadLine(line)
}

// loadLine hands the warm child c its load line; the supervisor's mu is held.
func (c *child) loadLine(line []byte) error {
	if c.load == nil {
		return errAlreadyLoaded
	}
	w := c.load
	c.load = nil
	defer w.Close()
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("hand the app to the preloader: %w", err)
	}
	return nil
}

// forward delivers sig to the process group of every child. It reports
// whether the shim should keep waiting: false means no app was started and
// none will be.
func (s *supervisor) forward(sig syscall.Signal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case idle, stopping:
		s.state = stopping
		return false
	case running:
		for c := range s.live {
			// ESRCH only means the group is already gone; exited will say so.
			_ = syscall.Kill(-c.pgid, sig)
		}
	}
	return true
}

// exitCode maps a wait status to a shell-style exit code.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// mergeEnv returns base with extra applied on top: a key in extra replaces
// the one in base, in place, so the child sees each key once.
// nodeDrainModule makes SIGTERM a graceful stop of a Node process that
// serves (images/node/drain.js); images without Node lack it.
const nodeDrainModule = "/opt/previewd/drain.js"

// withNodeDrain returns env with module required by every Node process
// (NODE_OPTIONS), before the options env already gives. Without it a
// version of a Node app that the container's own command started (not a
// preloader) dies at SIGTERM with the requests it is answering, when a
// reload retires it.
func withNodeDrain(env []string, module string) []string {
	opt := "--require " + module
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			found = true
			if v != "" {
				kv = "NODE_OPTIONS=" + opt + " " + v
			} else {
				kv = "NODE_OPTIONS=" + opt
			}
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "NODE_OPTIONS="+opt)
	}
	return out
}

func mergeEnv(base, extra []string) ([]string, error) {
	env := append([]string(nil), base...)
	index := make(map[string]int, len(env))
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range extra {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &startError{fmt.Sprintf("env entry %q is not KEY=VALUE", kv)}
		}
		if i, seen := index[k]; seen {
			env[i] = kv
			continue
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	return env, nil
}

// lookPath resolves file against the PATH the child will get, not the
// shim's: the host may point PATH at an installed tool directory.
// Relative PATH entries are skipped for the reason os/exec rejects them.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil // relative names resolve against the app dir
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %q: %w", file, exec.ErrNotFound)
}

// newControlHandler serves the host's control API.
func newControlHandler(sup *supervisor) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("PUT /files", func(w http.ResponseWriter, r *http.Request) {
		err := extractTar(r.Body, sup.appDir)
		var bad *rejectError
		switch {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.As(err, &bad):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case errors.Is(err, syscall.ENOSPC):
			// The upload outgrew the app dir's tmpfs: the app's fault, not ours.
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		default:
			log.Printf("extract files: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Argv []string `json:"argv"`
			Env  []string `json:"env"`
			Warm bool     `json:"warm"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStartBody)).Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("bad start request: %v", err), http.StatusBadRequest)
			return
		}
		err := sup.start(req.Argv, req.Env, req.Warm)
		var bad *startError
		var execErr *execError
		switch {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, errAlreadyStarted):
			http.Error(w, err.Error(), http.StatusConflict)
		case errors.As(err, &bad):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case errors.As(err, &execErr):
			// The app's own log stream is stderr; say it there too so the
			// user sees why their app never came up.
			log.Print(err)
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			_ = http.NewResponseController(w).Flush()
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	// A warm start's preloader reports ready here; the host waits on it
	// before it offers the container to a launch.
	mux.HandleFunc("GET /warm", func(w http.ResponseWriter, r *http.Request) {
		switch err := sup.waitWarm(r.Context().Done()); {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, errNotWarm):
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		}
	})
	// The load line is passed to the preloader as it came: one JSON object
	// saying where and what to run, which the preloader interprets.
	mux.HandleFunc("POST /load", func(w http.ResponseWriter, r *http.Request) {
		line, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStartBody))
		if err != nil {
			http.Error(w, fmt.Sprintf("bad load request: %v", err), http.StatusBadRequest)
			return
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(line, &probe); err != nil {
			http.Error(w, fmt.Sprintf("bad load request: %v", err), http.StatusBadRequest)
			return
		}
		compact := new(bytes.Buffer)
		_ = json.Compact(compact, line) // valid JSON: one line for the preloader
		switch err := sup.loadApp(compact.Bytes()); {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, errNotWarm), errors.Is(err, errAlreadyLoaded):
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /inspect", handleInspect)
	mux.HandleFunc("POST /reload", handleReload(sup))
	mux.HandleFunc("POST /standby", handleStandby(sup))
	mux.HandleFunc("GET /standby", handleStandbyReady(sup))
	mux.HandleFunc("POST /remove", handleRemove(sup))
	mux.HandleFunc("GET /migrated", handleMigrated(sup.migratedDir))
	mux.HandleFunc("GET /routes", handleRoutes(sup))
	return mux
}
