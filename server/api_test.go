package server_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const helloFastAPI = "from fastapi import FastAPI\napp = FastAPI()\n\n@app.get('/')\ndef root():\n    return {'hello': 'world'}\n"

func TestAuthRejectsBadTokens(t *testing.T) {
	e := newEnv(t)
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hour := time.Now().Add(time.Hour).Unix()
	noneToken := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "alice", "exp": hour})
	cases := []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"not bearer", "Basic YWxpY2U6cHc="},
		{"malformed", "Bearer not.a.jwt"},
		{"wrong key", "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-of-16-bytes"), jwt.MapClaims{"sub": "alice", "exp": hour})},
		{"expired", "Bearer " + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()})},
		{"no exp", "Bearer " + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "alice"})},
		{"no sub", "Bearer " + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"exp": hour})},
		{"alg none", "Bearer " + noneToken},
		{"HS512", "Bearer " + sign(jwt.SigningMethodHS512, []byte(testSecret), jwt.MapClaims{"sub": "alice", "exp": hour})},
		{"NUL in sub", "Bearer " + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "ali\x00ce", "exp": hour})},
		{"newline in sub", "Bearer " + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "alice\nbob", "exp": hour})},
		{"C1 control in sub", "Bearer " + sign(jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": "alice\u009b", "exp": hour})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.api.URL+"/api/v1/generations", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			r := e.do(req)
			if r.status != http.StatusUnauthorized || r.errorCode() != "unauthorized" {
				t.Fatalf("got %d %s, want 401 unauthorized", r.status, r.raw)
			}
			if r.errorField("request_id") == "" || r.header.Get("X-Request-ID") == "" {
				t.Fatalf("no request id in %s", r.raw)
			}
		})
	}
	r := e.call("GET", "/api/v1/generations", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
}

func TestAuthChecksIssuerAndAudience(t *testing.T) {
	e := newEnv(t, func(_ *sandboxConfig, s *serverConfig) { s.JWTIssuer, s.JWTAudience = "gen", "previewd" })
	hour := time.Now().Add(time.Hour).Unix()
	for _, c := range []struct {
		claims jwt.MapClaims
		want   int
	}{
		{jwt.MapClaims{"sub": "a", "exp": hour, "iss": "gen", "aud": "previewd"}, 200},
		{jwt.MapClaims{"sub": "a", "exp": hour, "iss": "other", "aud": "previewd"}, 401},
		{jwt.MapClaims{"sub": "a", "exp": hour, "iss": "gen", "aud": "other"}, 401},
		{jwt.MapClaims{"sub": "a", "exp": hour}, 401},
	} {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c.claims).SignedString([]byte(testSecret))
		req, _ := http.NewRequest("GET", e.api.URL+"/api/v1/generations", nil)
		req.Header.Set("Authorization", "Bearer "+s)
		if r := e.do(req); r.status != c.want {
			t.Errorf("claims %v: %d, want %d", c.claims, r.status, c.want)
		}
	}
}

func TestRequestIDIsEchoed(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.api.URL+"/api/v1/generations/nope", nil)
	req.Header.Set("X-Request-ID", "trace-123")
	r := e.do(req)
	if r.header.Get("X-Request-ID") != "trace-123" || r.errorField("request_id") != "trace-123" {
		t.Fatalf("request id not echoed: %v %s", r.header, r.raw)
	}
}

func TestGenerationsLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{
		"name": "todo-api",
		"files": []map[string]string{
			{"path": "main.py", "content": helloFastAPI},
			{"path": "static/logo.png", "content": base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0, 1, 2}), "encoding": "base64"},
		},
	})
	mustStatus(t, r, http.StatusCreated)
	id := r.body["id"].(string)
	if r.body["framework"] != "fastapi" || r.body["entrypoint"] != "main:app" || r.body["file_count"] != 2.0 || r.body["total_bytes"] != float64(len(helloFastAPI)+7) {
		t.Fatalf("unexpected generation %s", r.raw)
	}

	r = e.call("GET", "/api/v1/generations/"+id, "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	files := r.body["files"].([]any)
	if len(files) != 2 || files[0].(map[string]any)["path"] != "main.py" || len(files[1].(map[string]any)["sha256"].(string)) != 64 {
		t.Fatalf("files: %s", r.raw)
	}

	// Another user sees nothing, exactly as if it did not exist.
	for _, req := range [][2]string{{"GET", ""}, {"DELETE", ""}, {"GET", "/preview/status"}, {"POST", "/preview/launch"}, {"DELETE", "/preview"}} {
		r = e.call(req[0], "/api/v1/generations/"+id+req[1], "mallory", "", nil)
		if r.status != http.StatusNotFound || r.errorCode() != "not_found" {
			t.Errorf("%s as another user: %d %s", req, r.status, r.raw)
		}
	}
	r = e.call("GET", "/api/v1/generations", "mallory", "", nil)
	if n := len(r.body["generations"].([]any)); n != 0 {
		t.Fatalf("another user lists %d generations", n)
	}

	r = e.call("DELETE", "/api/v1/generations/"+id, "alice", "", nil)
	mustStatus(t, r, http.StatusNoContent)
	r = e.call("GET", "/api/v1/generations/"+id, "alice", "", nil)
	mustStatus(t, r, http.StatusNotFound)
}

