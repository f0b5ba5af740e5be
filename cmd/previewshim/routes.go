package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The running app's own route table. Every child gets PREVIEWD_ROUTES =
// "<socket path>:<child id>"; code the runtime image loads into the app's
// process (images/python/previewd_routes.py, images/node/routes.js) finds
// the app object where the server takes it, reads the framework's table
// once the app serves, connects to the socket and writes one JSON object,
// {"child", "framework", "routes": [{"method", "path"}]}. The shim keeps the
// latest table of each child and answers GET /routes with the serving
// child's. Every process of a child may report (gunicorn's workers each
// do); the last report wins.

const (
	// maxRoutesReport bounds one report; a table of thousands of routes
	// stays far below it.
	maxRoutesReport = 4 << 20
	// maxRoutes bounds the rows of one table.
	maxRoutes = 20000
	// routesReadTimeout bounds the read of one report.
	routesReadTimeout = 5 * time.Second
)

// routeRow is one route of a table: a method (or ALL) and a path with
// {name} for its parameters.
type routeRow struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// routeTable is what a child reported.
type routeTable struct {
	Framework  string     `json:"framework"`
	Routes     []routeRow `json:"routes"`
	ReportedAt time.Time  `json:"reported_at"`
}

// routeReport is one report as it arrives on the socket.
type routeReport struct {
	Child     int        `json:"child"`
	Framework string     `json:"framework"`
	Routes    []routeRow `json:"routes"`
}

// listenRoutes listens for reports on a fresh unix socket in dir, the
// container's /tmp: the app must reach it, and the run directory is sealed
// before the app runs. (A socket of the abstract namespace would need no
// directory, but Node before 20 cannot connect to one.) The name is random
// so that a stale socket of another shim is never taken for this one's.
func listenRoutes(dir string) (*net.UnixListener, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ln, err := listenUnix(filepath.Join(dir, "previewd-routes-"+hex.EncodeToString(b[:])+".sock"))
	if err != nil {
		return nil, fmt.Errorf("listen for route tables: %w", err)
	}
	return ln, nil
}

// routeTables holds the latest table of each live child.
type routeTables struct {
	socket string
	mu     sync.Mutex
	byID   map[int]routeTable
}

func newRouteTables(socket string) *routeTables {
	return &routeTables{socket: socket, byID: map[int]routeTable{}}
}

// env is the variable that tells child id where to report.
func (t *routeTables) env(id int) string {
	return "PREVIEWD_ROUTES=" + t.socket + ":" + strconv.Itoa(id)
}

func (t *routeTables) get(id int) (routeTable, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tab, ok := t.byID[id]
	return tab, ok
}

func (t *routeTables) forget(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byID, id)
}

// serve accepts reports on ln until it is closed; live says whether a child
// id is one not yet reaped, so that a late report of a gone child is not
// kept.
func (t *routeTables) serve(ln net.Listener, live func(id int) bool) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept route report: %w", err)
		}
		go func() {
			// Ends when the report is read, or after routesReadTimeout.
			if err := t.receive(conn, live); err != nil {
				log.Printf("route table report: %v", err)
			}
		}()
	}
}

// receive reads one report from conn and keeps it.
func (t *routeTables) receive(conn net.Conn, live func(id int) bool) error {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(routesReadTimeout))
	body, err := io.ReadAll(io.LimitReader(conn, maxRoutesReport+1))
	if err != nil {
		return err
	}
	if len(body) > maxRoutesReport {
		return fmt.Errorf("larger than %d bytes", maxRoutesReport)
	}
	rep, err := parseRouteReport(body)
	if err != nil {
		return err
	}
	if !live(rep.Child) {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID[rep.Child] = routeTable{Framework: rep.Framework, Routes: rep.Routes, ReportedAt: time.Now().UTC()}
	return nil
}

// parseRouteReport decodes and checks one report.
func parseRouteReport(body []byte) (routeReport, error) {
	var rep routeReport
	if err := json.Unmarshal(body, &rep); err != nil {
		return routeReport{}, fmt.Errorf("decode: %w", err)
	}
	if len(rep.Routes) > maxRoutes {
		return routeReport{}, fmt.Errorf("%d routes, more than %d", len(rep.Routes), maxRoutes)
	}
	if rep.Routes == nil {
		rep.Routes = []routeRow{}
	}
	for _, r := range rep.Routes {
		if r.Method == "" || strings.ContainsAny(r.Method, " \t\r\n") || !strings.HasPrefix(r.Path, "/") {
			return routeReport{}, fmt.Errorf("bad route %q %q", r.Method, r.Path)
		}
	}
	return rep, nil
}

// currentID is the id of the serving child; false before /start.
func (s *supervisor) currentID() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil {
		return 0, false
	}
	return s.current.id, true
}

// isLive reports whether child id was started and not yet reaped.
func (s *supervisor) isLive(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.live {
		if c.id == id {
			return true
		}
	}
	return false
}

// handleRoutes serves GET /routes: the serving version's route table as it
// reported it, 404 while it has reported none.
func handleRoutes(sup *supervisor) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := sup.currentID()
		if !ok || sup.routes == nil {
			http.Error(w, errNotRunning.Error(), http.StatusNotFound)
			return
		}
		tab, ok := sup.routes.get(id)
		if !ok {
			http.Error(w, "the app has reported no route table", http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, tab)
	}
}
