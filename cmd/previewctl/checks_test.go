package main

import (
	"context"
	"net/http"
	"regexp"
	"testing"
)

func TestChecks(t *testing.T) {
	f := newFakeAPI(t)
	f.mux.HandleFunc("GET /api/v1/generations/{id}/preview/checks", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "new" {
			writeJSON(w, http.StatusOK, map[string]any{"state": "pending", "summary": nil, "endpoints": []any{}, "browser": nil})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"preview_id": "p1", "revision": 2, "state": "done", "checked_at": "2026-12-07T10:00:00Z",
			"summary": "2 endpoints: 1 ok, 1 500 at GET /items/{id} — KeyError: 'price' in routers/items.py:31",
			"endpoints": []map[string]any{
				{"method": "GET", "path": "/", "url": "/", "status": 200, "duration_ms": 2.4, "error": nil, "cause": nil, "log": []string{}},
				{"method": "GET", "path": "/items/{id}", "url": "/items/1", "status": 500, "duration_ms": 7.9, "error": nil,
					"cause": map[string]any{"kind": "exception", "message": "KeyError: 'price'", "file": "routers/items.py", "line": 31, "hint": "fix the line"},
					"log":   []string{"Traceback (most recent call last):", "KeyError: 'price'"}},
			},
			"browser": map[string]any{"status": 200, "screenshot_url": "/api/v1/generations/g1/preview/screenshot",
				"pages": []map[string]any{{"path": "/", "status": 200,
					"console":         []map[string]any{{"level": "error", "text": "loading items failed: 500"}},
					"exceptions":      []map[string]any{{"message": "TypeError: x is null", "url": "/", "line": 8}},
					"failed_requests": []map[string]any{{"url": "/items/1", "method": "GET", "status": 500}}}}},
		})
	})
	code, out, _ := f.run(context.Background(), "checks", "g1")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, re := range []string{
		`Revision 2: 2 endpoints: 1 ok, 1 500 at GET /items/\{id\}`,
		`GET\s+/\s+200\s+2 ms`,
		`GET\s+/items/\{id\}\s+500\s+8 ms\s+exception at routers/items.py:31: KeyError: 'price'`,
		`GET /items/1 printed:\n  \| Traceback \(most recent call last\):\n  \| KeyError: 'price'\n  hint: fix the line`,
		`/ \(200\): uncaught TypeError: x is null \(/:8\); console error: loading items failed: 500; request GET /items/1: 500`,
		`screenshot: /api/v1/generations/g1/preview/screenshot`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no %s in\n%s", re, out)
		}
	}
	if code, out, _ := f.run(context.Background(), "checks", "new"); code != exitOK || out != "The checks run once the preview is healthy.\n" {
		t.Errorf("pending: %d %q", code, out)
	}
}
