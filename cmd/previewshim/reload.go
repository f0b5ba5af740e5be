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
	"slices"
	"syscall"
	"time"
)

// Reloading in place: POST /reload starts the app's next version as a new
// child on another port while the current one keeps serving, waits until it
// answers HTTP, moves the relay to it and then retires the old one. A
// version that exits or never answers is killed and the old one serves on.
// POST /standby keeps a preloader ready so that the next version starts from
// an interpreter that has its framework imported already.

const (
	// healthPoll is how often a candidate's port is probed.
	healthPoll = 5 * time.Millisecond
	// healthProbeTimeout bounds one probe of a candidate.
	healthProbeTimeout = 2 * time.Second
	// retireGrace is how long a retired version has to finish the requests
	// it is answering after SIGTERM, before it is killed.
	retireGrace = 5 * time.Second
	// drainMax bounds the wait for a retired version's connections to go
	// idle before it is sent SIGTERM.
	drainMax = 2 * time.Second
	// portFreeWait bounds the wait for a killed version's port to close.
	portFreeWait = 2 * time.Second
)

var (
	errNotRunning = errors.New("no app is running")
	errReloading  = errors.New("a reload is already in progress")
	errPortBusy   = errors.New("something listens on that port already")
)

// reloadRequest is the body of POST /reload.
type reloadRequest struct {
	// Command is argv run in the app dir, as /start runs it.
	Command []string `json:"command"`
	// Exec, run in Dir, is the same command for a preloader to become; nil
	// when only Command can run it.
	Exec []string `json:"exec"`
	Dir  string   `json:"dir"`
	// Env is added to the shim's environment; it says where to listen.
	Env []string `json:"env"`
	// Port is where the new version listens; it must not be the current one's.
	Port int `json:"port"`
	// Preload, when set, is a preloader's argv: one is kept ready for the
	// next reload from then on.
	Preload []string `json:"preload"`
}

// reloadAnswer is the body of a successful POST /reload.
type reloadAnswer struct {
	Port      int   `json:"port"`
	Preloaded bool  `json:"preloaded"` // started from a standby preloader
	StartMS   int64 `json:"start_ms"`
	HealthyMS int64 `json:"healthy_ms"`
}

// reloadFailure is the body of a 422 answer: the new version exited.
type reloadFailure struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

// conflictAnswer is the body of a 409 answer to /reload.
type conflictAnswer struct {
	Error string `json:"error"`
	Port  int    `json:"port"` // the port the current version listens on
}

// beginReload starts the candidate for req; on success the caller owns it
// and must finish with promote or abandon.
func (s *supervisor) beginReload(req reloadRequest, done <-chan struct{}) (*child, bool, error) {
	env, err := mergeEnv(s.baseEnv, req.Env)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	switch {
	case s.state != running || s.current == nil:
		s.mu.Unlock()
		return nil, false, errNotRunning
	case s.candidate != nil:
		s.mu.Unlock()
		return nil, false, errReloading
	}
	// A version still finishing its requests from the last reload may hold
	// the port the new one is to take: it is asked to stop now, and given
	// retireGrace to finish what it answers (killing it at once dropped
	// those requests).
	var retiring []*child
	for c := range s.retiring {
		retiring = append(retiring, c)
	}
	s.candidate = &child{} // holds the turn meanwhile
	s.mu.Unlock()
	for _, c := range retiring {
		s.retire(c)
	}
	if !s.portFree(req.Port, done) {
		s.mu.Lock()
		s.candidate = nil
		s.mu.Unlock()
		return nil, false, errPortBusy
	}
	s.mu.Lock()
	if req.Preload != nil {
		s.standbyArgv = req.Preload
	}
	standby := s.standby
	if req.Exec == nil || !standby.isReady() {
		// One still importing its framework shares the container's CPU
		// with a cold start, so it is not waited for: it serves the next
		// reload.
		standby = nil
	}
	if standby != nil {
		s.standby = nil
		s.candidate = standby
	} else {
		c, err := s.spawn(req.Command, env, s.appDir, false)
		s.candidate = c
		s.mu.Unlock()
		return c, false, err
	}
	s.mu.Unlock()

	line, _ := json.Marshal(map[string]any{"argv": req.Exec, "env": req.Env, "dir": req.Dir})
	err = standby.waitReady(done)
	if err == nil {
		s.mu.Lock()
		err = standby.loadLine(line)
		s.mu.Unlock()
	}
	if err == nil {
		return standby, true, nil
	}
	// A standby that failed or ended: start the command itself instead.
	log.Printf("standby preloader unusable (%v); starting the app without it", err)
	s.kill(standby)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.spawn(req.Command, env, s.appDir, false)
	s.candidate = c
	return c, false, err
}

