package server_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const helloFlask = "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef root():\n    return 'flask'\n"

// uploadHello stores a one-file FastAPI app for user and returns its id.
func (e *env) uploadHello(user string) string {
	e.t.Helper()
	r := e.callJSON("POST", "/api/v1/generations", user, map[string]any{"name": "hello",
		"files": []map[string]string{{"path": "main.py", "content": helloFastAPI}, {"path": "notes.txt", "content": "v1"}}})
	mustStatus(e.t, r, http.StatusCreated)
	return r.body["id"].(string)
}

// files returns the generation's current revision and its files (path →
// sha256).
func (e *env) files(user, id string) (float64, map[string]string) {
	e.t.Helper()
	r := e.call("GET", "/api/v1/generations/"+id, user, "", nil)
	mustStatus(e.t, r, http.StatusOK)
	out := map[string]string{}
	for _, f := range r.body["files"].([]any) {
		m := f.(map[string]any)
		out[m["path"].(string)] = m["sha256"].(string)
	}
	return r.body["revision"].(float64), out
}

func (e *env) patch(user, id string, body any, header ...string) response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("PATCH", e.api.URL+"/api/v1/generations/"+id+"/files", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(e.t, user))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(req)
}

func TestPatchMakesRevision(t *testing.T) {
	e := newEnv(t)
	id := e.uploadHello("alice")
	if rev, _ := e.files("alice", id); rev != 1 {
		t.Fatalf("a new generation is at revision %v", rev)
	}
	r := e.patch("alice", id, map[string]any{
		"files":  []map[string]string{{"path": "main.py", "content": helloFastAPI + "# v2\n"}, {"path": "static/a.css", "content": "body{}"}},
		"delete": []string{"notes.txt"},
	})
	mustStatus(t, r, http.StatusOK)
	timings, _ := r.body["timings_ms"].(map[string]any)
	if r.body["revision"] != 2.0 || r.body["status"] != "stopped" || r.body["reload"] != "files_only" || timings["total"] == nil {
		t.Fatalf("answer: %s", r.raw)
	}
	rev, files := e.files("alice", id)
	if rev != 2 || len(files) != 2 || files["static/a.css"] == "" || files["notes.txt"] != "" {
		t.Fatalf("after the patch: revision %v, files %v", rev, files)
	}
	g := e.call("GET", "/api/v1/generations/"+id, "alice", "", nil)
	if g.body["file_count"] != 2.0 || g.body["total_bytes"] != float64(len(helloFastAPI)+5+6) || g.header.Get("ETag") != `"2"` {
		t.Fatalf("generation: %s (ETag %q)", g.raw, g.header.Get("ETag"))
	}

	r = e.call("GET", "/api/v1/generations/"+id+"/revisions", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	revs := r.body["revisions"].([]any)
	if len(revs) != 2 {
		t.Fatalf("revisions: %s", r.raw)
	}
	latest, first := revs[0].(map[string]any), revs[1].(map[string]any)
	want := func(m map[string]any, key, list string) {
		t.Helper()
		var got []string
		for _, v := range m[key].([]any) {
			got = append(got, v.(string))
		}
		if strings.Join(got, ",") != list {
			t.Errorf("revision %v %s = %v, want %s", m["revision"], key, got, list)
		}
	}
	if latest["revision"] != 2.0 || first["revision"] != 1.0 || latest["file_count"] != 2.0 || latest["created_at"] == nil {
		t.Fatalf("revisions: %s", r.raw)
	}
	want(latest, "added", "static/a.css")
	want(latest, "modified", "main.py")
	want(latest, "deleted", "notes.txt")
	want(first, "added", "main.py,notes.txt")

	// PUT replaces every file, here with a tar archive, and may change the
	// framework the way an upload detects it.
	var tarBody bytes.Buffer
	tw := tar.NewWriter(&tarBody)
	tw.WriteHeader(&tar.Header{Name: "app.py", Mode: 0o644, Size: int64(len(helloFlask))})
	tw.Write([]byte(helloFlask))
	tw.Close()
	r = e.call("PUT", "/api/v1/generations/"+id+"/files?framework=auto", "alice", "application/x-tar", tarBody.Bytes())
	mustStatus(t, r, http.StatusOK)
	g = e.call("GET", "/api/v1/generations/"+id, "alice", "", nil)
	if r.body["revision"] != 3.0 || g.body["framework"] != "flask" || g.body["file_count"] != 1.0 {
		t.Fatalf("after PUT: %s then %s", r.raw, g.raw)
	}
	r = e.callJSON("PUT", "/api/v1/generations/"+id+"/files", "alice", map[string]any{
		"files": []map[string]string{{"path": "app.py", "content": helloFlask + "# v4\n"}}})
	mustStatus(t, r, http.StatusOK)
	if r.body["revision"] != 4.0 {
		t.Fatalf("JSON PUT: %s", r.raw)
	}
}

func TestBadPatchesStoreNothing(t *testing.T) {
	e := newEnv(t) // MaxFiles 50, MaxUploadBytes 1 MiB
	id := e.uploadHello("carol")
	file := func(path, content string) map[string]string {
		return map[string]string{"path": path, "content": content}
	}
	many := make([]map[string]string, 49) // 49 + the 2 stored > 50
	for i := range many {
		many[i] = file(fmt.Sprintf("f%d.txt", i), "x")
	}
	cases := []struct {
		name   string
		method string
		body   any // JSON value, or []byte sent as is
		status int
		code   string
	}{
		{"absolute path", "PATCH", map[string]any{"files": []map[string]string{file("/etc/passwd", "x")}}, 400, "invalid_request"},
		{"dot-dot", "PATCH", map[string]any{"files": []map[string]string{file("../main.py", "x")}}, 400, "invalid_request"},
		{"dot-dot delete", "PATCH", map[string]any{"delete": []string{"../main.py"}}, 400, "invalid_request"},
		{"file under a file", "PATCH", map[string]any{"files": []map[string]string{file("main.py/x.py", "x")}}, 400, "invalid_request"},
		{"written and deleted", "PATCH", map[string]any{"files": []map[string]string{file("main.py", "x")}, "delete": []string{"main.py"}}, 400, "invalid_request"},
		{"delete a missing file", "PATCH", map[string]any{"delete": []string{"nope.py"}}, 422, "invalid_request"},
		{"too large", "PATCH", map[string]any{"files": []map[string]string{file("big.txt", strings.Repeat("a", 1<<20-len(helloFastAPI)))}}, 413, "payload_too_large"},
		{"too many files", "PATCH", map[string]any{"files": many}, 413, "payload_too_large"},
		{"undetectable", "PATCH", map[string]any{"files": []map[string]string{file("main.py", "print('hi')\n")}}, 422, "invalid_request"},
		{"deletes every file", "PATCH", map[string]any{"delete": []string{"main.py", "notes.txt"}}, 422, "invalid_request"},
		{"empty patch", "PATCH", map[string]any{}, 400, "invalid_request"},
		{"unknown field", "PATCH", map[string]any{"file": []map[string]string{file("a.txt", "x")}}, 400, "invalid_request"},
		{"bad JSON", "PATCH", []byte(`{"files": [`), 400, "invalid_request"},
		{"trailing data", "PATCH", []byte(`{"files": [{"path": "a.txt", "content": "x"}]} {}`), 400, "invalid_request"},
		{"PUT undetectable", "PUT", map[string]any{"files": []map[string]string{file("README.md", "# hi")}}, 422, "invalid_request"},
		{"PUT no files", "PUT", map[string]any{"files": []map[string]string{}}, 400, "invalid_request"},
		{"PUT unknown framework", "PUT", map[string]any{"framework": "rails", "files": []map[string]string{file("main.py", helloFastAPI)}}, 400, "invalid_request"},
	}
	rev0, files0 := e.files("carol", id)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, ok := c.body.([]byte)
			if !ok {
				var err error
				if b, err = json.Marshal(c.body); err != nil {
					t.Fatal(err)
				}
			}
			r := e.call(c.method, "/api/v1/generations/"+id+"/files", "carol", "application/json", b)
			if r.status != c.status || r.errorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, c.status, c.code)
			}
			if msg, _ := r.errorField("message").(string); msg == "" || strings.Contains(msg, "pq:") {
				t.Fatalf("message not fit for a person: %q", msg)
			}
			rev, files := e.files("carol", id)
			if rev != rev0 || fmt.Sprint(files) != fmt.Sprint(files0) {
				t.Fatalf("a bad patch changed the generation: revision %v, files %v", rev, files)
			}
		})
	}
	if n := e.countRows("generation_revisions"); n != 1 {
		t.Fatalf("%d revisions stored, want 1", n)
	}
	if n := e.countRows("generation_files"); n != 2 {
		t.Fatalf("%d file rows stored, want 2", n)
	}
}

