package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/google/uuid"

	"github.com/previewd/previewd/sandbox"
)

// probeBackend is the in-tree PEP 517 build backend of the test's sdist:
// pip runs it while installing, as it runs any sdist's setup.py. It
// records who it runs as and tries every way out of the install's sandbox
// (targets is filled in by the test), then builds a wheel whose module
// holds what it found.
const probeBackend = `import json, os, socket, urllib.error, urllib.request, zipfile

TARGETS = %s
PROXIED = %s
DIST = %q

def probe():
    r = {"uid": os.getuid(), "gid": os.getgid()}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs"):
                r[k] = v.strip()
    conns = {}
    for name, (host, port) in TARGETS.items():
        try:
            socket.create_connection((host, port), timeout=3).close()
            conns[name] = "connected"
        except OSError as e:
            conns[name] = "failed: %%s" %% e
    proxy = os.environ.get("http_proxy", "")
    r["proxy"] = proxy
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    for name, url in PROXIED.items():
        try:
            opener.open(url, timeout=5).read()
            conns[name] = "connected"
        except urllib.error.HTTPError as e:
            conns[name] = "refused: %%d" %% e.code
        except Exception as e:
            conns[name] = "failed: %%s" %% e
    r["connections"] = conns
    return r

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = DIST + "-1.0-py3-none-any.whl"
    info = DIST + "-1.0.dist-info/"
    files = {
        "probe_pkg/__init__.py": "RESULT = " + repr(json.dumps(probe())) + "\n",
        info + "METADATA": "Metadata-Version: 2.1\nName: " + DIST + "\nVersion: 1.0\n",
        info + "WHEEL": "Wheel-Version: 1.0\nGenerator: probe\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(p + ",,\n" for p in files) + info + "RECORD,,\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for p, body in files.items():
            z.writestr(p, body)
        z.writestr(info + "RECORD", record)
    return name
`

