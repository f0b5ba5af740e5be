package server_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/google/uuid"

	"github.com/previewd/previewd/sandbox"
)

// TestSamplesLaunch launches one sample app per framework through the API and
// checks that each answers through base_url, reports live memory and stops.
func TestSamplesLaunch(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	for _, fw := range []string{"fastapi", "flask", "django", "express"} {
		t.Run(fw, func(t *testing.T) {
			gen := e.upload("alice", fw)
			r := e.launch("alice", gen, nil)
			mustStatus(t, r, http.StatusCreated)
			base := r.body["base_url"].(string)
			port := int(r.body["port"].(float64))
			if r.body["status"] != "running" || len(r.body["session_token"].(string)) < 32 || !strings.HasPrefix(base, "http://127.0.0.1:") {
				t.Fatalf("launch answer: %s", r.raw)
			}
			tm := r.body["timings_ms"].(map[string]any)
			for _, phase := range []string{"prepare", "build", "start", "healthy", "total"} {
				if _, ok := tm[phase]; !ok {
					t.Fatalf("timings_ms lacks %s: %v", phase, tm)
				}
			}
			t.Logf("%s timings_ms %v", fw, tm)

			code, body := get(t, base+"/")
			if code != 200 || !strings.Contains(body, "hello from "+fw) {
				t.Fatalf("GET /: %d %q", code, body)
			}
			code, body = get(t, base+"/api/items/1")
			var item map[string]any
			if code != 200 || json.Unmarshal([]byte(body), &item) != nil || item["id"] != 1.0 {
				t.Fatalf("GET /api/items/1: %d %q", code, body)
			}

			st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["memory_bytes"] != nil })
			if st["status"] != "running" || st["memory_bytes"].(float64) <= 0 || st["memory_limit_bytes"] != float64(256<<20) ||
				st["healthy"] != true || st["pids"].(float64) < 1 || st["cpu_limit"] != 0.5 {
				t.Fatalf("status: %v", st)
			}

			r = e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil)
			mustStatus(t, r, http.StatusOK)
			if r.body["status"] != "stopped" {
				t.Fatalf("stop: %s", r.raw)
			}
			// Idempotent.
			mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
			r = e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
			if r.body["status"] != "stopped" || r.body["base_url"] != nil {
				t.Fatalf("status after stop: %s", r.raw)
			}
			// The port is free again: nothing listens, and it can be bound.
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatalf("port %d not released: %v", port, err)
			}
			l.Close()
			if n := e.containers(); n != 0 {
				t.Fatalf("%d containers left after stop", n)
			}
		})
	}
}