// portFree waits until nothing listens on port, for at most portFreeWait:
// the processes of a version just killed may take a moment to end after
// the one the shim started was reaped.
func (s *supervisor) portFree(port int, done <-chan struct{}) bool {
	if s.relay == nil || s.relay.listening == nil {
		return true
	}
	deadline := time.Now().Add(portFreeWait)
	for {
		ports, err := s.relay.listening()
		if err != nil || !slices.Contains(ports, port) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-done:
			return false
		case <-time.After(healthPoll):
		}
	}
}

// promote makes candidate c the serving version on port and retires the old
// one: it is sent SIGTERM, and killed if it is still there after
// retireGrace. Then a new standby is started, if one is kept.
func (s *supervisor) promote(c *child, port int) {
	s.mu.Lock()
	old := s.current
	s.current = c
	s.candidate = nil
	s.retiring[old] = struct{}{}
	s.mu.Unlock()
	oldPort := 0
	if s.relay != nil {
		oldPort = s.relay.port()
		s.relay.moveTo(port)
	}
	go func() {
		// Ends once the old version is gone and a standby was started.
		// Its connections close as their answers end; what is still
		// going after drainMax is left to its own shutdown.
		if s.relay != nil {
			s.relay.drain(oldPort, drainMax)
		}
		s.retire(old)
		s.ensureStandby()
	}()
}

// retire stops c gracefully: SIGTERM, then SIGKILL if it is still there
// after retireGrace. It returns once c was reaped.
func (s *supervisor) retire(c *child) {
	s.terminate(c)
	select {
	case <-c.done:
	case <-time.After(retireGrace):
		s.kill(c)
	}
}

// terminate sends c's process group SIGTERM, once: a second one would end a
// Node process that is finishing its requests, whose handler of the first
// is gone (images/node/drain.js).
func (s *supervisor) terminate(c *child) {
	c.term.Do(func() {
		select {
		case <-c.done:
			// reaped: its group id may be another's now
		default:
			_ = syscall.Kill(-c.pgid, syscall.SIGTERM)
		}
	})
}

// abandon kills a candidate that failed or was given up on.
func (s *supervisor) abandon(c *child) {
	s.kill(c)
	s.mu.Lock()
	if s.candidate == c {
		s.candidate = nil
	}
	s.mu.Unlock()
}

// isReady reports whether c is a warm child that reported ready; false for nil.
func (c *child) isReady() bool {
	if c == nil || c.ready == nil {
		return false
	}
	select {
	case <-c.ready:
		return c.readyErr == nil
	default:
		return false
	}
}

// kill kills c's process group and waits until c was reaped.
func (s *supervisor) kill(c *child) {
	select {
	case <-c.done:
		return // reaped: its group id may be another's now
	default:
	}
	_ = syscall.Kill(-c.pgid, syscall.SIGKILL)
	<-c.done
}

// ensureStandby starts a standby preloader when one is kept and none is
// there. A standby that cannot start is only a slower next reload.
func (s *supervisor) ensureStandby() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != running || s.standby != nil || s.standbyArgv == nil {
		return
	}
	c, err := s.spawn(s.standbyArgv, s.baseEnv, s.appDir, true)
	if err != nil {
		log.Printf("start standby preloader: %v", err)
		return
	}
	s.standby = c
}

// keepStandby makes the shim keep a preloader started with argv ready for
// reloads, and starts it now.
func (s *supervisor) keepStandby(argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return &startError{"argv must not be empty"}
	}
	s.mu.Lock()
	if s.state != running {
		s.mu.Unlock()
		return errNotRunning
	}
	s.standbyArgv = argv
	s.mu.Unlock()
	s.ensureStandby()
	return nil
}

// waitAnswers waits until something answers HTTP on port, c exits, or done
// closes. It reports whether the port answered.
func waitAnswers(port int, c *child, done <-chan struct{}) bool {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: healthProbeTimeout}
	defer client.CloseIdleConnections()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	t := time.NewTicker(healthPoll)
	defer t.Stop()
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("User-Agent", "previewd-health")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return true
		}
		select {
		case <-c.done:
			return false
		case <-done:
			return false
		case <-t.C:
		}
	}
}