// probeSdist is the sdist of dist 1.0 with probeBackend.
func probeSdist(t *testing.T, dist, backend string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range map[string]string{
		"pyproject.toml":   "[build-system]\nrequires = []\nbuild-backend = \"probe_backend\"\nbackend-path = [\".\"]\n",
		"PKG-INFO":         "Metadata-Version: 2.1\nName: " + dist + "\nVersion: 1.0\n",
		"probe_backend.py": backend,
	} {
		if err := tw.WriteHeader(&tar.Header{Name: dist + "-1.0/" + name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// hostIPv4 is a non-loopback IPv4 address of this host.
func hostIPv4(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("no non-loopback IPv4 address on this host")
	return ""
}

// TestDependencyInstallSandbox installs, from a local index through the
// allow-list proxy, a package whose build runs code: that code runs as a
// non-root uid with no capabilities and reaches neither the host (on its
// own address, the bridge gateway or through the proxy), nor the metadata
// address, nor the index except through the proxy. The install still
// works, the app imports the package, and a failed install leaves no
// container, image or build directory behind.
func TestDependencyInstallSandbox(t *testing.T) {
	requireInfra(t, true)
	// A stand-in for previewd's API on every address of the host.
	api, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	var reached atomic.Int64
	go func() {
		for {
			c, err := api.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			c.Close()
		}
	}()
	apiPort := api.Addr().(*net.TCPAddr).Port
	hostIP := hostIPv4(t)

	// The index's address is known only once it listens, and the sdist
	// names it; the handler reads the sdist through this pointer.
	// A name of its own, so that no dependency image of an earlier run
	// (the image cache is keyed by the names) spares this run its install.
	dist := "probe_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	var sdist atomic.Pointer[[]byte]
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/" + strings.ReplaceAll(dist, "_", "-") + "/":
			fmt.Fprintf(w, `<html><body><a href="/files/%s-1.0.tar.gz">%s-1.0.tar.gz</a></body></html>`, dist, dist)
		case "/files/" + dist + "-1.0.tar.gz":
			w.Write(*sdist.Load())
		default:
			http.NotFound(w, r)
		}
	}))
	defer index.Close()
	indexPort := index.Listener.Addr().(*net.TCPAddr).Port
	targets, _ := json.Marshal(map[string][2]any{
		"host":           {hostIP, apiPort},
		"gateway":        {"172.17.0.1", apiPort},
		"metadata":       {"169.254.169.254", 80},
		"index_direct":   {"127.0.0.1", indexPort},
		"gateway_index":  {"172.17.0.1", indexPort},
		"public_network": {"1.1.1.1", 443},
	})
	proxied, _ := json.Marshal(map[string]string{
		"proxy_host":     fmt.Sprintf("http://%s:%d/", hostIP, apiPort),
		"proxy_gateway":  fmt.Sprintf("http://172.17.0.1:%d/", apiPort),
		"proxy_metadata": "http://169.254.169.254/latest/meta-data/",
		"proxy_tunnel":   "https://169.254.169.254/",
		"proxy_loopback": fmt.Sprintf("http://127.0.0.1:%d/", apiPort),
	})
	body := probeSdist(t, dist, fmt.Sprintf(probeBackend, targets, proxied, dist))
	sdist.Store(&body)

	removeNewDepsImages(t)
	e := newEnv(t, func(c *sandbox.Config, _ *serverConfig) {
		c.Deps.PipIndexURL = index.URL + "/simple/"
		c.Deps.Timeout = 3 * time.Minute
	})
	app := "import json\nfrom fastapi import FastAPI\nimport probe_pkg\napp = FastAPI()\n\n@app.get('/')\ndef root():\n    return json.loads(probe_pkg.RESULT)\n"
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": []map[string]string{
		{"path": "main.py", "content": app}, {"path": "requirements.txt", "content": "fastapi\n" + dist + "==1.0\n"},
	}})
	mustStatus(t, r, http.StatusCreated)
	gen := r.body["id"].(string)
	launched := e.launch("alice", gen, nil)
	mustStatus(t, launched, http.StatusCreated)
	code, got := get(t, launched.body["base_url"].(string)+"/")
	if code != 200 {
		t.Fatalf("GET /: %d %s", code, got)
	}
	// The answer names what was installed, at the version installed; a
	// second launch, from the image built by the first, says the same.
	installed := strings.ReplaceAll(dist, "_", "-")
	checkRuntime(t, "launch with an install", launched.body["runtime"], "runtime-python", installed, "1.0")
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
	again := e.launch("alice", gen, nil)
	mustStatus(t, again, http.StatusCreated)
	checkRuntime(t, "second launch", again.body["runtime"], "runtime-python", installed, "1.0")
	if rt, _ := again.body["runtime"].(map[string]any); rt != nil {
		if pkgs, _ := rt["packages"].(map[string]any); pkgs["fastapi"] == nil {
			t.Errorf("second launch: runtime %v lacks the framework's version", rt)
		}
	}
	var res struct {
		UID         int               `json:"uid"`
		CapEff      string            `json:"CapEff"`
		CapPrm      string            `json:"CapPrm"`
		NoNewPrivs  string            `json:"NoNewPrivs"`
		Proxy       string            `json:"proxy"`
		Connections map[string]string `json:"connections"`
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("probe result %q: %v", got, err)
	}
	t.Logf("install probe: %s", got)
	if res.UID == 0 || res.CapEff != "0000000000000000" || res.CapPrm != "0000000000000000" || res.NoNewPrivs != "1" {
		t.Errorf("the install ran as uid %d with CapEff %s CapPrm %s NoNewPrivs %s; want non-root, no capabilities, no-new-privileges",
			res.UID, res.CapEff, res.CapPrm, res.NoNewPrivs)
	}
	if res.Proxy == "" || len(res.Connections) != 11 {
		t.Errorf("the probe did not run every attempt: %s", got)
	}
	for name, outcome := range res.Connections {
		if strings.HasPrefix(name, "proxy_") {
			if !strings.Contains(outcome, "403") {
				t.Errorf("%s: %s, want the proxy's 403", name, outcome)
			}
		} else if !strings.HasPrefix(outcome, "failed") {
			t.Errorf("%s: %s, want a failed connection", name, outcome)
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the install reached the host's API %d times", n)
	}

	// A failed install leaves nothing behind.
	r = e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": []map[string]string{
		{"path": "main.py", "content": helloFastAPI}, {"path": "requirements.txt", "content": "not-in-the-index-previewd==1.0\n"},
	}})
	mustStatus(t, r, http.StatusCreated)
	failed := e.launch("alice", r.body["id"].(string), nil)
	if failed.status != http.StatusUnprocessableEntity || failed.errorCode() != "launch_failed" ||
		!strings.Contains(fmt.Sprint(failed.errorField("log_tail")), "not-in-the-index-previewd") {
		t.Fatalf("install of a package the index lacks: %d %s", failed.status, failed.raw)
	}
	assertNoBuildLeftovers(t, e)
}

// removeNewDepsImages removes, when the test ends, the dependency images
// it built.
func removeNewDepsImages(t *testing.T) {
	c := dockerClient(t)
	ctx := context.Background()
	list := func() map[string]bool {
		imgs, err := c.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "io.previewd.deps-hash"))})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, img := range imgs {
			out[img.ID] = true
		}
		return out
	}
	before := list()
	t.Cleanup(func() {
		for id := range list() {
			if !before[id] {
				c.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true})
			}
		}
	})
}