// waitStatus polls the status endpoint until ok accepts it (or 15 s pass).
func (e *env) waitStatus(user, gen string, ok func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", user, "", nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("status: %d %s", r.status, r.raw)
		}
		if ok(r.body) || time.Now().After(deadline) {
			return r.body
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestContainerHardening inspects a running preview's container on the engine.
func TestContainerHardening(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	e.mgr.Prepare(context.Background())
	imageID, err := e.docker.ImageID(context.Background(), pythonImage)
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(sharedTreeDir, strings.TrimPrefix(imageID, "sha256:"), "usr")
	gen := e.upload("alice", "fastapi")
	r := e.launch("alice", gen, map[string]any{"memory_mb": 192, "cpus": 0.25})
	mustStatus(t, r, http.StatusCreated)
	previewID := r.body["preview_id"].(string)
	port := int(r.body["port"].(float64))

	info := e.inspectCapped(t, previewID, 0.25)
	h := info.HostConfig
	checks := map[string]bool{
		"non-root user":        info.Config.User == fmt.Sprintf("%d:%d", sandbox.SandboxUID(port), sandbox.SandboxUID(port)),
		"caps dropped":         len(h.CapDrop) == 1 && h.CapDrop[0] == "ALL",
		"no-new-privileges":    len(h.SecurityOpt) == 1 && h.SecurityOpt[0] == "no-new-privileges",
		"read-only root":       h.ReadonlyRootfs,
		"no network":           string(h.NetworkMode) == "none",
		"no published ports":   len(h.PortBindings) == 0,
		"memory 192 MiB":       h.Memory == 192<<20 && h.MemorySwap == 192<<20,
		"cpus 0.25":            h.NanoCPUs == 250_000_000,
		"pids 256":             h.PidsLimit != nil && *h.PidsLimit == 256,
		"nofile":               len(h.Ulimits) == 1 && h.Ulimits[0].Name == "nofile",
		"not privileged":       !h.Privileged,
		"no restart":           h.RestartPolicy.Name == "no",
		"labels":               info.Config.Labels["io.previewd.preview-id"] == previewID && info.Config.Labels["io.previewd.generation-id"] == gen && info.Config.Labels["io.previewd.owner"] == "alice",
		"bounded engine log":   h.LogConfig.Config["max-size"] != "" && h.LogConfig.Config["max-file"] == "2",
		"writable /app capped": strings.Contains(h.Tmpfs["/app"], "size="),
		"running":              info.State.Running,
		"created from the id":  info.Config.Image == imageID,
		"tree /usr/lib":        slices.Contains(h.Binds, tree+"/lib:/usr/lib:ro"),
		"tree /usr/bin":        slices.Contains(h.Binds, tree+"/bin:/usr/bin:ro"),
		"image's /usr/sbin":    !slices.ContainsFunc(h.Binds, func(b string) bool { return strings.Contains(b, ":/usr/sbin") }),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: no (host config %+v)", name, h)
		}
	}

	// On fuse-overlayfs the root directory loses its group bits (see
	// sandbox/rootmode.go); on other drivers it stays as the engine made it.
	root, err := dockerClient(t).ContainerStatPath(context.Background(), info.ID, "/")
	if err != nil {
		t.Fatal(err)
	}
	want := os.FileMode(0o755)
	if info.GraphDriver.Name == "fuse-overlayfs" {
		want = 0o705
	}
	if root.Mode.Perm() != want {
		t.Errorf("root directory of a %s container: mode %v, want %v", info.GraphDriver.Name, root.Mode.Perm(), want)
	}
}