func TestPatchIfMatch(t *testing.T) {
	e := newEnv(t)
	id := e.uploadHello("alice")
	body := map[string]any{"files": []map[string]string{{"path": "a.txt", "content": "a"}}}
	mustStatus(t, e.patch("alice", id, body, "If-Match", `"1"`), http.StatusOK)
	r := e.patch("alice", id, body, "If-Match", "1")
	if r.status != http.StatusConflict || r.errorCode() != "conflict" {
		t.Fatalf("stale If-Match: %d %s", r.status, r.raw)
	}
	if r := e.patch("alice", id, body, "If-Match", "two"); r.status != http.StatusBadRequest || r.errorCode() != "invalid_request" {
		t.Fatalf("bad If-Match: %d %s", r.status, r.raw)
	}
	if rev, _ := e.files("alice", id); rev != 2 {
		t.Fatalf("revision %v after a refused patch, want 2", rev)
	}
	mustStatus(t, e.patch("alice", id, body, "If-Match", "2"), http.StatusOK)
}

func TestConcurrentPatches(t *testing.T) {
	e := newEnv(t)
	id := e.uploadHello("alice")
	const n = 20
	revs := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"files": []map[string]string{{"path": fmt.Sprintf("p/%02d.txt", i), "content": "x"}}})
			req, _ := http.NewRequest("PATCH", e.api.URL+"/api/v1/generations/"+id+"/files", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token(t, "alice"))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out struct{ Revision int }
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("patch %d: %d %v", i, resp.StatusCode, err)
			}
			revs[i] = out.Revision
		}()
	}
	wg.Wait()
	sort.Ints(revs)
	for i, r := range revs {
		if r != i+2 {
			t.Fatalf("revisions %v, want 2..%d each once", revs, n+1)
		}
	}
	rev, files := e.files("alice", id)
	if rev != n+1 || len(files) != n+2 {
		t.Fatalf("revision %v with %d files, want %d with %d", rev, len(files), n+1, n+2)
	}
	// Only the last 10 are kept.
	r := e.call("GET", "/api/v1/generations/"+id+"/revisions", "alice", "", nil)
	list := r.body["revisions"].([]any)
	if len(list) != 10 || list[0].(map[string]any)["revision"] != float64(n+1) || list[9].(map[string]any)["revision"] != float64(n-8) {
		t.Fatalf("kept revisions: %s", r.raw)
	}
}

