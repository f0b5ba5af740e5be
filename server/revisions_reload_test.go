package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// reloadCase is a sample app and the file of it whose greeting a patch
// changes.
type reloadCase struct {
	sample, file, greeting string
	broken                 string // appended to brokenFile, makes the app fail to start
	brokenFile             string // "": file. (Django reads its URLconf on the first request, not at start.)
}

var reloadCases = []reloadCase{
	{"fastapi", "app/main.py", "hello from fastapi", "\ndef broken(:\n", ""},
	{"flask", "app/__init__.py", "hello from flask", "\nraise RuntimeError('broken on purpose')\n", ""},
	{"django", "mysite/urls.py", "hello from django", "\nimport no_such_module_here\n", "mysite/settings.py"},
	{"express", "server.js", "hello from express", "\nthrow new Error('broken on purpose');\n", ""},
}

// versionFiles are the files of a patch making version n of tc's sample,
// broken when asked; every patch restores what a broken one changed.
func (tc reloadCase) versionFiles(t testing.TB, n int, broken bool) []map[string]string {
	t.Helper()
	content := strings.Replace(sampleFile(t, tc.sample, tc.file), tc.greeting, fmt.Sprintf("%s, revision %d", tc.greeting, n), 1)
	if tc.brokenFile == "" {
		if broken {
			content += tc.broken
		}
		return []map[string]string{{"path": tc.file, "content": content}}
	}
	other := sampleFile(t, tc.sample, tc.brokenFile)
	if broken {
		other += tc.broken
	}
	return []map[string]string{{"path": tc.file, "content": content}, {"path": tc.brokenFile, "content": other}}
}

// sampleFile reads one file of a sample.
func sampleFile(t testing.TB, sample, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "samples", sample, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPatchReloadsRunningPreview: a patch of a running preview's generation
// is served by the same preview (id, port, URL) at once; a broken one
// answers 422 with the revision that failed while the old one serves on,
// and a later good one clears the failure. All four frameworks.
func TestPatchReloadsRunningPreview(t *testing.T) {
	requireInfra(t, true)
	for _, tc := range reloadCases {
		t.Run(tc.sample, func(t *testing.T) {
			e := newEnv(t)
			gen := e.upload("alice", tc.sample)
			r := e.launch("alice", gen, nil)
			mustStatus(t, r, http.StatusCreated)
			id, base, port := r.body["preview_id"].(string), r.body["base_url"].(string), r.body["port"]
			defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)
			// The log stream says each update: event: revision.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stream, err := e.openStream(ctx, gen, "alice", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Body.Close()
			revEvents := make(chan string, 100)
			go readEvents(stream.Body, func(ev sseEvent) bool {
				if ev.event == "revision" {
					var d struct {
						Revision int
						Status   string
					}
					_ = json.Unmarshal([]byte(ev.data), &d)
					revEvents <- fmt.Sprintf("%d %s", d.Revision, d.Status)
				}
				return true
			})
			patch := func(n int, broken bool) response {
				return e.patch("alice", gen, map[string]any{"files": tc.versionFiles(t, n, broken)})
			}
			serves := func(want string) {
				t.Helper()
				if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, want) {
					t.Fatalf("the preview answers %d %q, want %q", code, body, want)
				}
			}

			r = patch(2, false)
			mustStatus(t, r, http.StatusOK)
			timings, _ := r.body["timings_ms"].(map[string]any)
			if r.body["revision"] != 2.0 || r.body["reload"] != "in_place" || r.body["status"] != "running" ||
				r.body["preview_id"] != id || timings["healthy"] == nil || timings["write"] == nil {
				t.Fatalf("patch of a running preview: %s", r.raw)
			}
			serves(tc.greeting + ", revision 2")

			r = patch(3, true)
			mustStatus(t, r, http.StatusUnprocessableEntity)
			if r.errorCode() != "launch_failed" || r.errorField("revision") != 3.0 || r.errorField("exit_code") == nil ||
				len(r.errorField("log_tail").([]any)) == 0 {
				t.Fatalf("broken patch: %s", r.raw)
			}
			serves(tc.greeting + ", revision 2")
			st := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
			if st.body["status"] != "running" || st.body["revision"] != 2.0 || st.body["failed_revision"] != 3.0 ||
				st.body["failed_revision_error"] == nil || st.body["port"] != port {
				t.Fatalf("status after a broken patch: %s", st.raw)
			}

			r = patch(4, false)
			mustStatus(t, r, http.StatusOK)
			if r.body["reload"] != "in_place" || r.body["serving_revision"] != 4.0 {
				t.Fatalf("good patch after a broken one: %s", r.raw)
			}
			serves(tc.greeting + ", revision 4")
			st = e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
			if st.body["preview_id"] != id || st.body["revision"] != 4.0 || st.body["failed_revision"] != nil {
				t.Fatalf("status after a good patch: %s", st.raw)
			}
			logs := e.call("GET", "/api/v1/generations/"+gen+"/preview/logs?limit=1000", "alice", "", nil)
			var system []string
			for _, l := range logs.body["lines"].([]any) {
				if l := l.(map[string]any); l["stream"] == "system" {
					system = append(system, l["line"].(string))
				}
			}
			var seen []string
			for len(seen) == 0 || seen[len(seen)-1] != "4 running" {
				select {
				case ev := <-revEvents:
					if !strings.HasSuffix(ev, " reloading") { // may be missed when an update is quick
						seen = append(seen, ev)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("revision events %q, want them to end with \"4 running\"", seen)
				}
			}
			if got := strings.Join(seen, ", "); got != "2 running, 3 failed, 4 running" {
				t.Errorf("revision events %q, want 2 running, 3 failed, 4 running", got)
			}
			all := strings.Join(system, "\n")
			for _, want := range []string{"revision 2 live in", "revision 3 failed", "revision 2 keeps serving", "revision 4 live in"} {
				if !strings.Contains(all, want) {
					t.Errorf("system lines lack %q:\n%s", want, all)
				}
			}
		})
	}
}

// TestConcurrentPatchesOfRunningPreview: patches sent at once each make a
// revision, and the preview ends up serving the latest one whatever order
// their updates ran in; a patch with wait false answers 202 at once and
// its update follows.
func TestConcurrentPatchesOfRunningPreview(t *testing.T) {
	requireInfra(t, true)
	tc := reloadCases[0]
	e := newEnv(t)
	gen := e.upload("alice", tc.sample)
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)

	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each names its own file, so that every patch is a change.
			files := []map[string]string{{"path": fmt.Sprintf("extra%d.txt", i), "content": "x"}}
			codes <- e.patch("alice", gen, map[string]any{"files": files}).status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a concurrent patch answered %d", c)
		}
	}
	st := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
	if st.body["revision"] != 4.0 || st.body["status"] != "running" {
		t.Fatalf("status after 3 concurrent patches: %s", st.raw)
	}

	r = e.patch("alice", gen, map[string]any{"files": tc.versionFiles(t, 5, false), "wait": false})
	mustStatus(t, r, http.StatusAccepted)
	if r.body["revision"] != 5.0 || r.body["status"] != "reloading" || r.body["reload"] != "in_place" {
		t.Fatalf("patch without wait: %s", r.raw)
	}
	e.waitStatus("alice", gen, func(s map[string]any) bool { return s["revision"] == 5.0 })
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, tc.greeting+", revision 5") {
		t.Fatalf("after the update without wait the preview answers %d %q", code, body)
	}
}
