package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/server"
	headless "github.com/previewd/previewd/server/browser"
)

// checksJSON is the answer of GET …/preview/checks.
type checksJSON struct {
	PreviewID string          `json:"preview_id"`
	Revision  int             `json:"revision"`
	State     string          `json:"state"`
	CheckedAt *time.Time      `json:"checked_at"`
	Summary   string          `json:"summary"`
	Endpoints []endpointJSON  `json:"endpoints"`
	Browser   json.RawMessage `json:"browser"`
}

type endpointJSON struct {
	Method     string   `json:"method"`
	Path       string   `json:"path"`
	URL        string   `json:"url"`
	Status     *int     `json:"status"`
	DurationMS float64  `json:"duration_ms"`
	Error      *string  `json:"error"`
	Log        []string `json:"log"`
	Cause      *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		File    string `json:"file"`
		Line    int    `json:"line"`
	} `json:"cause"`
}

type browserJSON struct {
	Status     int `json:"status"`
	Console    []headless.ConsoleMessage
	Exceptions []headless.Exception     `json:"exceptions"`
	Failed     []headless.FailedRequest `json:"failed_requests"`
	Screenshot string                   `json:"screenshot_url"`
	Pages      []json.RawMessage        `json:"pages"`
}

// withChecks turns the checks of healthy previews on (the harness has them off).
func withChecks(_ *sandboxConfig, sc *serverConfig) { sc.ChecksOff = false }

// withBrowser gives the env's previewd a headless Chromium for the browser
// check; without Chromium the test is skipped (a failure in CI).
func withBrowser(t testing.TB) envOption {
	t.Helper()
	path, err := headless.Find("")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no chromium for the browser check: %v", err)
		}
		t.Skipf("no chromium for the browser check: %v", err)
	}
	b := headless.New(headless.Options{ExecPath: path, PageTimeout: 30 * time.Second,
		HostRules: "MAP *." + publicDomain + " 127.0.0.1"})
	t.Cleanup(b.Close)
	return func(_ *sandboxConfig, sc *serverConfig) {
		sc.ChecksOff = false
		sc.Browser = b
		sc.PublicDomain = publicDomain
	}
}