func TestPatchAnotherUsersGeneration(t *testing.T) {
	e := newEnv(t)
	id := e.uploadHello("alice")
	body := map[string]any{"files": []map[string]string{{"path": "a.txt", "content": "a"}}}
	for _, r := range []response{
		e.patch("mallory", id, body),
		e.callJSON("PUT", "/api/v1/generations/"+id+"/files", "mallory", map[string]any{"files": []map[string]string{{"path": "main.py", "content": helloFastAPI}}}),
		e.call("GET", "/api/v1/generations/"+id+"/revisions", "mallory", "", nil),
		e.patch("alice", "00000000-0000-0000-0000-000000000000", body),
		e.patch("alice", "not-a-uuid", body),
	} {
		if r.status != http.StatusNotFound || r.errorCode() != "not_found" {
			t.Errorf("got %d %s, want 404 not_found", r.status, r.raw)
		}
	}
	if rev, _ := e.files("alice", id); rev != 1 {
		t.Fatalf("revision %v after another user's patch", rev)
	}
}

// TestPatchedRevisionRunsOnNextLaunch: a running preview serves a patch at
// once, in place; the next launch runs the latest revision too.
func TestPatchedRevisionRunsOnNextLaunch(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	id := e.uploadHello("alice")
	r := e.launch("alice", id, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	if r.body["revision"] != 1.0 {
		t.Fatalf("launch: %s", r.raw)
	}

	v2 := strings.Replace(helloFastAPI, "'world'", "'revision 2'", 1)
	r = e.patch("alice", id, map[string]any{"files": []map[string]string{{"path": "main.py", "content": v2}}})
	mustStatus(t, r, http.StatusOK)
	if r.body["revision"] != 2.0 || r.body["status"] != "running" || r.body["reload"] != "in_place" {
		t.Fatalf("patch of a running preview: %s", r.raw)
	}
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "revision 2") {
		t.Fatalf("the running preview after the patch: %d %q", code, body)
	}
	st := e.call("GET", "/api/v1/generations/"+id+"/preview/status", "alice", "", nil)
	if st.body["revision"] != 2.0 {
		t.Fatalf("status of the running preview: %s", st.raw)
	}

	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+id+"/preview", "alice", "", nil), http.StatusOK)
	r = e.launch("alice", id, nil)
	mustStatus(t, r, http.StatusCreated)
	if r.body["revision"] != 2.0 {
		t.Fatalf("relaunch: %s", r.raw)
	}
	if code, body := get(t, r.body["base_url"].(string)+"/"); code != 200 || !strings.Contains(body, "revision 2") {
		t.Fatalf("the relaunched preview: %d %q", code, body)
	}
	st = e.call("GET", "/api/v1/generations/"+id+"/preview/status", "alice", "", nil)
	if st.body["revision"] != 2.0 {
		t.Fatalf("status after the relaunch: %s", st.raw)
	}
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+id+"/preview", "alice", "", nil), http.StatusOK)
}

