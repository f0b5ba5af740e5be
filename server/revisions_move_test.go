package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/previewd/previewd/sandbox"
)

// constWheel is the wheel of dist 1.0: a module <dist> whose VALUE is value.
func constWheel(t *testing.T, dist, value string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	info := dist + "-1.0.dist-info/"
	files := []struct{ name, body string }{
		{dist + "/__init__.py", fmt.Sprintf("VALUE = %q\n", value)},
		{info + "METADATA", "Metadata-Version: 2.1\nName: " + dist + "\nVersion: 1.0\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	record := ""
	for _, f := range files {
		w, err := z.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
		record += f.name + ",,\n"
	}
	w, _ := z.Create(info + "RECORD")
	w.Write([]byte(record + info + "RECORD,,\n"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wheelIndex serves a PEP 503 index of one wheel per dist.
func wheelIndex(t *testing.T, wheels map[string][]byte) *httptest.Server {
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for dist, whl := range wheels {
			file := dist + "-1.0-py3-none-any.whl"
			switch r.URL.Path {
			case "/simple/" + strings.ReplaceAll(dist, "_", "-") + "/":
				fmt.Fprintf(w, `<html><body><a href="/files/%s">%s</a></body></html>`, file, file)
				return
			case "/files/" + file:
				w.Write(whl)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(index.Close)
	return index
}

// previewContainers lists the env's containers of a preview.
func (e *env) previewContainers(previewID string) []string {
	e.t.Helper()
	list, err := e.docker.Managed(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		if c.Labels[sandbox.LabelRunner] == e.runner && c.Labels[sandbox.LabelPreview] == previewID {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestPatchMovesToNewContainer: a patch whose requirements need other
// packages builds them and moves the preview to a new container, keeping
// its id, port, URLs, session and log; an install that fails and a new
// version that crashes answer 422 while the old container serves on; a
// client sending requests back to back through the browser proxy sees no
// failure throughout, and no container is left but the serving one.
func TestPatchMovesToNewContainer(t *testing.T) {
	requireInfra(t, true)
	// Names of their own, so that no dependency image of an earlier run
	// spares this one its installs.
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	distA, distB := "movea_"+suffix, "moveb_"+suffix
	index := wheelIndex(t, map[string][]byte{distA: constWheel(t, distA, "from package A"), distB: constWheel(t, distB, "from package B")})
	removeNewDepsImages(t)
	e := newEnv(t, func(c *sandbox.Config, _ *serverConfig) {
		c.Deps.PipIndexURL = index.URL + "/simple/"
		c.Deps.Timeout = 3 * time.Minute
	})
	app := func(rev int, imports ...string) string {
		var b strings.Builder
		b.WriteString("from fastapi import FastAPI\n")
		vals := []string{}
		for _, m := range imports {
			fmt.Fprintf(&b, "import %s\n", m)
			vals = append(vals, m+".VALUE")
		}
		fmt.Fprintf(&b, "app = FastAPI()\n\n@app.get('/')\ndef root():\n    return {'version': 'version %d', 'packages': [%s]}\n", rev, strings.Join(vals, ", "))
		return b.String()
	}
	files := func(main, requirements string) map[string]any {
		return map[string]any{"files": []map[string]string{{"path": "main.py", "content": main}, {"path": "requirements.txt", "content": requirements}}}
	}

	r := e.callJSON("POST", "/api/v1/generations", "alice", files(app(1), "fastapi\n"))
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)
	launched := e.launch("alice", gen, nil)
	mustStatus(t, launched, http.StatusCreated)
	defer e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)
	id, base, proxyURL, port := launched.body["preview_id"].(string), launched.body["base_url"].(string), launched.body["proxy_url"], launched.body["port"]
	first := e.previewContainers(id)
	if len(first) != 1 {
		t.Fatalf("containers of the launched preview: %v", first)
	}

	// Requests back to back through the browser proxy, with the session
	// of the launch, from here to the end.
	load := &proxyLoad{}
	load.allow("version 1")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		load.run(e, &reloadBench{id: id, token: launched.body["session_token"].(string)}, stop)
	}()
	defer func() {
		select {
		case <-done:
		default:
			close(stop)
			<-done
		}
	}()
	serves := func(want ...string) {
		t.Helper()
		code, body := get(t, base+"/")
		for _, w := range want {
			if code != 200 || !strings.Contains(body, w) {
				t.Fatalf("the preview answers %d %q, want %q", code, body, w)
			}
		}
	}
	oneContainer := func(what string) string {
		t.Helper()
		ids := e.previewContainers(id)
		if len(ids) != 1 {
			t.Fatalf("%s: the preview has containers %v, want one", what, ids)
		}
		return ids[0]
	}

	// Revision 2 needs package A: a new container.
	load.allow("version 1", "version 2")
	r = e.patch("alice", gen, files(app(2, distA), "fastapi\n"+distA+"==1.0\n"))
	mustStatus(t, r, http.StatusOK)
	timings, _ := r.body["timings_ms"].(map[string]any)
	if r.body["reload"] != "new_container" || r.body["revision"] != 2.0 || r.body["serving_revision"] != 2.0 ||
		r.body["preview_id"] != id || timings["build"] == nil || timings["healthy"] == nil {
		t.Fatalf("patch that adds a package: %s", r.raw)
	}
	load.allow("version 2")
	serves("version 2", "from package A")
	second := oneContainer("after the move")
	if second == first[0] {
		t.Fatalf("the preview still runs in its first container %s", second)
	}
	st := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
	if st.body["status"] != "running" || st.body["preview_id"] != id || st.body["port"] != port ||
		st.body["base_url"] != base || st.body["proxy_url"] != proxyURL || st.body["revision"] != 2.0 {
		t.Fatalf("status after the move: %s", st.raw)
	}

	// Revision 3 asks for a package the index lacks: the install fails.
	r = e.patch("alice", gen, files(app(3, distA), "fastapi\n"+distA+"==1.0\nnot-in-the-index-previewd==1.0\n"))
	mustStatus(t, r, http.StatusUnprocessableEntity)
	if r.errorCode() != "launch_failed" || r.errorField("revision") != 3.0 ||
		!strings.Contains(fmt.Sprint(r.errorField("log_tail")), "not-in-the-index-previewd") {
		t.Fatalf("patch whose install fails: %s", r.raw)
	}
	if c, _ := r.errorField("cause").(map[string]any); c["kind"] != "dependency_install" {
		t.Errorf("cause of a failed install: %v", r.errorField("cause"))
	}
	serves("version 2")
	if got := oneContainer("after a failed install"); got != second {
		t.Fatalf("after a failed install the preview runs in %s, want %s", got, second)
	}

	// Revision 4 needs packages A and B and crashes at its start.
	r = e.patch("alice", gen, files(app(4, distA, distB)+"raise RuntimeError('broken on purpose')\n", "fastapi\n"+distA+"==1.0\n"+distB+"==1.0\n"))
	mustStatus(t, r, http.StatusUnprocessableEntity)
	if r.errorCode() != "launch_failed" || r.errorField("revision") != 4.0 || r.errorField("exit_code") == nil ||
		!strings.Contains(fmt.Sprint(r.errorField("log_tail")), "broken on purpose") {
		t.Fatalf("patch whose new container crashes: %s", r.raw)
	}
	serves("version 2")
	if got := oneContainer("after a crash in the new container"); got != second {
		t.Fatalf("after a crash the preview runs in %s, want %s", got, second)
	}
	st = e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
	if st.body["status"] != "running" || st.body["revision"] != 2.0 || st.body["failed_revision"] != 4.0 {
		t.Fatalf("status after a crash in the new container: %s", st.raw)
	}

	// Revision 5 needs nothing but the runtime's packages again.
	load.allow("version 2", "version 5")
	r = e.patch("alice", gen, files(app(5), "fastapi\n"))
	mustStatus(t, r, http.StatusOK)
	if r.body["reload"] != "new_container" || r.body["serving_revision"] != 5.0 {
		t.Fatalf("patch back to the runtime image: %s", r.raw)
	}
	load.allow("version 5")
	serves("version 5")
	if got := oneContainer("after the second move"); got == second {
		t.Fatalf("the preview still runs in container %s", got)
	}
	// The requests go on in the new container for a moment.
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done
	if load.sent.Load() == 0 || load.failed.Load() != 0 || len(load.wrong) != 0 {
		t.Errorf("proxied requests during the moves: %d sent, %d failed, wrong answers %q", load.sent.Load(), load.failed.Load(), load.wrong)
	}
	t.Logf("%d requests through the proxy during the moves, none failed", load.sent.Load())

	// One log across the containers: the app's start in the last one, and
	// every reload line.
	var all []string
	for since := 0.0; ; {
		logs := e.call("GET", fmt.Sprintf("/api/v1/generations/%s/preview/logs?limit=1000&since=%d", gen, int(since)), "alice", "", nil)
		mustStatus(t, logs, http.StatusOK)
		lines := logs.body["lines"].([]any)
		if len(lines) == 0 {
			break
		}
		for _, l := range lines {
			if line := l.(map[string]any)["line"].(string); !strings.Contains(line, `"GET / HTTP/1.1"`) {
				all = append(all, line)
			}
		}
		since = logs.body["next_since"].(float64)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"revision 2 live in", "revision 3 failed", "revision 4 failed", "broken on purpose", "revision 5 live in"} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %q:\n%s", want, text)
		}
	}

	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
	if ids := e.previewContainers(id); len(ids) != 0 {
		t.Errorf("containers left after the stop: %v", ids)
	}
	assertNoBuildLeftovers(t, e)
}
