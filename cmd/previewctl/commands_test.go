package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/previewd/previewd/server/upload"
)

const (
	genID     = "0b7c5c9e-3a51-4a4e-9d0e-1f2a3b4c5d6e"
	previewID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
)

func statusBody(status string) map[string]any {
	b := map[string]any{
		"preview_id": previewID, "status": status, "port": nil, "base_url": nil, "proxy_url": nil,
		"started_at": nil, "uptime_seconds": nil, "expires_at": "2030-01-01T00:00:00Z", "idle_expires_at": nil,
		"healthy": false, "memory_bytes": nil, "memory_limit_bytes": 256 << 20, "cpu_percent": nil, "cpu_limit": 0.5,
		"pids": nil, "pids_limit": 256, "restarts": 0, "exit_code": nil, "oom_killed": false, "error": nil,
		"endpoint_count": nil, "timings_ms": map[string]int{"prepare": 0, "build": 0, "start": 0, "healthy": 0, "total": 0},
	}
	if status == "running" {
		b["port"], b["base_url"], b["proxy_url"] = 3007, "http://127.0.0.1:3007", "http://"+previewID+".preview.localhost:8080/"
		b["started_at"], b["uptime_seconds"], b["healthy"] = time.Now().Add(-time.Minute).UTC(), 65, true
		b["memory_bytes"], b["cpu_percent"], b["pids"] = 40<<20, 1.5, 7
		b["timings_ms"] = map[string]int{"prepare": 3, "build": 0, "start": 120, "healthy": 180, "total": 303}
	}
	return b
}

// TestUp runs up against a fake previewd: upload, launch without waiting,
// progress until running, URLs, the log, and on Ctrl-C a stop.
func TestUp(t *testing.T) {
	f := newFakeAPI(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"main.py": "app = 1\n", "node_modules/x.js": "skipped"})

	f.mux.HandleFunc("POST /api/v1/generations", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/gzip" {
			t.Errorf("Content-Type %q", ct)
		}
		if r.URL.Query().Get("name") != "myapp" {
			t.Errorf("name %q", r.URL.Query().Get("name"))
		}
		files, err := upload.FromArchive(r.Body, r.Header.Get("Content-Type"), upload.Limits{})
		if err != nil || len(files) != 1 || files[0].Path != "main.py" {
			t.Errorf("upload: %v, %+v", err, files)
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": genID, "name": "myapp", "framework": "fastapi",
			"entrypoint": "main:app", "file_count": 1, "total_bytes": 8, "created_at": time.Now().UTC()})
	})
	f.mux.HandleFunc("POST /api/v1/generations/{id}/preview/launch", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if body["wait"] != false || body["memory_mb"] != 512.0 || body["env"].(map[string]any)["DEBUG"] != "1" {
			t.Errorf("launch body %v", body)
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"preview_id": previewID, "generation_id": genID, "status": "starting",
			"port": 3007, "base_url": "http://127.0.0.1:3007", "proxy_url": "http://" + previewID + ".preview.localhost:8080/",
			"session_token": "sess-123", "timings_ms": map[string]int{}})
	})
	var polls atomic.Int32
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/status", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			writeJSON(w, http.StatusOK, statusBody("starting"))
			return
		}
		writeJSON(w, http.StatusOK, statusBody("running"))
	})
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/logs/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\nevent: log\ndata: {\"seq\":1,\"stream\":\"system\",\"line\":\"starting (fastapi)\"}\n\n")
		fmt.Fprint(w, "id: 2\nevent: log\ndata: {\"seq\":2,\"stream\":\"stderr\",\"line\":\"INFO: Uvicorn running\"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	var stopped atomic.Bool
	f.mux.HandleFunc("DELETE /api/v1/generations/{id}/preview", func(w http.ResponseWriter, r *http.Request) {
		stopped.Store(true)
		writeJSON(w, http.StatusOK, map[string]any{"preview_id": previewID, "status": "stopped"})
	})

	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	a := &app{stdout: &out, stderr: &errOut, getenv: envMap{"PREVIEW_URL": f.URL, "PREVIEW_TOKEN": "test-token"}.get}
	done := make(chan int)
	go func() {
		done <- a.main(ctx, []string{"up", "-name", "myapp", "-memory", "512", "-env", "DEBUG=1", dir})
	}()
	waitFor(t, &out, "stderr | INFO: Uvicorn running", "Following the log")
	if stopped.Load() {
		t.Fatal("stopped before Ctrl-C")
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d; stderr: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("up did not return after Ctrl-C")
	}
	if !stopped.Load() {
		t.Error("the preview was not stopped")
	}
	mustContain(t, "stdout", out.String(),
		"left out: node_modules/",
		"Generation "+genID,
		"Launching preview "+previewID,
		"starting…",
		"is running (launched in 0.30 s: prepare 3 ms, build 0 ms, start 120 ms, healthy 180 ms)",
		"App:      http://127.0.0.1:3007",
		"Browser:  http://"+previewID+".preview.localhost:8080/?token=sess-123",
		"system | starting (fastapi)",
		"Stopping preview "+previewID+"… stopped.")
}