func TestGenerationsListPages(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := 0; i < 5; i++ {
		r := e.callJSON("POST", "/api/v1/generations", "bob", map[string]any{"files": []map[string]string{{"path": "main.py", "content": helloFastAPI}}})
		mustStatus(t, r, http.StatusCreated)
		ids = append(ids, r.body["id"].(string))
	}
	var got []string
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		r := e.call("GET", "/api/v1/generations?limit=2&cursor="+cursor, "bob", "", nil)
		mustStatus(t, r, http.StatusOK)
		for _, g := range r.body["generations"].([]any) {
			got = append(got, g.(map[string]any)["id"].(string))
		}
		next, _ := r.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != 5 {
		t.Fatalf("paged through %d generations, want 5", len(got))
	}
	for i := range got { // newest first
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first of %v", got, ids)
		}
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=garbage"} {
		if r := e.call("GET", "/api/v1/generations?"+q, "bob", "", nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, r.status)
		}
	}
}

func TestUploadArchives(t *testing.T) {
	e := newEnv(t)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("myapp/main.py")
	w.Write([]byte(helloFastAPI))
	zw.Close()
	r := e.call("POST", "/api/v1/generations?name=zipped", "alice", "application/zip", zbuf.Bytes())
	mustStatus(t, r, http.StatusCreated)
	if r.body["name"] != "zipped" || r.body["entrypoint"] != "main:app" {
		t.Fatalf("zip upload: %s", r.raw)
	}

	var tbuf bytes.Buffer
	tw := tar.NewWriter(&tbuf)
	tw.WriteHeader(&tar.Header{Name: "./main.py", Mode: 0o644, Size: int64(len(helloFastAPI))})
	tw.Write([]byte(helloFastAPI))
	tw.Close()
	r = e.call("POST", "/api/v1/generations?name=tarred", "alice", "application/x-tar", tbuf.Bytes())
	mustStatus(t, r, http.StatusCreated)

	// FastAPI's "bigger applications" layout zipped as its app/ folder: the
	// folder is the package its relative imports need, not a wrapper.
	zbuf.Reset()
	zw = zip.NewWriter(&zbuf)
	for name, body := range map[string]string{
		"app/__init__.py":         "",
		"app/main.py":             "from fastapi import FastAPI\nfrom .routers import items\n\napp = FastAPI()\napp.include_router(items.router)\n",
		"app/routers/__init__.py": "",
		"app/routers/items.py":    "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n@router.get('/items')\ndef items():\n    return ['a']\n",
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	r = e.call("POST", "/api/v1/generations?name=package", "alice", "application/zip", zbuf.Bytes())
	mustStatus(t, r, http.StatusCreated)
	if r.body["entrypoint"] != "app.main:app" {
		t.Fatalf("package upload: %s", r.raw)
	}
	r = e.launch("alice", r.body["id"].(string), nil)
	mustStatus(t, r, http.StatusCreated)
	if code, body := get(t, r.body["base_url"].(string)+"/items"); code != 200 || !strings.Contains(body, `"a"`) {
		t.Errorf("GET /items of the zipped package: %d %s", code, body)
	}
}

// TestBadUploadsStoreNothing sends every kind of bad upload and checks its
// answer and that no row was written.
func TestBadUploadsStoreNothing(t *testing.T) {
	e := newEnv(t) // MaxFiles 50, MaxUploadBytes 1 MiB
	file := func(path, content string) map[string]string {
		return map[string]string{"path": path, "content": content}
	}
	many := make([]map[string]string, 51)
	for i := range many {
		many[i] = file("f"+strings.Repeat("x", i)+".py", "x = 1\n")
	}
	var symlinkTar bytes.Buffer
	tw := tar.NewWriter(&symlinkTar)
	tw.WriteHeader(&tar.Header{Name: "main.py", Mode: 0o644, Size: int64(len(helloFastAPI))})
	tw.Write([]byte(helloFastAPI))
	tw.WriteHeader(&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	tw.Close()
	var hardlinkTar bytes.Buffer
	tw = tar.NewWriter(&hardlinkTar)
	tw.WriteHeader(&tar.Header{Name: "main.py", Mode: 0o644, Size: int64(len(helloFastAPI))})
	tw.Write([]byte(helloFastAPI))
	tw.WriteHeader(&tar.Header{Name: "evil", Typeflag: tar.TypeLink, Linkname: "main.py"})
	tw.Close()

	cases := []struct {
		name        string
		contentType string
		body        any // JSON value, or []byte sent as is
		status      int
		code        string
	}{
		{"absolute path", "", []map[string]string{file("/etc/passwd", "x")}, 400, "invalid_request"},
		{"dot-dot", "", []map[string]string{file("../main.py", "x")}, 400, "invalid_request"},
		{"nested dot-dot", "", []map[string]string{file("app/../../x.py", "x")}, 400, "invalid_request"},
		{"NUL byte", "", []map[string]string{file("ma\x00in.py", "x")}, 400, "invalid_request"},
		{"backslash", "", []map[string]string{file(`app\main.py`, "x")}, 400, "invalid_request"},
		{"invalid UTF-8", "application/json", []byte("{\"files\": [{\"path\": \"ma\xffin.py\", \"content\": \"x\"}]}"), 400, "invalid_request"},
		{"duplicate", "", []map[string]string{file("main.py", helloFastAPI), file("main.py", helloFastAPI)}, 400, "invalid_request"},
		{"bad base64", "", []map[string]string{{"path": "main.py", "content": "!!", "encoding": "base64"}}, 400, "invalid_request"},
		{"too many files", "", many, 413, "payload_too_large"},
		{"too many bytes", "", []map[string]string{file("main.py", helloFastAPI), file("big.txt", strings.Repeat("a", 1<<20))}, 413, "payload_too_large"},
		{"no files", "", []map[string]string{}, 400, "invalid_request"},
		{"undetectable", "", []map[string]string{file("README.md", "# hi")}, 422, "invalid_request"},
		{"symlink in tar", "application/x-tar", symlinkTar.Bytes(), 400, "invalid_request"},
		{"hard link in tar", "application/x-tar", hardlinkTar.Bytes(), 400, "invalid_request"},
		{"not a zip", "application/zip", []byte("hello"), 400, "invalid_request"},
		{"malformed JSON", "application/json", []byte("{"), 400, "invalid_request"},
		{"trailing garbage", "application/json", []byte(`{"files": [{"path": "main.py", "content": "from fastapi import FastAPI\napp = FastAPI()\n"}]}garbage`), 400, "invalid_request"},
		{"two documents", "application/json", []byte(`{"files": [{"path": "main.py", "content": "from fastapi import FastAPI\napp = FastAPI()\n"}]} {}`), 400, "invalid_request"},
		{"newline in path", "", []map[string]string{file("main.py", helloFastAPI), file("a\nb.py", "x")}, 400, "invalid_request"},
		{"carriage return in path", "", []map[string]string{file("main.py", helloFastAPI), file("a\rb.py", "x")}, 400, "invalid_request"},
		{"escape in path", "", []map[string]string{file("main.py", helloFastAPI), file("\x1b[31mred.py", "x")}, 400, "invalid_request"},
		{"bidi override in path", "", []map[string]string{file("main.py", helloFastAPI), file("evil\u202eyp.exe", "x")}, 400, "invalid_request"},
		{"unknown framework", "", "rails", 400, "invalid_request"},
		{"unsupported type", "text/plain", []byte("hi"), 415, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r response
			switch b := c.body.(type) {
			case []byte:
				r = e.call("POST", "/api/v1/generations?name=x", "carol", c.contentType, b)
			case string:
				r = e.callJSON("POST", "/api/v1/generations", "carol", map[string]any{"framework": b, "files": []map[string]string{file("main.py", helloFastAPI)}})
			default:
				r = e.callJSON("POST", "/api/v1/generations", "carol", map[string]any{"files": b})
			}
			if r.status != c.status || r.errorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.raw, c.status, c.code)
			}
			if msg, _ := r.errorField("message").(string); msg == "" || strings.Contains(msg, "/tmp/") || strings.Contains(msg, "pq:") {
				t.Fatalf("message not fit for a person: %q", msg)
			}
		})
	}
	r := e.call("GET", "/api/v1/generations", "carol", "", nil)
	if n := len(r.body["generations"].([]any)); n != 0 {
		t.Fatalf("%d generations stored from bad uploads", n)
	}
	if n := e.countRows("generation_files"); n != 0 {
		t.Fatalf("%d file rows stored from bad uploads", n)
	}
}

