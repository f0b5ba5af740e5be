package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/sandbox"
	"github.com/previewd/previewd/server"
)

// The runtime images per Debian suite, as make images builds them.
var (
	pythonTrixie = runtimeImage("python-trixie")
	pythonForky  = runtimeImage("python-forky")
	nodeTrixie   = runtimeImage("node-trixie")
	nodeForky    = runtimeImage("node-forky")
)

// withSuites runs trixie's images by default, with bookworm's and forky's
// to choose from, as previewd's default configuration does.
func withSuites(c *sandbox.Config, _ *server.Config) {
	c.Images = map[string]string{"python": pythonTrixie, "node": nodeTrixie}
	c.Runtimes = map[string][]string{"python": {pythonImage, pythonForky}, "node": {nodeImage, nodeForky}}
	c.WarmPool = 0
}

// TestRuntimeChoice launches apps whose own pins (or their absence) choose
// the runtime image: each answers on the image whose framework versions it
// was written for, a build log line names that image, and the launch and
// status answers say it and the framework's version, also after a
// restart of previewd (which adopts the running previews).
func TestRuntimeChoice(t *testing.T) {
	requireInfra(t, true)
	requireRuntimeImages(t)
	e := newEnv(t, withSuites)
	cases := []struct {
		app, path, body, image string
		pkg, version           string // the framework's package and its version's prefix
	}{
		{"express5-splat", "/some/deep/path", "catch-all: some/deep/path", "runtime-node-forky", "express", "5."},
		{"express4-star", "/anything", "catch-all", "runtime-node-trixie", "express", "4."},
		{"fastapi-pydantic2", "/", `"name":"x"`, "runtime-python-trixie", "fastapi", "0.115."},
		{"django5", "/", `"questions": 0`, "runtime-python-forky", "django", "5."},
	}
	gens := make([]string, len(cases))
	for i, c := range cases {
		t.Run(c.app, func(t *testing.T) {
			files := dirFiles(t, filepath.Join("..", "testdata", "runtimes", c.app))
			r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": c.app, "files": files})
			mustStatus(t, r, http.StatusCreated)
			gen := r.body["id"].(string)
			gens[i] = gen
			r = e.launch("alice", gen, nil)
			mustStatus(t, r, http.StatusCreated)
			if code, body := get(t, r.body["base_url"].(string)+c.path); code != http.StatusOK || !strings.Contains(body, c.body) {
				t.Fatalf("GET %s: %d %q, want 200 with %q", c.path, code, body, c.body)
			}
			e.checkBuildLine(t, gen, "runtime: "+c.image+" (")
			checkRuntime(t, "launch", r.body["runtime"], c.image, c.pkg, c.version)
			r = e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
			mustStatus(t, r, http.StatusOK)
			checkRuntime(t, "status", r.body["runtime"], c.image, c.pkg, c.version)
		})
	}
	e.stop()
	e.start()
	for i, c := range cases {
		if gens[i] == "" {
			continue
		}
		r := e.call("GET", "/api/v1/generations/"+gens[i]+"/preview/status", "alice", "", nil)
		mustStatus(t, r, http.StatusOK)
		if r.body["status"] != "running" {
			t.Errorf("%s after a restart: status %v, want running", c.app, r.body["status"])
		}
		checkRuntime(t, c.app+" status after a restart", r.body["runtime"], c.image, c.pkg, c.version)
		mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gens[i]+"/preview", "alice", "", nil), http.StatusOK)
	}
}

// checkRuntime checks an answer's "runtime": the image as users see it,
// and pkg at a version starting with version.
func checkRuntime(t *testing.T, what string, v any, image, pkg, version string) {
	t.Helper()
	rt, _ := v.(map[string]any)
	pkgs, _ := rt["packages"].(map[string]any)
	got, _ := pkgs[pkg].(string)
	if rt["image"] != image || !strings.HasPrefix(got, version) {
		t.Errorf("%s: runtime %v, want image %s with %s %s*", what, v, image, pkg, version)
	}
}

// TestRuntimeVersionConflict: pins that no version meets, or that no
// runtime has and Node cannot take from an install, fail the launch at
// once with cause version_conflict naming the package, what was asked and
// what each runtime has.
func TestRuntimeVersionConflict(t *testing.T) {
	requireInfra(t, true)
	requireRuntimeImages(t)
	// The suites whose images list their interpreter's version (an image
	// that does not is not ruled out by requires-python).
	e := newEnv(t, withSuites, func(c *sandbox.Config, _ *server.Config) {
		c.Runtimes = map[string][]string{"python": {pythonForky}, "node": {nodeForky}}
	})
	cases := []struct {
		name  string
		files []map[string]string
		want  []string // parts of error.message
	}{
		{"conflicting pins", []map[string]string{
			{"path": "requirements.txt", "content": "Django>=5,<4\n"},
			{"path": "main.py", "content": "from fastapi import FastAPI\napp = FastAPI()\n"},
		}, []string{"django >=5,<4", "no version can satisfy it"}},
		{"an interpreter no runtime has", []map[string]string{
			{"path": "pyproject.toml", "content": "[project]\nname = \"x\"\nrequires-python = \">=3.99\"\ndependencies = [\"fastapi\"]\n"},
			{"path": "main.py", "content": "from fastapi import FastAPI\napp = FastAPI()\n"},
		}, []string{"Python >=3.99", "runtime-python-trixie (3.13", "runtime-python-forky (3.14"}},
		{"an Express no runtime has", []map[string]string{
			{"path": "package.json", "content": `{"main": "index.js", "dependencies": {"express": "4.17.0"}}`},
			{"path": "index.js", "content": "require('express')().listen(process.env.PORT)\n"},
		}, []string{"express 4.17.0", "runtime-node-trixie (4.21", "runtime-node-forky (5."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"name": "conflict", "files": c.files})
			mustStatus(t, r, http.StatusCreated)
			start := time.Now()
			r = e.launch("alice", r.body["id"].(string), nil)
			mustStatus(t, r, http.StatusUnprocessableEntity)
			msg := fmt.Sprint(r.errorField("message"))
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			cause, _ := r.errorField("cause").(map[string]any)
			if cause["kind"] != "version_conflict" {
				t.Errorf("cause %v, want kind version_conflict", cause)
			}
			t.Logf("answered in %s: %s", time.Since(start).Round(time.Millisecond), msg)
		})
	}
}

// requireRuntimeImages fails (skips outside CI) without the suites' images.
func requireRuntimeImages(t *testing.T) {
	d, err := newDocker()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, img := range []string{pythonImage, nodeImage, pythonTrixie, pythonForky, nodeTrixie, nodeForky} {
		if _, err := d.ImageID(context.Background(), img); err != nil {
			fail := t.Skipf
			if os.Getenv("CI") != "" {
				fail = t.Fatalf
			}
			fail("runtime image %s missing (make images builds it): %v", img, err)
		}
	}
}

// checkBuildLine waits for a build log line of gen containing want.
func (e *env) checkBuildLine(t *testing.T, gen, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.call("GET", "/api/v1/generations/"+gen+"/preview/logs?limit=1000", "alice", "", nil)
		mustStatus(t, r, http.StatusOK)
		for _, l := range r.body["lines"].([]any) {
			line := l.(map[string]any)
			if line["stream"] == "build" && strings.Contains(line["line"].(string), want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no build log line mentions %q: %s", want, r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