// waitChecks polls GET …/checks until its state is final.
func (e *env) waitChecks(user, genID string) checksJSON {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := e.call("GET", "/api/v1/generations/"+genID+"/preview/checks", user, "", nil)
		mustStatus(e.t, r, http.StatusOK)
		var c checksJSON
		if err := json.Unmarshal(r.raw, &c); err != nil {
			e.t.Fatal(err)
		}
		if c.State != "pending" && c.State != "running" {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("checks still %s: %s", c.State, r.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// touchSpy is the manager, counting what marks a preview as used.
type touchSpy struct {
	server.Sandbox
	mu      sync.Mutex
	touched map[string]int
}

func (s *touchSpy) Touched(id string) {
	s.mu.Lock()
	s.touched[id]++
	s.mu.Unlock()
	s.Sandbox.Touched(id)
}

func (s *touchSpy) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.touched[id]
}

// spyOnTouches serves the env's API from a server whose sandbox counts
// touches.
func (e *env) spyOnTouches() *touchSpy {
	spy := &touchSpy{Sandbox: e.mgr, touched: map[string]int{}}
	e.api.Close()
	e.srv.Close()
	reg := prometheus.NewRegistry()
	e.srv = server.New(e.scfg, e.store, spy, reg, reg, slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	e.api = httptest.NewServer(e.srv.Handler())
	return spy
}

// TestChecksAfterHealthy: once a preview is healthy previewd calls its GET
// routes (not POST), with path parameters filled by type; each row has the
// lines the app printed during that call; the 500 carries the app's
// traceback and a cause at the app's own line. The browser check renders
// the root page and records its console error, exception, failed request
// and a screenshot. None of it counts as use of the preview, and the log
// stream says `event: checks`.
func TestChecksAfterHealthy(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withBrowser(t))
	spy := e.spyOnTouches()
	gen := e.upload("alice", "checks-fastapi")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	id := r.body["preview_id"].(string)
	c := e.waitChecks("alice", gen)
	if c.State != "done" || c.PreviewID != id || c.Revision != 1 || c.CheckedAt == nil {
		t.Fatalf("checks %+v", c)
	}
	rows := map[string]endpointJSON{}
	for _, ep := range c.Endpoints {
		rows[ep.Method+" "+ep.URL] = ep
		if ep.Method != "GET" && ep.Method != "HEAD" {
			t.Errorf("called %s %s", ep.Method, ep.Path)
		}
	}
	status := func(key string) int {
		if row, ok := rows[key]; ok && row.Status != nil {
			return *row.Status
		}
		return 0
	}
	for key, want := range map[string]int{"GET /": 200, "GET /health": 200, "GET /items/": 200, "GET /items/1": 500} {
		if got := status(key); got != want {
			t.Errorf("%s: status %d, want %d; rows %+v", key, got, want, c.Endpoints)
		}
	}
	if h := rows["GET /health"]; !contains(h.Log, "health checked") || contains(h.Log, "reading item 1") {
		t.Errorf("GET /health log %q", h.Log)
	}
	item := rows["GET /items/1"]
	if item.Path != "/items/{item_id}" || !contains(item.Log, "reading item 1") || !contains(item.Log, "KeyError: 'price'") || contains(item.Log, "health checked") {
		t.Errorf("GET /items/1: path %q, log %q", item.Path, item.Log)
	}
	if cs := item.Cause; cs == nil || cs.Kind != "exception" || cs.File != "app/routers/items.py" || cs.Line != 17 || !strings.Contains(cs.Message, "KeyError") {
		t.Errorf("GET /items/1 cause %+v", cs)
	}
	if !strings.Contains(c.Summary, "1 500 at GET /items/{item_id} — KeyError: 'price' in app/routers/items.py:17") {
		t.Errorf("summary %q", c.Summary)
	}

	var b browserJSON
	if err := json.Unmarshal(c.Browser, &b); err != nil {
		t.Fatalf("browser %s: %v", c.Browser, err)
	}
	if b.Status != 200 || len(b.Pages) != 1 {
		t.Errorf("browser %s", c.Browser)
	}
	if !hasConsole(b.Console, "error", "loading items failed: 500") {
		t.Errorf("console %+v", b.Console)
	}
	if len(b.Exceptions) == 0 || !strings.Contains(b.Exceptions[0].Message, "TypeError") || b.Exceptions[0].Line != 8 {
		t.Errorf("exceptions %+v", b.Exceptions)
	}
	if len(b.Failed) != 1 || b.Failed[0].URL != "/items/1" || b.Failed[0].Status != 500 {
		t.Errorf("failed requests %+v", b.Failed)
	}
	shot := e.call("GET", b.Screenshot, "alice", "", nil)
	if shot.status != http.StatusOK || shot.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(shot.raw, []byte("\x89PNG")) {
		t.Errorf("screenshot %s: %d %s", b.Screenshot, shot.status, shot.header.Get("Content-Type"))
	}
	if other := e.call("GET", b.Screenshot, "bob", "", nil); other.status != http.StatusNotFound {
		t.Errorf("another user's screenshot: %d", other.status)
	}

	if n := spy.count(id); n != 0 {
		t.Errorf("the checks touched the preview %d times", n)
	}
	// The spy sees use: POST /request touches.
	body, _ := json.Marshal(map[string]any{"path": "/health"})
	req, _ := http.NewRequest("POST", e.api.URL+"/api/v1/generations/"+gen+"/preview/request", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token(t, "alice"))
	req.Header.Set("X-Preview-Token", r.body["session_token"].(string))
	mustStatus(t, e.do(req), http.StatusOK)
	if spy.count(id) == 0 {
		t.Error("POST /request did not touch the preview")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.openStream(ctx, gen, "alice", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ev map[string]any
	readEvents(resp.Body, func(x sseEvent) bool {
		if x.event != "checks" {
			return true
		}
		json.Unmarshal([]byte(x.data), &ev)
		return false
	})
	if ev["state"] != "done" || ev["summary"] != c.Summary || ev["failing"] != float64(1) {
		t.Errorf("event: checks %v", ev)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func hasConsole(msgs []headless.ConsoleMessage, level, text string) bool {
	for _, m := range msgs {
		if m.Level == level && strings.Contains(m.Text, text) {
			return true
		}
	}
	return false
}

// TestChecksExpressFlaskAndSkipped: an Express handler's TypeError is
// placed at the app's own line from Node's stack, a Flask view's KeyError
// from the traceback Flask logs; a launch with "checks": false is not
// checked at all.
func TestChecksExpressFlaskAndSkipped(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, withChecks)
	gen := e.upload("alice", "checks-express")
	mustStatus(t, e.launch("alice", gen, nil), http.StatusCreated)
	c := e.waitChecks("alice", gen)
	if c.State != "done" || string(c.Browser) != `"unavailable"` {
		t.Fatalf("checks %+v", c)
	}
	var users *endpointJSON
	for i := range c.Endpoints {
		if c.Endpoints[i].Path == "/users/{id}" {
			users = &c.Endpoints[i]
		}
	}
	if users == nil || users.URL != "/users/test" || users.Status == nil || *users.Status != 500 {
		t.Fatalf("GET /users/{id}: %+v", c.Endpoints)
	}
	if cs := users.Cause; cs == nil || cs.Kind != "exception" || cs.File != "server.js" || cs.Line != 12 || !strings.Contains(cs.Message, "TypeError") {
		t.Errorf("cause %+v; log %q", users.Cause, users.Log)
	}

	flask := e.upload("alice", "checks-flask")
	mustStatus(t, e.launch("alice", flask, nil), http.StatusCreated)
	c = e.waitChecks("alice", flask)
	var price *endpointJSON
	for i := range c.Endpoints {
		if c.Endpoints[i].Path == "/prices/{name}" {
			price = &c.Endpoints[i]
		}
	}
	if price == nil || price.URL != "/prices/test" || price.Status == nil || *price.Status != 500 {
		t.Fatalf("GET /prices/{name}: %+v", c.Endpoints)
	}
	if cs := price.Cause; cs == nil || cs.Kind != "exception" || cs.File != "app.py" || cs.Line != 16 || !strings.Contains(cs.Message, "KeyError: 'test'") {
		t.Errorf("Flask cause %+v; log %q", price.Cause, price.Log)
	}

	quiet := e.upload("alice", "fastapi")
	mustStatus(t, e.launch("alice", quiet, map[string]any{"checks": false}), http.StatusCreated)
	if c := e.waitChecks("alice", quiet); c.State != "skipped" || len(c.Endpoints) != 0 || c.CheckedAt != nil {
		t.Errorf("checks of a launch that asked for none: %+v", c)
	}
}