// assertNoBuildLeftovers checks that no install container, build directory
// or untagged dependency image of the env remains.
func assertNoBuildLeftovers(t *testing.T, e *env) {
	t.Helper()
	c := dockerClient(t)
	ctx := context.Background()
	list, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", sandbox.LabelRunner+"="+e.runner))})
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range list {
		if ct.Labels[sandbox.LabelManaged] != "true" {
			t.Errorf("container %s (%v) left behind", ct.ID[:12], ct.Labels)
		}
	}
	builds, _ := os.ReadDir(filepath.Join(e.cfg.RunRoot, "builds"))
	if len(builds) != 0 {
		t.Errorf("%d build directories left behind", len(builds))
	}
	dangling, err := c.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("dangling", "true"), filters.Arg("label", "io.previewd.deps-hash"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(dangling) != 0 {
		t.Errorf("%d untagged dependency images left behind", len(dangling))
	}
}

// TestForeignDependencyRefused: a launch whose dependencies come from a URL
// is refused with 422 invalid_request naming the line, before a preview
// record or a container exists.
func TestForeignDependencyRefused(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	for _, c := range []struct{ files []map[string]string }{
		{[]map[string]string{{"path": "main.py", "content": helloFastAPI}, {"path": "requirements.txt", "content": "fastapi\nevil @ http://172.17.0.1:8080/evil.tar.gz\n"}}},
		{[]map[string]string{{"path": "server.js", "content": "require('express')().listen(process.env.PORT)\n"},
			{"path": "package.json", "content": `{"main": "server.js", "dependencies": {"express": "^4", "evil": "http://172.17.0.1:8080/evil.tgz"}}`}}},
	} {
		r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": c.files})
		mustStatus(t, r, http.StatusCreated)
		got := e.launch("alice", r.body["id"].(string), nil)
		msg, _ := got.errorField("message").(string)
		if got.status != http.StatusUnprocessableEntity || got.errorCode() != "invalid_request" || !strings.Contains(msg, "http://172.17.0.1:8080/evil") {
			t.Errorf("launch with a URL dependency: %d %s", got.status, got.raw)
		}
	}
	if n := e.countRows("previews"); n != 0 {
		t.Errorf("%d preview rows after refused launches", n)
	}
	if n := e.containers(); n != 0 {
		t.Errorf("%d containers after refused launches", n)
	}
}

// npmProbe is the install script of the test's npm package: it records
// its uid and capabilities and whether it reached the bridge gateway or
// the metadata address, in result.json beside itself.
const npmProbe = `const fs = require("fs"), net = require("net"), path = require("path");
const status = fs.readFileSync("/proc/self/status", "utf8");
const field = k => (status.match(new RegExp("^" + k + ":\\s*(\\S+)", "m")) || [])[1];
const r = {uid: process.getuid(), CapEff: field("CapEff"), NoNewPrivs: field("NoNewPrivs"), connections: {}};
const targets = {gateway: ["172.17.0.1", %d], metadata: ["169.254.169.254", 80]};
let pending = Object.keys(targets).length;
for (const [name, [host, port]] of Object.entries(targets)) {
  const s = net.connect({host, port, timeout: 3000});
  const done = outcome => { r.connections[name] = outcome; s.destroy(); if (--pending === 0) fs.writeFileSync(path.join(__dirname, "result.json"), JSON.stringify(r)); };
  s.on("connect", () => done("connected"));
  s.on("timeout", () => done("failed: timeout"));
  s.on("error", e => done("failed: " + e.code));
}
`

// npmTarball is the package tarball of name 1.0.0 with an install script.
func npmTarball(t *testing.T, name string, apiPort int) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for file, body := range map[string]string{
		"package.json": fmt.Sprintf(`{"name": %q, "version": "1.0.0", "main": "index.js", "scripts": {"postinstall": "node probe.js"}}`, name),
		"index.js":     "let r = null;\ntry { r = require('./result.json'); } catch (e) {}\nmodule.exports = {installed: true, scriptResult: r};\n",
		"probe.js":     fmt.Sprintf(npmProbe, apiPort),
	} {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + file, Mode: 0o644, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestNpmInstallScripts installs, from a local registry through the
// install's proxy, a package with a postinstall script: by default npm
// does not run it; with PREVIEW_ALLOW_INSTALL_SCRIPTS it runs, as a
// non-root uid with no capabilities that reaches neither the bridge
// gateway nor the metadata address.
func TestNpmInstallScripts(t *testing.T) {
	requireInfra(t, true)
	api, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	apiPort := api.Addr().(*net.TCPAddr).Port
	removeNewDepsImages(t)

	for _, allow := range []bool{false, true} {
		// A name of its own per run, as in TestDependencyInstallSandbox.
		name := "probe-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		tarball := npmTarball(t, name, apiPort)
		var registry *httptest.Server
		registry = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/" + name:
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"name": %q, "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {"name": %q, "version": "1.0.0", "scripts": {"postinstall": "node probe.js"}, "dist": {"tarball": "%s/%s/-/%s-1.0.0.tgz"}}}}`,
					name, name, registry.URL, name, name)
			case "/" + name + "/-/" + name + "-1.0.0.tgz":
				w.Write(tarball)
			default:
				http.NotFound(w, r)
			}
		}))
		e := newEnv(t, func(c *sandbox.Config, _ *serverConfig) {
			c.Deps.NpmRegistry = registry.URL + "/"
			c.Deps.AllowInstallScripts = allow
			c.Deps.Timeout = 3 * time.Minute
		})
		server := fmt.Sprintf("const app = require('express')();\nconst probe = require(%q);\napp.get('/', (req, res) => res.json(probe));\napp.listen(Number(process.env.PORT), process.env.HOST);\n", name)
		r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": []map[string]string{
			{"path": "server.js", "content": server},
			{"path": "package.json", "content": fmt.Sprintf(`{"name": "app", "main": "server.js", "dependencies": {"express": "^4.18.2", %q: "^1.0.0"}}`, name)},
		}})
		mustStatus(t, r, http.StatusCreated)
		launched := e.launch("alice", r.body["id"].(string), nil)
		mustStatus(t, launched, http.StatusCreated)
		checkRuntime(t, "launch with an npm install", launched.body["runtime"], "runtime-node", name, "1.0.0")
		code, got := get(t, launched.body["base_url"].(string)+"/")
		registry.Close()
		if code != 200 {
			t.Fatalf("scripts allowed %v: GET /: %d %s", allow, code, got)
		}
		t.Logf("scripts allowed %v: %s", allow, got)
		var res struct {
			Installed    bool `json:"installed"`
			ScriptResult *struct {
				UID         int               `json:"uid"`
				CapEff      string            `json:"CapEff"`
				NoNewPrivs  string            `json:"NoNewPrivs"`
				Connections map[string]string `json:"connections"`
			} `json:"scriptResult"`
		}
		if err := json.Unmarshal([]byte(got), &res); err != nil || !res.Installed {
			t.Fatalf("scripts allowed %v: the package is not installed: %s", allow, got)
		}
		if !allow {
			if res.ScriptResult != nil {
				t.Errorf("the install script ran although scripts are not allowed: %s", got)
			}
			continue
		}
		s := res.ScriptResult
		if s == nil {
			t.Fatalf("scripts allowed, but the install script did not run: %s", got)
		}
		if s.UID == 0 || s.CapEff != "0000000000000000" || s.NoNewPrivs != "1" || len(s.Connections) != 2 {
			t.Errorf("install script: %+v", *s)
		}
		for target, outcome := range s.Connections {
			if !strings.HasPrefix(outcome, "failed") {
				t.Errorf("install script reached %s: %s", target, outcome)
			}
		}
	}
}

// TestDependencyInstallTimeout: an install that outlasts
// PREVIEW_BUILD_TIMEOUT (here, one whose index never answers) fails the
// launch with the reason and leaves no container, directory or image.
func TestDependencyInstallTimeout(t *testing.T) {
	requireInfra(t, true)
	hang := make(chan struct{})
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer index.Close()
	defer close(hang)
	e := newEnv(t, func(c *sandbox.Config, _ *serverConfig) {
		c.Deps.PipIndexURL = index.URL + "/simple/"
		c.Deps.Timeout = 3 * time.Second
	})
	r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": []map[string]string{
		{"path": "main.py", "content": helloFastAPI}, {"path": "requirements.txt", "content": "slow-package-previewd\n"},
	}})
	mustStatus(t, r, http.StatusCreated)
	start := time.Now()
	got := e.launch("alice", r.body["id"].(string), nil)
	msg, _ := got.errorField("message").(string)
	if got.status != http.StatusUnprocessableEntity || got.errorCode() != "launch_failed" || !strings.Contains(msg, "longer than 3s") {
		t.Fatalf("install past its timeout: %d %s", got.status, got.raw)
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("the launch took %s with a 3 s install timeout", took)
	}
	assertNoBuildLeftovers(t, e)
}
