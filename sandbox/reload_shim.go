package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/previewd/previewd/sandbox/framework"
)

// shimReload is what the shim's POST /reload answers.
type shimReload struct {
	Port      int   `json:"port"`
	Preloaded bool  `json:"preloaded"`
	StartMS   int64 `json:"start_ms"`
	HealthyMS int64 `json:"healthy_ms"`
}

// errShimPortBusy answers a reload to the port the serving version uses.
var errShimPortBusy = errors.New("the current version listens on that port")

// reloadFailedError is a new version that exited before it answered HTTP.
type reloadFailedError struct {
	ExitCode int
	Reason   string
}

func (e *reloadFailedError) Error() string {
	return fmt.Sprintf("%s (exit code %d)", e.Reason, e.ExitCode)
}

// reload asks the shim to start the app's next version beside the serving
// one, on port, and to move traffic to it once it answers. preload is the
// preloader the shim keeps ready for the reload after this one.
func (s *shimClient) reload(ctx context.Context, plan reloadPlan) (shimReload, error) {
	body, err := json.Marshal(map[string]any{
		"command": plan.command, "exec": plan.exec, "dir": plan.dir,
		"env": envList(plan.env), "port": plan.port, "preload": plan.preload,
	})
	if err != nil {
		return shimReload{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://shim/reload", bytes.NewReader(body))
	if err != nil {
		return shimReload{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return shimReload{}, fmt.Errorf("shim POST /reload: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		var ans shimReload
		if err := json.Unmarshal(data, &ans); err != nil {
			return shimReload{}, fmt.Errorf("shim POST /reload: %w", err)
		}
		return ans, nil
	case http.StatusUnprocessableEntity:
		var fail struct {
			Error    string `json:"error"`
			ExitCode int    `json:"exit_code"`
		}
		if err := json.Unmarshal(data, &fail); err != nil {
			return shimReload{}, fmt.Errorf("shim POST /reload: %s: %w", resp.Status, err)
		}
		return shimReload{}, &reloadFailedError{ExitCode: fail.ExitCode, Reason: fail.Error}
	case http.StatusConflict:
		var busy struct {
			Port int `json:"port"`
		}
		if json.Unmarshal(data, &busy) == nil && busy.Port == plan.port {
			return shimReload{}, errShimPortBusy
		}
	}
	return shimReload{}, fmt.Errorf("shim POST /reload: %s: %s", resp.Status, strings.TrimSpace(string(data)))
}

// removeFiles deletes paths of the app.
func (s *shimClient) removeFiles(ctx context.Context, paths []string) error {
	body, err := json.Marshal(map[string]any{"paths": paths})
	if err != nil {
		return err
	}
	return s.do(ctx, http.MethodPost, "/remove", "application/json", bytes.NewReader(body))
}

// reloadPlan is how the shim starts a new version of the app.
type reloadPlan struct {
	command, exec []string
	dir           string
	env           map[string]string
	port          int
	preload       []string
}

// onPort returns argv with the app port of a framework plan's server
// arguments (--port 8000, --bind 0.0.0.0:8000, also inside a shell
// command) replaced by port. Everything else is left as it is: a command
// that names no port reads PORT from its environment.
func onPort(argv []string, port int) []string {
	from, to := strconv.Itoa(framework.AppPort), strconv.Itoa(port)
	out := make([]string, len(argv))
	for i, a := range argv {
		switch {
		case i > 0 && argv[i-1] == "--port" && a == from:
			a = to
		default:
			a = strings.ReplaceAll(a, "0.0.0.0:"+from, "0.0.0.0:"+to)
			a = strings.ReplaceAll(a, "--port "+from, "--port "+to)
		}
		out[i] = a
	}
	return out
}
