package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/cause"
)

// shimClient talks to the shim of one sandbox (cmd/previewshim) over its
// control channel: HTTP on each connection that dial opens. The protocol is
// the same on every backend; only how a connection is opened differs.
type shimClient struct {
	http *http.Client
}

func newShimClient(dial backend.Dialer) *shimClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx)
		},
		DisableKeepAlives: true,
	}
	return &shimClient{http: &http.Client{Transport: tr}}
}

// waitReady polls the shim until its control socket answers, the container
// exits, or ctx ends.
func (s *shimClient) waitReady(ctx context.Context, exited <-chan struct{}) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if err := s.do(ctx, http.MethodGet, "/healthz", "", nil); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("the container exited before its shim came up")
		case <-ctx.Done():
			return fmt.Errorf("shim did not come up: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
}

// putFiles sends the app's files.
func (s *shimClient) putFiles(ctx context.Context, files []File) error {
	body, err := tarFiles(files)
	if err != nil {
		return err
	}
	return s.do(ctx, http.MethodPut, "/files", "application/x-tar", body)
}

// start starts the app with argv and env.
func (s *shimClient) start(ctx context.Context, argv []string, env map[string]string) error {
	body, err := json.Marshal(map[string]any{"argv": argv, "env": envList(env)})
	if err != nil {
		return err
	}
	return s.do(ctx, http.MethodPost, "/start", "application/json", bytes.NewReader(body))
}

// startWarm starts the preloader argv: it imports the app's framework and
// then waits for load.
func (s *shimClient) startWarm(ctx context.Context, argv []string) error {
	body, err := json.Marshal(map[string]any{"argv": argv, "env": []string{}, "warm": true})
	if err != nil {
		return err
	}
	return s.do(ctx, http.MethodPost, "/start", "application/json", bytes.NewReader(body))
}

// waitWarm waits until the preloader has imported what it preloads.
func (s *shimClient) waitWarm(ctx context.Context) error {
	return s.do(ctx, http.MethodGet, "/warm", "", nil)
}

// load tells a warm container's preloader to become the app: argv run in
// dir (relative to the app directory) with env added.
func (s *shimClient) load(ctx context.Context, dir string, argv []string, env map[string]string) error {
	body, err := json.Marshal(map[string]any{"argv": argv, "env": envList(env), "dir": dir})
	if err != nil {
		return err
	}
	return s.do(ctx, http.MethodPost, "/load", "application/json", bytes.NewReader(body))
}

// shimInspection is what the shim sees of the app inside its container
// (cmd/previewshim inspect.go): the TCP sockets listening and the pids
// cgroup, nil when the shim could not read it.
type shimInspection struct {
	Sockets []cause.Socket `json:"sockets"`
	Pids    *struct {
		Max     int `json:"max"`
		Current int `json:"current"`
		Refused int `json:"refused"`
	} `json:"pids"`
}

// inspect asks the shim what it sees of the running app.
func (s *shimClient) inspect(ctx context.Context) (shimInspection, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://shim/inspect", nil)
	if err != nil {
		return shimInspection{}, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return shimInspection{}, fmt.Errorf("shim GET /inspect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return shimInspection{}, fmt.Errorf("shim GET /inspect: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var in shimInspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&in); err != nil {
		return shimInspection{}, fmt.Errorf("shim GET /inspect: %w", err)
	}
	return in, nil
}

func envList(env map[string]string) []string {
	vars := make([]string, 0, len(env))
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	sort.Strings(vars)
	return vars
}

func (s *shimClient) do(ctx context.Context, method, path, contentType string, body io.Reader) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://shim"+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("shim %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("shim %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	io.Copy(io.Discard, resp.Body)
	return nil
}

// get fetches path; the caller closes the body, whatever the status.
func (s *shimClient) get(ctx context.Context, path string) (io.ReadCloser, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://shim"+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("shim GET %s: %w", path, err)
	}
	return resp.Body, resp.StatusCode, nil
}