func TestConfigAndHealth(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/v1/config", "alice", "", nil)
	mustStatus(t, r, http.StatusOK)
	pr := r.body["port_range"].(map[string]any)
	if pr["end"].(float64)-pr["start"].(float64) != 7 || r.body["ports_free"] != 8.0 || r.body["memory_limit_mb"] != 256.0 {
		t.Fatalf("config: %s", r.raw)
	}
	if fw := r.body["frameworks"].([]any); len(fw) != 4 {
		t.Fatalf("frameworks: %v", fw)
	}
	if rt := r.body["runtimes"].([]any); len(rt) != 2 {
		t.Fatalf("runtimes: %v", rt)
	}
	mustStatus(t, e.call("GET", "/healthz", "", "", nil), http.StatusOK)
	ready := e.call("GET", "/readyz", "", "", nil)
	if requireDockerQuietly() && ready.status != http.StatusOK {
		t.Fatalf("readyz: %d %s", ready.status, ready.raw)
	}
	m := e.call("GET", "/metrics", "", "", nil)
	for _, name := range []string{"preview_ports_capacity 8", "preview_ports_total 8", "preview_active 0", "preview_http_requests_total"} {
		if !strings.Contains(string(m.raw), name) {
			t.Errorf("metrics lack %q", name)
		}
	}
}

func requireDockerQuietly() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	d, err := newDocker()
	if err != nil {
		return false
	}
	defer d.Close()
	return d.Ping(ctx) == nil
}