// TestEndpointsFollowRevisions: the static endpoint list is the current
// revision's, not one cached for an earlier revision.
func TestEndpointsFollowRevisions(t *testing.T) {
	e := newEnv(t)
	id := e.uploadHello("alice")
	paths := func() string {
		t.Helper()
		r := e.call("GET", "/api/v1/generations/"+id+"/preview/endpoints", "alice", "", nil)
		mustStatus(t, r, http.StatusOK)
		var out []string
		for _, ep := range r.body["endpoints"].([]any) {
			out = append(out, ep.(map[string]any)["path"].(string))
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	if got := paths(); got != "/" {
		t.Fatalf("revision 1 endpoints: %s", got)
	}
	v2 := helloFastAPI + "\n@app.get('/items')\ndef items():\n    return []\n"
	mustStatus(t, e.patch("alice", id, map[string]any{"files": []map[string]string{{"path": "main.py", "content": v2}}}), http.StatusOK)
	if got := paths(); got != "/,/items" {
		t.Fatalf("revision 2 endpoints: %s", got)
	}
}

// TestRestartRunsLaunchedRevision: a crashed app is restarted from the
// revision its preview serves: the last one applied to it in place, not
// the one it was launched with.
func TestRestartRunsLaunchedRevision(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "crash-later")
	r := e.launch("alice", gen, map[string]any{"restart": map[string]any{"max": 1}})
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	main := sampleFile(t, "crash-later", "main.py")
	v2 := strings.Replace(main, `{"alive": True}`, `{"alive": "revision 2"}`, 1)
	r = e.patch("alice", gen, map[string]any{"files": []map[string]string{{"path": "main.py", "content": v2}}})
	mustStatus(t, r, http.StatusOK)
	if r.body["reload"] != "in_place" || r.body["revision"] != 2.0 {
		t.Fatalf("patch: %s", r.raw)
	}

	if resp, err := http.Post(base+"/crash", "text/plain", nil); err == nil {
		resp.Body.Close()
	}
	st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["restarts"] == 1.0 })
	if st["status"] != "running" || st["revision"] != 2.0 {
		t.Fatalf("after the crash: %v", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(base + "/"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if !strings.Contains(string(body), "revision 2") {
					t.Fatalf("the restarted app serves %q, not revision 2", body)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted app never answered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
}