// waitFor waits until b holds every string.
func waitFor(t *testing.T, b *syncBuffer, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := true
		for _, w := range wants {
			all = all && strings.Contains(b.String(), w)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q:\n%s", wants, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUpLaunchFails: the app crashes while starting; up shows its output and
// exits 6.
func TestUpLaunchFails(t *testing.T) {
	f := newFakeAPI(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"main.py": "raise SystemExit(1)\n"})
	f.mux.HandleFunc("POST /api/v1/generations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]any{"id": genID, "name": "x", "framework": "fastapi"})
	})
	f.mux.HandleFunc("POST /api/v1/generations/{id}/preview/launch", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]any{"preview_id": previewID, "status": "starting", "session_token": "s"})
	})
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/status", func(w http.ResponseWriter, r *http.Request) {
		b := statusBody("failed")
		b["exit_code"], b["error"] = 1, "the app exited before answering HTTP with code 1"
		b["cause"] = map[string]any{"kind": "exception_at_start", "message": "RuntimeError: boom", "file": "main.py", "line": 1,
			"symbol": "RuntimeError", "hint": "fix the line it points at"}
		writeJSON(w, http.StatusOK, b)
	})
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/logs/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\nevent: log\ndata: {\"seq\":1,\"stream\":\"stderr\",\"line\":\"RuntimeError: boom\"}\n\n")
		fmt.Fprint(w, "event: end\ndata: {\"status\":\"failed\"}\n\n")
	})
	code, out, errOut := f.run(context.Background(), "up", dir)
	if code != exitLaunch {
		t.Errorf("exit code %d, want %d", code, exitLaunch)
	}
	mustContain(t, "stdout", out, "stderr | RuntimeError: boom")
	mustContain(t, "stderr", errOut, "previewctl: launch failed: the app exited before answering HTTP with code 1",
		"cause: exception_at_start at main.py:1: RuntimeError: boom\nhint: fix the line it points at\n")
	if f.called("DELETE /api/v1/generations/" + genID + "/preview") {
		t.Error("a failed launch needs no stop")
	}
}

