package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/previewd/previewd/sandbox/endpoints"
)

// routeTableTimeout bounds one read of a preview's route table.
const routeTableTimeout = 2 * time.Second

// maxRouteTableBytes bounds the shim's answer; the shim keeps tables below
// this size.
const maxRouteTableBytes = 8 << 20

// ErrNoRouteTable means the preview's app has not reported its route table:
// it is not up yet, or runs a server or framework the runtime image does
// not read (see cmd/previewshim/routes.go).
var ErrNoRouteTable = errors.New("the app has reported no route table")

// ErrNoRunningApp is RouteTable's error for a preview this process does not
// run.
var ErrNoRunningApp = errors.New("the preview is not running here")

// RouteTable is a running app's own route table.
type RouteTable struct {
	Framework  string            `json:"framework"`
	Routes     []endpoints.Route `json:"routes"`
	ReportedAt time.Time         `json:"reported_at"`
}

// RouteTable reads the route table the preview's app reported to its shim.
// It goes over the control channel, not through the app's port, so it is
// not the user's traffic and leaves the idle timer alone.
func (m *Manager) RouteTable(ctx context.Context, previewID string) (RouteTable, error) {
	in := m.instance(previewID)
	if in == nil || !in.running.Load() || in.stopping.Load() {
		return RouteTable{}, ErrNoRunningApp
	}
	ctx, cancel := context.WithTimeout(ctx, routeTableTimeout)
	defer cancel()
	return m.shim(in).routes(ctx)
}

// routes reads GET /routes.
func (s *shimClient) routes(ctx context.Context) (RouteTable, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://shim/routes", nil)
	if err != nil {
		return RouteTable{}, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return RouteTable{}, fmt.Errorf("shim GET /routes: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRouteTableBytes+1))
	if err != nil {
		return RouteTable{}, fmt.Errorf("shim GET /routes: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return RouteTable{}, ErrNoRouteTable
	case resp.StatusCode != http.StatusOK:
		return RouteTable{}, fmt.Errorf("shim GET /routes: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	case len(body) > maxRouteTableBytes:
		return RouteTable{}, fmt.Errorf("shim GET /routes: answer larger than %d bytes", maxRouteTableBytes)
	}
	var t RouteTable
	if err := json.Unmarshal(body, &t); err != nil {
		return RouteTable{}, fmt.Errorf("decode route table: %w", err)
	}
	return t, nil
}