// TestRuntimeTree checks the unpacked tree against the image it came from:
// the same bytes, modification times (Python trusts its bytecode by them) and
// modes, less setuid.
func TestRuntimeTree(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	ctx := context.Background()
	e.mgr.Prepare(ctx)
	for _, image := range []string{pythonImage, nodeImage} {
		id, err := e.docker.ImageID(ctx, image)
		if err != nil {
			t.Fatal(err)
		}
		tree := filepath.Join(sharedTreeDir, strings.TrimPrefix(id, "sha256:"))
		checked := 0
		err = e.docker.CopyFromImage(ctx, id, "/usr/bin", func(r io.Reader) error {
			tr := tar.NewReader(r)
			for {
				hdr, err := tr.Next()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if hdr.Typeflag != tar.TypeReg {
					continue
				}
				want, err := io.ReadAll(tr)
				if err != nil {
					return err
				}
				path := filepath.Join(tree, "usr/bin", strings.TrimPrefix(hdr.Name, "bin/"))
				got, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				info, err := os.Stat(path)
				if err != nil {
					return err
				}
				if !bytes.Equal(got, want) || !info.ModTime().Equal(hdr.ModTime) || info.Mode().Perm() != os.FileMode(hdr.Mode)&0o755 || info.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
					t.Errorf("%s: %d bytes, mtime %v, mode %v in the tree; %d bytes, mtime %v, mode %o in %s",
						hdr.Name, len(got), info.ModTime(), info.Mode(), len(want), hdr.ModTime, hdr.Mode, image)
				}
				checked++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if checked < 10 {
			t.Fatalf("%s: only %d files checked in /usr/bin", image, checked)
		}
		t.Logf("%s: %d files of /usr/bin match the image", image, checked)
	}
}

// TestNoEgress proves a running preview reaches neither the internet, the
// metadata address, the host's services nor another preview.
func TestNoEgress(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	other := e.launch("alice", e.upload("alice", "fastapi"), nil)
	mustStatus(t, other, http.StatusCreated)
	otherPort := int(other.body["port"].(float64))
	r := e.launch("alice", e.upload("alice", "egress"), nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	apiPort := e.api.Listener.Addr().(*net.TCPAddr).Port

	targets := [][2]string{
		{"1.1.1.1", "53"},
		{"8.8.8.8", "443"},
		{"169.254.169.254", "80"},
		{"172.17.0.1", strconv.Itoa(apiPort)}, // the default bridge's host side
		{"127.0.0.1", strconv.Itoa(otherPort)},
		{"127.0.0.1", strconv.Itoa(apiPort)},
	}
	for _, ip := range hostAddrs(t) {
		targets = append(targets, [2]string{ip, strconv.Itoa(apiPort)}, [2]string{ip, strconv.Itoa(otherPort)})
	}
	// Control: the probe does work inside the container, against its own app.
	code, body := get(t, base+"/probe?host=127.0.0.1&port=8000")
	if code != 200 || !strings.Contains(body, `"ok": true`) && !strings.Contains(body, `"ok":true`) {
		t.Fatalf("control probe to the app itself failed: %d %s", code, body)
	}
	for _, tg := range targets {
		code, body := get(t, fmt.Sprintf("%s/probe?host=%s&port=%s", base, tg[0], tg[1]))
		var res map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil {
			t.Fatalf("probe %v: %d %s", tg, code, body)
		}
		if res["ok"] != false {
			t.Errorf("preview reached %s:%s: %s", tg[0], tg[1], body)
		}
	}
}

// hostAddrs lists the host's non-loopback IPv4 addresses.
func hostAddrs(t *testing.T) []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// TestLaunchFailures checks that a crash, an app that never listens and a
// memory hog each answer 422 with the right details and leave nothing behind.
func TestLaunchFailures(t *testing.T) {
	requireInfra(t, true)
	// Long enough for a slow import on a loaded machine, short for never-listens.
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) { c.StartTimeout = 15 * time.Second })
	cases := []struct {
		sample   string
		body     map[string]any
		exitCode any
		oom      bool
		inTail   string
	}{
		{"crash", nil, 1.0, false, "boom on import"},
		{"never-listens", nil, nil, false, "sleeping"},
		{"memory-hog", map[string]any{"memory_mb": 96}, 137.0, true, ""},
	}
	for _, c := range cases {
		t.Run(c.sample, func(t *testing.T) {
			gen := e.upload("alice", c.sample)
			r := e.launch("alice", gen, c.body)
			if r.status != http.StatusUnprocessableEntity || r.errorCode() != "launch_failed" {
				t.Fatalf("got %d %s, want 422 launch_failed", r.status, r.raw)
			}
			if r.errorField("exit_code") != c.exitCode || r.errorField("oom_killed") != c.oom || r.errorField("preview_id") == "" {
				t.Fatalf("error details: %s", r.raw)
			}
			tail := r.errorField("log_tail").([]any)
			if len(tail) > 50 {
				t.Fatalf("log_tail has %d lines", len(tail))
			}
			if c.inTail != "" && !strings.Contains(fmt.Sprint(tail), c.inTail) {
				t.Fatalf("log_tail lacks %q: %v", c.inTail, tail)
			}
			st := e.call("GET", "/api/v1/generations/"+gen+"/preview/status", "alice", "", nil)
			if st.body["status"] != "failed" || st.body["error"] == nil || fmt.Sprint(st.body["log_tail"]) != fmt.Sprint(tail) {
				t.Fatalf("status after failure: %s", st.raw)
			}
			if n := e.containers(); n != 0 {
				t.Fatalf("%d containers left after a failed launch", n)
			}
			if _, _, free := e.mgr.PortRange(); free != 8 {
				t.Fatalf("%d ports free after a failed launch, want 8", free)
			}
		})
	}
}

// TestCapacityExhausted fills the pool and checks the next launch gets 503
// and leaves nothing behind.
func TestCapacityExhausted(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) { c.MaxPreviews = 1 })
	mustStatus(t, e.launch("alice", e.upload("alice", "fastapi"), nil), http.StatusCreated)
	second := e.upload("alice", "flask")
	r := e.launch("alice", second, nil)
	if r.status != http.StatusServiceUnavailable || r.errorCode() != "capacity_exhausted" {
		t.Fatalf("got %d %s, want 503 capacity_exhausted", r.status, r.raw)
	}
	if st := e.call("GET", "/api/v1/generations/"+second+"/preview/status", "alice", "", nil); st.status != http.StatusNotFound {
		t.Fatalf("a refused launch left a record: %s", st.raw)
	}
	if n := e.containers(); n != 1 {
		t.Fatalf("%d containers, want 1", n)
	}
	if n := e.countRows("previews"); n != 1 {
		t.Fatalf("%d preview rows, want 1", n)
	}
}