func TestLaunch(t *testing.T) {
	f := newFakeAPI(t)
	var existing atomic.Bool
	f.mux.HandleFunc("POST /api/v1/generations/{id}/preview/launch", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "crash":
			apiErr(w, http.StatusUnprocessableEntity, "launch_failed", "the app exited before answering HTTP with code 1",
				map[string]any{"preview_id": previewID, "exit_code": 1, "oom_killed": false,
					"log_tail": []string{"crash sample: importing main", "RuntimeError: boom on import"},
					"cause": map[string]any{"kind": "import_error", "message": "ModuleNotFoundError: No module named 'stripe'",
						"file": "routers/pay.py", "line": 2, "symbol": "stripe", "hint": "add stripe to requirements.txt"}})
		case "full":
			apiErr(w, http.StatusServiceUnavailable, "capacity_exhausted", "capacity exhausted: 8 previews are running, the limit is 8", nil)
		case "nope":
			apiErr(w, http.StatusNotFound, "not_found", "generation not found", nil)
		default:
			status := http.StatusCreated
			if existing.Swap(true) {
				status = http.StatusOK
			}
			writeJSON(w, status, map[string]any{"preview_id": previewID, "status": "running", "port": 3007,
				"base_url": "http://127.0.0.1:3007", "proxy_url": nil, "session_token": "tok",
				"timings_ms": map[string]int{"prepare": 1, "build": 2, "start": 3, "healthy": 4, "total": 10}})
		}
	})
	tests := []struct {
		args    []string
		code    int
		out     []string
		errText []string
	}{
		{[]string{"launch", "g1"}, exitOK, []string{"Preview " + previewID + " is running (launched in 0.01 s: prepare 1 ms, build 2 ms, start 3 ms, healthy 4 ms)",
			"Browser:  " + "%URL%/p/" + previewID + "/?token=tok"}, nil},
		{[]string{"launch", "g1"}, exitOK, []string{"it was already live"}, nil},
		{[]string{"-json", "launch", "g1"}, exitOK, []string{`"session_token": "tok"`}, nil},
		{[]string{"launch", "crash"}, exitLaunch, nil, []string{
			"previewctl: launch failed: the app exited before answering HTTP with code 1\n" +
				"cause: import_error at routers/pay.py:2: ModuleNotFoundError: No module named 'stripe'\nhint: add stripe to requirements.txt\nlast 2 lines of the app's output:\n  crash sample: importing main\n  RuntimeError: boom on import\n"}},
		{[]string{"launch", "full"}, exitUnavailable, nil, []string{"launch failed: capacity exhausted: 8 previews are running"}},
		{[]string{"launch", "nope"}, exitNotFound, nil, []string{"launch failed: generation not found"}},
		{[]string{"launch", "-token", "wrong", "g1"}, exitAuth, nil, []string{"launch failed: a valid bearer token is required (check -token or PREVIEW_TOKEN)"}},
	}
	for _, tt := range tests {
		code, out, errOut := f.run(context.Background(), tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit code %d, want %d; stderr: %s", tt.args, code, tt.code, errOut)
		}
		for _, w := range tt.out {
			mustContain(t, fmt.Sprint(tt.args, " stdout"), out, strings.ReplaceAll(w, "%URL%", f.URL))
		}
		mustContain(t, fmt.Sprint(tt.args, " stderr"), errOut, tt.errText...)
	}
}

func TestStatus(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/status", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "running":
			writeJSON(w, http.StatusOK, statusBody("running"))
		case "oom":
			b := statusBody("failed")
			b["exit_code"], b["oom_killed"], b["error"] = 137, true, "the app was killed: out of memory (limit 256 MiB)"
			writeJSON(w, http.StatusOK, b)
		default:
			apiErr(w, http.StatusNotFound, "not_found", "this generation has never had a preview", nil)
		}
	})
	code, out, _ := f.run(context.Background(), "status", "running")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, re := range []string{
		`Status\s+running \(healthy\)`, `Port\s+3007`, `App URL\s+http://127.0.0.1:3007`,
		`Started\s+.* \(up 1m05s\)`, `Memory\s+40.0 MiB of 256.0 MiB \(16%\)`, `CPU\s+1.5% of one core \(limit 0.5 cores\)`,
		`Processes\s+7 of 256`, `Restarts\s+0`, `Launch\s+303 ms \(prepare 3 ms`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status output does not match %s:\n%s", re, out)
		}
	}
	code, out, _ = f.run(context.Background(), "status", "oom")
	if code != exitOK || !regexp.MustCompile(`Exit code\s+137 \(killed: out of memory\)`).MatchString(out) {
		t.Errorf("exit code %d:\n%s", code, out)
	}
	code, _, errOut := f.run(context.Background(), "status", "never")
	if code != exitNotFound || !strings.Contains(errOut, "status failed: this generation has never had a preview") {
		t.Errorf("exit code %d: %s", code, errOut)
	}
	code, out, _ = f.run(context.Background(), "status", "-json", "running")
	var v map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &v) != nil || v["status"] != "running" {
		t.Errorf("-json: %d %s", code, out)
	}
}

