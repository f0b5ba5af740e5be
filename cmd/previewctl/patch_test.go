package main

import (
	"context"
	"net/http"
	"testing"

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
			writeJSON(w, http.StatusOK, map[string]any{"revision": 3, "status": "running", "reload": "files_only", "timings_ms": map[string]int{"total": 9}})
		default:
			apiErr(w, http.StatusConflict, "conflict", "the generation is at revision 3, not 1", nil)
		}
	})
	ctx := context.Background()
	code, out, errOut := f.run(ctx, "patch", genID, dir)
	if code != exitOK {
		t.Fatalf("patch: %d %q %q", code, out, errOut)
	}
	mustContain(t, "patch", out, "Generation "+genID+" is at revision 2 (1 files", "in 7 ms")
	code, out, _ = f.run(ctx, "patch", "-if-match", "2", "-framework", "flask", genID, dir)
	if code != exitOK {
		t.Fatalf("patch -if-match: %d %q", code, out)
	}
	mustContain(t, "patch of a running preview", out, "revision 3", "keeps the revision it was launched with")
	code, _, errOut = f.run(ctx, "patch", "-if-match", "1", genID, dir)
	if code != exitError {
		t.Fatalf("stale patch: exit %d", code)
	}
	mustContain(t, "stale patch", errOut, "revision 3, not 1")
	if code, _, _ := f.run(ctx, "patch", genID); code != exitUsage {
		t.Fatalf("patch without DIR: exit %d", code)
	}
}