// TestConcurrentLaunchesStartOneContainer launches one generation from several
// clients at once.
func TestConcurrentLaunchesStartOneContainer(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "fastapi")
	const n = 20
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.launch("alice", gen, nil)
		}()
	}
	wg.Wait()
	created := 0
	ids := map[string]bool{}
	tokens := map[string]bool{}
	for _, r := range results {
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("launch: %d %s", r.status, r.raw)
		}
		if r.body["status"] != "running" {
			t.Fatalf("launch answered before running: %s", r.raw)
		}
		ids[r.body["preview_id"].(string)] = true
		tokens[r.body["session_token"].(string)] = true
	}
	if created != 1 || len(ids) != 1 || len(tokens) != n {
		t.Fatalf("%d created, %d preview ids, %d tokens; want 1, 1, %d", created, len(ids), len(tokens), n)
	}
	if c := e.containers(); c != 1 {
		t.Fatalf("%d containers, want 1", c)
	}
	if r := e.countRows("previews"); r != 1 {
		t.Fatalf("%d preview records, want 1", r)
	}
}

// TestLaunchBodyValidation checks caps above the maxima and bad bodies.
func TestLaunchBodyValidation(t *testing.T) {
	requireInfra(t, false)
	e := newEnv(t)
	gen := e.upload("alice", "fastapi")
	for _, body := range []map[string]any{
		{"memory_mb": 4096},
		{"cpus": 8},
		{"pids": 100000},
		{"ttl_seconds": 999999},
		{"memory_mb": -1},
		{"env": map[string]string{"BAD NAME": "x"}},
		{"unknown": true},
	} {
		r := e.launch("alice", gen, body)
		if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.status, r.raw)
		}
		if r.errorCode() != "invalid_request" {
			t.Errorf("%v: code %s", body, r.errorCode())
		}
	}
	if n := e.countRows("previews"); n != 0 {
		t.Fatalf("%d preview rows after refused launches", n)
	}
}

// TestLaunchWithoutWaitFails: a launch that answered 202 and then crashed
// tells why in its status, with the output's last lines.
func TestLaunchWithoutWaitFails(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "crash")
	r := e.launch("alice", gen, map[string]any{"wait": false})
	mustStatus(t, r, http.StatusAccepted)
	st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["status"] != "starting" })
	tail, _ := st["log_tail"].([]any)
	if st["status"] != "failed" || st["exit_code"] != 1.0 || !strings.Contains(fmt.Sprint(tail), "boom on import") || len(tail) > 50 {
		t.Fatalf("status: %v", st)
	}
}

// TestLaunchWithoutWait answers 202 at once and the preview becomes running.
func TestLaunchWithoutWait(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "express")
	r := e.launch("alice", gen, map[string]any{"wait": false})
	mustStatus(t, r, http.StatusAccepted)
	if r.body["status"] != "starting" {
		t.Fatalf("launch: %s", r.raw)
	}
	st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["status"] != "starting" })
	if st["status"] != "running" {
		t.Fatalf("status: %v", st)
	}
	code, body := get(t, r.body["base_url"].(string)+"/")
	if code != 200 || !strings.Contains(body, "hello from express") {
		t.Fatalf("GET /: %d %q", code, body)
	}
}