// handleReload serves POST /reload. It answers 200 with a reloadAnswer once
// the new version serves, 422 with a reloadFailure when it exited first; a
// caller that gives up (hangs up) gets the candidate killed.
func handleReload(sup *supervisor) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var req reloadRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStartBody)).Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("bad reload request: %v", err), http.StatusBadRequest)
			return
		}
		if len(req.Command) == 0 || req.Command[0] == "" || req.Port < 1 || req.Port > 65535 {
			http.Error(w, "bad reload request: command and port (1-65535) are required", http.StatusBadRequest)
			return
		}
		if sup.relay != nil && req.Port == sup.relay.port() {
			writeJSON(w, http.StatusConflict, conflictAnswer{Error: "the current version listens on that port", Port: req.Port})
			return
		}
		c, preloaded, err := sup.beginReload(req, r.Context().Done())
		var bad *startError
		var execErr *execError
		switch {
		case err == nil:
		case errors.Is(err, errPortBusy):
			writeJSON(w, http.StatusConflict, conflictAnswer{Error: err.Error(), Port: req.Port})
			return
		case errors.Is(err, errNotRunning), errors.Is(err, errReloading):
			port := 0
			if sup.relay != nil {
				port = sup.relay.port()
			}
			writeJSON(w, http.StatusConflict, conflictAnswer{Error: err.Error(), Port: port})
			return
		case errors.As(err, &bad):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case errors.As(err, &execErr):
			log.Print(err)
			writeJSON(w, http.StatusUnprocessableEntity, reloadFailure{Error: err.Error(), ExitCode: execFailedCode})
			return
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		started := time.Now()
		if !waitAnswers(req.Port, c, r.Context().Done()) {
			sup.abandon(c)
			go sup.ensureStandby()
			writeJSON(w, http.StatusUnprocessableEntity, reloadFailure{Error: "the new version exited before answering HTTP", ExitCode: c.code})
			return
		}
		sup.promote(c, req.Port)
		writeJSON(w, http.StatusOK, reloadAnswer{Port: req.Port, Preloaded: preloaded,
			StartMS: started.Sub(start).Milliseconds(), HealthyMS: time.Since(started).Milliseconds()})
	}
}

// handleStandby serves POST /standby: {"argv": [...]}, the preloader to keep.
func handleStandby(sup *supervisor) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Argv []string `json:"argv"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStartBody)).Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("bad standby request: %v", err), http.StatusBadRequest)
			return
		}
		var bad *startError
		switch err := sup.keepStandby(req.Argv); {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.As(err, &bad):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case errors.Is(err, errNotRunning):
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

// handleStandbyReady serves GET /standby: 204 once a standby preloader is
// ready, 409 when none is kept, 422 when it ended before it was ready.
func handleStandbyReady(sup *supervisor) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for {
			sup.mu.Lock()
			c, kept := sup.standby, sup.standbyArgv != nil
			sup.mu.Unlock()
			switch {
			case !kept:
				http.Error(w, "no standby preloader is kept", http.StatusConflict)
				return
			case c == nil:
				// Being replaced after a reload: look again shortly.
				select {
				case <-r.Context().Done():
					return
				case <-time.After(healthPoll):
				}
				continue
			}
			if err := c.waitReady(r.Context().Done()); err != nil {
				http.Error(w, err.Error(), http.StatusUnprocessableEntity)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
}

// handleRemove serves POST /remove: {"paths": [...]}, files of the app to
// delete. A path that is already gone counts as removed; a directory is
// removed only when empty.
func handleRemove(sup *supervisor) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Paths []string `json:"paths"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStartBody)).Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("bad remove request: %v", err), http.StatusBadRequest)
			return
		}
		names := make([]string, len(req.Paths))
		for i, p := range req.Paths {
			name, err := entryName(p)
			if err != nil || name == "." {
				http.Error(w, fmt.Sprintf("bad path %q", p), http.StatusBadRequest)
				return
			}
			names[i] = name
		}
		if err := removeFiles(sup.appDir, names); err != nil {
			log.Printf("remove files: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// removeFiles removes names (clean, relative) from dir without following a
// symlink out of it.
func removeFiles(dir string, names []string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open app dir: %w", err)
	}
	defer root.Close()
	for _, name := range names {
		if err := root.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.Copy(w, &buf)
}
