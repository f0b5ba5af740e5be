package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/previewd/previewd/server/upload"
)

// TestPatch sends a folder as the generation's next revision: a PUT of its
// archive, with If-Match and the framework when given.
func TestPatch(t *testing.T) {
	f := newFakeAPI(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"main.py": "app = 2\n", "node_modules/x.js": "skipped"})
	f.mux.HandleFunc("PUT /api/v1/generations/{id}/files", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/gzip" {
			t.Errorf("Content-Type %q", ct)
		}
		files, err := upload.FromArchive(r.Body, r.Header.Get("Content-Type"), upload.Limits{})
		if err != nil || len(files) != 1 || files[0].Path != "main.py" || string(files[0].Content) != "app = 2\n" {
			t.Errorf("archive: %v, %+v", err, files)
		}
		switch r.Header.Get("If-Match") {
		case "":
			if r.URL.Query().Has("framework") {
				t.Errorf("framework sent unasked: %q", r.URL.RawQuery)
			}
			writeJSON(w, http.StatusOK, map[string]any{"revision": 2, "status": "stopped", "reload": "files_only", "timings_ms": map[string]int{"total": 7}})
		case "2":
			if r.URL.Query().Get("framework") != "flask" {
				t.Errorf("framework %q", r.URL.Query().Get("framework"))
			}
			writeJSON(w, http.StatusOK, map[string]any{"revision": 3, "status": "running", "reload": "in_place", "timings_ms": map[string]int{"total": 9}})
		default:
			apiErr(w, http.StatusConflict, "conflict", "the generation is at revision 3, not 1", nil)
		}
	})
	ctx := context.Background()
	code, out, errOut := f.run(ctx, "patch", genID, dir)
	if code != exitOK {
		t.Fatalf("patch: %d %q %q", code, out, errOut)
	}
	mustContain(t, "patch", out, "Generation "+genID+" is at revision 2 (1 files", "the next launch runs it")
	code, out, _ = f.run(ctx, "patch", "-if-match", "2", "-framework", "flask", genID, dir)
	if code != exitOK {
		t.Fatalf("patch -if-match: %d %q", code, out)
	}
	mustContain(t, "patch of a running preview", out, "revision 3 live in 9 ms")
	code, _, errOut = f.run(ctx, "patch", "-if-match", "1", genID, dir)
	if code != exitError {
		t.Fatalf("stale patch: exit %d", code)
	}
	mustContain(t, "stale patch", errOut, "revision 3, not 1")
	if code, _, _ := f.run(ctx, "patch", genID); code != exitUsage {
		t.Fatalf("patch without DIR: exit %d", code)
	}
}

// TestFolderWatcher: a change of the folder is sent once, after it settles;
// saving a file unchanged sends nothing; a failed start is reported.
func TestFolderWatcher(t *testing.T) {
	f := newFakeAPI(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"main.py": "app = 1\n"})
	var puts atomic.Int32
	f.mux.HandleFunc("PUT /api/v1/generations/{id}/files", func(w http.ResponseWriter, r *http.Request) {
		files, _ := upload.FromArchive(r.Body, r.Header.Get("Content-Type"), upload.Limits{})
		n := puts.Add(1)
		if len(files) == 1 && strings.Contains(string(files[0].Content), "broken") {
			apiErr(w, http.StatusUnprocessableEntity, "launch_failed", "revision 3: the new version exited with code 1 before answering HTTP",
				map[string]any{"log_tail": []string{"SyntaxError: invalid syntax"}, "revision": 3})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"revision": 1 + n, "status": "running", "reload": "in_place", "timings_ms": map[string]int{"total": 84}})
	})
	c, err := newClient(f.URL, "test-token")
	if err != nil {
		t.Fatal(err)
	}
	notes := make(chan string, 10)
	fw, err := newFolderWatcher(c, genID, dir, func(s string) { notes <- s })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go fw.run(ctx)
	next := func() string {
		t.Helper()
		select {
		case s := <-notes:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no change reported")
			return ""
		}
	}
	writeTree(t, dir, map[string]string{"main.py": "app = 2\n"})
	if s := next(); s != "revision 2 live in 84 ms" {
		t.Errorf("first change: %q", s)
	}
	now := time.Now()
	if err := os.Chtimes(filepath.Join(dir, "main.py"), now, now); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"main.py": "broken(\n"})
	if s := next(); !strings.Contains(s, "failed to start") || !strings.Contains(s, "SyntaxError") || !strings.Contains(s, "previous revision keeps serving") {
		t.Errorf("broken change: %q", s)
	}
	if n := puts.Load(); n != 2 {
		t.Errorf("%d patches sent, want 2 (a touch is no change)", n)
	}
}