// TestDependencies checks both sides of dependency handling: requirements the
// runtime image already has need no install, and an install that cannot work
// (no package registry here) fails the launch with the installer's output.
func TestDependencies(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	files := func(extra ...map[string]string) []map[string]string {
		return append([]map[string]string{{"path": "main.py", "content": helloFastAPI}}, extra...)
	}
	upload := func(files []map[string]string) string {
		r := e.callJSON("POST", "/api/v1/generations", "alice", map[string]any{"files": files})
		mustStatus(t, r, http.StatusCreated)
		return r.body["id"].(string)
	}

	have := upload(files(map[string]string{"path": "requirements.txt", "content": "fastapi>=0.90\nuvicorn[standard]>=0.15\n# comment\nSQLAlchemy\n"}))
	r := e.launch("alice", have, nil)
	mustStatus(t, r, http.StatusCreated)
	if code, body := get(t, r.body["base_url"].(string)+"/"); code != 200 || !strings.Contains(body, "world") {
		t.Fatalf("GET /: %d %q", code, body)
	}

	missing := upload(files(map[string]string{"path": "requirements.txt", "content": "fastapi\nsurely-not-a-real-package-previewd==1.0\n"}))
	r = e.launch("alice", missing, nil)
	if r.status != http.StatusUnprocessableEntity || r.errorCode() != "launch_failed" {
		t.Fatalf("got %d %s, want 422 launch_failed", r.status, r.raw)
	}
	tail := fmt.Sprint(r.errorField("log_tail"))
	if !strings.Contains(tail, "surely-not-a-real-package-previewd") || !strings.Contains(r.errorField("message").(string), "dependencies") {
		t.Fatalf("log_tail lacks the installer's output: %s", r.raw)
	}
	c, _ := r.errorField("cause").(map[string]any)
	if c["kind"] != "dependency_install" || c["file"] != "requirements.txt" || c["line"] != 2.0 || c["symbol"] != "surely-not-a-real-package-previewd" {
		t.Fatalf("cause of the failed install: %v", c)
	}
	if n := e.containers(); n != 1 {
		t.Fatalf("%d containers, want only the first preview's", n)
	}
}

// TestRestartAdoptsRunningPreviews stops previewd with previews running and
// starts it again: they keep answering on the same port and can be stopped.
func TestRestartAdoptsRunningPreviews(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	gen := e.upload("alice", "flask")
	r := e.launch("alice", gen, nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)

	e.stop()
	if n := e.containers(); n != 1 {
		t.Fatalf("%d containers after previewd stopped, want 1 left running", n)
	}
	e.start()
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "hello from flask") {
		t.Fatalf("adopted preview: %d %q", code, body)
	}
	st := e.waitStatus("alice", gen, func(s map[string]any) bool { return s["memory_bytes"] != nil })
	if st["status"] != "running" || st["memory_bytes"] == nil {
		t.Fatalf("status after restart: %v", st)
	}
	// A second launch answers with the adopted preview.
	again := e.launch("alice", gen, nil)
	if again.status != http.StatusOK || again.body["preview_id"] != r.body["preview_id"] {
		t.Fatalf("relaunch after restart: %d %s", again.status, again.raw)
	}
	mustStatus(t, e.call("DELETE", "/api/v1/generations/"+gen+"/preview", "alice", "", nil), http.StatusOK)
	if n := e.containers(); n != 0 {
		t.Fatalf("%d containers after stop", n)
	}
	if _, _, free := e.mgr.PortRange(); free != 8 {
		t.Fatalf("%d ports free, want 8", free)
	}
}

// TestAppWritesNextToItsCode checks that the app's directory is writable
// (while the root filesystem is not): a SQLite file beside the code works.
func TestAppWritesNextToItsCode(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	r := e.launch("alice", e.upload("alice", "sqlite"), nil)
	mustStatus(t, r, http.StatusCreated)
	base := r.body["base_url"].(string)
	// The launch's health probe was the first visit; each GET adds one.
	var last float64
	for i := 0; i < 3; i++ {
		code, body := get(t, base+"/")
		var res map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res["db"] != "/app/visits.db" {
			t.Fatalf("GET /: %d %q", code, body)
		}
		visits, _ := res["visits"].(float64)
		if i > 0 && visits != last+1 {
			t.Fatalf("visits went from %v to %v", last, visits)
		}
		last = visits
	}
}