func TestRequest(t *testing.T) {
	f := newFakeAPI(t)
	var running atomic.Bool
	running.Store(true)
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/status", func(w http.ResponseWriter, r *http.Request) {
		if running.Load() {
			writeJSON(w, http.StatusOK, statusBody("running"))
		} else {
			writeJSON(w, http.StatusOK, statusBody("stopped"))
		}
	})
	f.mux.HandleFunc("POST /api/v1/generations/{id}/preview/launch", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"preview_id": previewID, "status": "running", "session_token": "fresh"})
	})
	f.mux.HandleFunc("POST /api/v1/generations/{id}/preview/request", func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get("X-Preview-Token"); tok != "fresh" && tok != "given" {
			apiErr(w, http.StatusUnauthorized, "unauthorized", "X-Preview-Token must be a live session token", nil)
			return
		}
		var req appRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Method != "POST" || req.Path != "/items?x=1" || req.Headers["X-Custom"] != "a: b" || req.Body != `{"a":1}` || req.BodyEncoding != "utf-8" {
			t.Errorf("request %+v", req)
		}
		writeJSON(w, http.StatusOK, map[string]any{"status_code": 201, "headers": map[string][]string{
			"Content-Type": {"application/json"}, "X-B": {"2"}, "X-A": {"1"}}, "body": `{"id":1,"tags":["a"]}`,
			"body_encoding": "utf-8", "duration_ms": 4.25, "truncated": false})
	})
	body := filepath.Join(t.TempDir(), "body.json")
	os.WriteFile(body, []byte(`{"a":1}`), 0o644)
	code, out, errOut := f.run(context.Background(), "request", "g1", "post", "/items?x=1", "-d", "@"+body, "-H", "X-Custom: a: b")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	want := "201 Created (4.2 ms)\nContent-Type: application/json\nX-A: 1\nX-B: 2\n\n{\n  \"id\": 1,\n  \"tags\": [\n    \"a\"\n  ]\n}\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if !f.called("POST /api/v1/generations/g1/preview/launch") {
		t.Error("no session token was asked for")
	}
	// A given session token needs no launch call.
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	if code, _, errOut := f.run(context.Background(), "request", "-session", "given", "g1", "POST", "items?x=1", "-d", `{"a":1}`, "-H", "X-Custom: a: b"); code != exitOK {
		t.Errorf("exit code %d: %s", code, errOut)
	}
	if f.called("POST /api/v1/generations/g1/preview/launch") {
		t.Error("launch called although -session was given")
	}
	// A stopped preview is not started by asking for a token.
	running.Store(false)
	code, _, errOut = f.run(context.Background(), "request", "g1", "GET", "/")
	if code != exitError || !strings.Contains(errOut, "request failed: the preview is stopped; start it with: previewctl launch g1") {
		t.Errorf("exit code %d: %s", code, errOut)
	}
}

func TestPrintResponseBinary(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: io.Discard}
	err := a.printResponse(appResponse{StatusCode: 200, Body: "AAH/", BodyEncoding: "base64", Truncated: true,
		Headers: map[string][]string{"Content-Type": {"image/png"}}})
	if err != nil || !strings.HasSuffix(out.String(), "\n\n\x00\x01\xff") {
		t.Errorf("%v %q", err, out.String())
	}
}

func TestEndpoints(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/endpoints", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "old" {
			apiErr(w, http.StatusNotFound, "not_found", "no such endpoint", nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"framework": "fastapi", "endpoints": []map[string]any{
			{"method": "GET", "path": "/", "summary": "Index"},
			{"method": "GET", "path": "/api/items/{item_id}", "summary": "", "params": []map[string]any{{"name": "item_id", "in": "path", "type": "int", "required": true}}},
		}})
	})
	code, out, _ := f.run(context.Background(), "endpoints", "g1")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, re := range []string{`METHOD\s+PATH\s+SUMMARY`, `GET\s+/\s+Index`, `GET\s+/api/items/\{item_id\}\s+-`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no %s in\n%s", re, out)
		}
	}
	code, _, errOut := f.run(context.Background(), "endpoints", "old")
	if code != exitNotFound || !strings.Contains(errOut, "endpoints failed: this previewd does not serve that API route") {
		t.Errorf("exit code %d: %s", code, errOut)
	}
}