// TestOrphanSweep checks that a container carrying this runner's labels but
// claimed by no preview is removed by the periodic sweep.
func TestOrphanSweep(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t, func(c *sandboxConfig, _ *serverConfig) { c.OrphanGrace = 0 })
	c := dockerClient(t)
	ctx := context.Background()
	created, err := c.ContainerCreate(ctx, &container.Config{
		Image: pythonImage,
		Labels: map[string]string{
			sandbox.LabelManaged: "true", sandbox.LabelRunner: e.runner, sandbox.LabelPreview: uuid.NewString(),
		},
	}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true})
	deadline := time.Now().Add(15 * time.Second)
	for e.containers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("orphan container still there after 15 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestScratchSweep checks that a start removes the scratch containers (of
// image copies) an earlier run of its runner left, and only those.
func TestScratchSweep(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	c := dockerClient(t)
	ctx := context.Background()
	scratch := func(runner string) string {
		created, err := c.ContainerCreate(ctx, &container.Config{
			Image: pythonImage, Entrypoint: []string{"/bin/true"},
			Labels: map[string]string{sandbox.LabelManaged: "scratch", sandbox.LabelRunner: runner},
		}, nil, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}) })
		return created.ID
	}
	exists := func(id string) bool {
		_, err := c.ContainerInspect(ctx, id)
		return err == nil
	}
	left := scratch(e.runner)
	other := scratch("another-" + e.runner)
	// The running previewd made neither: it leaves both (they are younger
	// than an hour, and not older than it).
	e.mgr.Prepare(ctx)
	if !exists(left) || !exists(other) {
		t.Fatalf("a previewd removed scratch containers made after it started: ours %v, another runner's %v", exists(left), exists(other))
	}
	// A restart of the runner removes its own leftover, not the other's.
	time.Sleep(1100 * time.Millisecond) // container times are whole seconds
	e.stop()
	e.start()
	deadline := time.Now().Add(15 * time.Second)
	for exists(left) {
		if time.Now().After(deadline) {
			t.Fatal("this runner's scratch container is still there 15 s after a restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !exists(other) {
		t.Fatal("another runner's fresh scratch container was removed")
	}
}

// TestCancelledImageReadLeavesNoContainer cancels reads of a file out of an
// image at every stage, the engine's create of the scratch container
// included, and checks that none of those containers is left.
func TestCancelledImageReadLeavesNoContainer(t *testing.T) {
	requireInfra(t, true)
	e := newEnv(t)
	ctx := context.Background()
	for i := range 40 {
		readCtx, cancel := context.WithTimeout(ctx, time.Duration(i)*2*time.Millisecond)
		e.docker.ReadImageFile(readCtx, pythonImage, "/etc/hostname")
		cancel()
	}
	time.Sleep(time.Second) // creates the engine was still finishing
	list, err := e.docker.Scratch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Labels[sandbox.LabelRunner] == e.runner {
			t.Errorf("scratch container %s left by a cancelled read", c.ID[:12])
		}
	}
}

// TestPythonRuntimeDefersDNSResolver checks the Python runtime's deferred
// import (images/python/previewd_lazy.py): importing FastAPI no longer loads
// dnspython's resolver and, through it, httpx and requests, while the
// resolver and pydantic's EmailStr still work when used.
func TestPythonRuntimeDefersDNSResolver(t *testing.T) {
	requireInfra(t, true)
	const script = `
import sys
import fastapi, email_validator
eager = sorted(m for m in ("dns.query", "httpx", "requests") if m in sys.modules)
assert not eager, "loaded with fastapi: %s" % eager
from pydantic import BaseModel, EmailStr
class User(BaseModel):
    email: EmailStr
assert User(email="ada@example.com").email == "ada@example.com"
from dns.resolver import Resolver, NXDOMAIN
Resolver(configure=False)
assert "dns.query" in sys.modules
print("ok")
`
	c := dockerClient(t)
	ctx := context.Background()
	created, err := c.ContainerCreate(ctx, &container.Config{
		Image: pythonImage, Entrypoint: []string{"python3", "-c", script}, User: "10001:10001",
	}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true})
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := c.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		t.Fatal(err)
	}
	logs, err := c.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	out, _ := io.ReadAll(logs)
	if code != 0 || !bytes.Contains(out, []byte("ok")) {
		t.Fatalf("exit %d: %s", code, out)
	}
}