func TestLs(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /api/v1/generations", func(w http.ResponseWriter, r *http.Request) {
		// Three generations, two per page.
		all := []string{"g3", "g2", "g1"}
		from := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			from, _ = strconv.Atoi(c)
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		limit = min(limit, 2)
		var gens []map[string]any
		for _, id := range all[from:min(from+limit, len(all))] {
			gens = append(gens, map[string]any{"id": id, "name": "app-" + id, "framework": "flask", "file_count": 2,
				"total_bytes": 2048, "created_at": time.Now().Add(-3 * time.Minute).UTC()})
		}
		var next any
		if from+limit < len(all) {
			next = strconv.Itoa(from + limit)
		}
		writeJSON(w, http.StatusOK, map[string]any{"generations": gens, "next_cursor": next})
	})
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/status", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "g3":
			writeJSON(w, http.StatusOK, statusBody("running"))
		case "g2":
			writeJSON(w, http.StatusOK, statusBody("stopped"))
		default:
			apiErr(w, http.StatusNotFound, "not_found", "this generation has never had a preview", nil)
		}
	})
	code, out, errOut := f.run(context.Background(), "ls")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	for _, re := range []string{`ID\s+NAME\s+FRAMEWORK\s+FILES\s+SIZE\s+CREATED\s+PREVIEW`,
		`g3\s+app-g3\s+flask\s+2\s+2.0 KiB\s+3m0\ds ago\s+running on :3007`, `g2\s+.*stopped`, `g1\s+.*ago\s+-\n`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no %s in\n%s", re, out)
		}
	}
	code, out, _ = f.run(context.Background(), "ls", "-limit", "1", "-json")
	var rows []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0]["id"] != "g3" {
		t.Fatalf("-json: %d %s", code, out)
	}
	if p, _ := rows[0]["preview"].(map[string]any); p["status"] != "running" {
		t.Errorf("preview of g3: %v", rows[0]["preview"])
	}
}

func TestLogs(t *testing.T) {
	f := newFakeAPI(t)
	const total = 2500
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/logs", func(w http.ResponseWriter, r *http.Request) {
		since, _ := strconv.Atoi(r.URL.Query().Get("since"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		lines := []logLine{}
		for seq := since + 1; seq <= min(since+limit, total); seq++ {
			lines = append(lines, logLine{Seq: int64(seq), Stream: []string{"stdout", "stderr"}[seq%2], Line: "line " + strconv.Itoa(seq)})
		}
		next := since
		if len(lines) > 0 {
			next = int(lines[len(lines)-1].Seq)
		}
		writeJSON(w, http.StatusOK, map[string]any{"preview_id": previewID, "status": "stopped", "lines": lines, "next_since": next})
	})
	code, out, _ := f.run(context.Background(), "logs", "g1", "-since", "10")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != total-10 || lines[0] != "stderr | line 11" || lines[len(lines)-1] != "stdout | line 2500" {
		t.Errorf("exit code %d, %d lines, first %q", code, len(lines), lines[0])
	}
	code, out, _ = f.run(context.Background(), "logs", "-json", "-since", "2499", "g1")
	var l logLine
	if code != exitOK || json.Unmarshal([]byte(out), &l) != nil || l.Seq != 2500 {
		t.Errorf("-json: %d %q", code, out)
	}
}

func TestLogsFollow(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.Handle("GET /api/v1/generations/g1/preview/logs/stream", &sseLog{t: t, n: 6, dropEvery: 4})
	code, out, errOut := f.run(context.Background(), "logs", "-f", "g1")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	if n := strings.Count(out, "| line "); n != 6 {
		t.Errorf("%d lines:\n%s", n, out)
	}
	mustContain(t, "stderr", errOut, "log stream interrupted", "reconnecting (attempt 1)", "the preview has ended (stopped)")
}

func TestDownAndRm(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("DELETE /api/v1/generations/{id}/preview", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"preview_id": previewID, "status": "stopped"})
	})
	f.mux.HandleFunc("DELETE /api/v1/generations/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	if code, out, _ := f.run(context.Background(), "down", "g1"); code != exitOK || out != "Preview "+previewID+" is stopped.\n" {
		t.Errorf("down: %d %q", code, out)
	}
	if code, out, _ := f.run(context.Background(), "rm", "g1"); code != exitOK || out != "Generation g1 deleted.\n" {
		t.Errorf("rm: %d %q", code, out)
	}
}
