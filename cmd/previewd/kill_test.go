package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/previewd/previewd/db/localpg"
	"github.com/previewd/previewd/sandbox"
	dockerbackend "github.com/previewd/previewd/sandbox/docker"
)

// daemon is a previewd process started from the built binary.
type daemon struct {
	t     *testing.T
	bin   string
	env   []string
	url   string
	token string
	cmd   *exec.Cmd
	out   *bytes.Buffer
}

// TestKill9 kills previewd with SIGKILL while five previews run and a sixth
// is being launched, and starts it again: the five are adopted and still
// answer on their ports, the half-launched one is ended and its container
// removed, the engine holds exactly the running previews' containers, and
// the free ports are back to the expected number.
func TestKill9(t *testing.T) {
	d := startDaemon(t)
	samples := []string{"fastapi", "flask", "express", "fastapi", "express"}
	var gens, bases []string
	for _, s := range samples {
		gen := d.upload(s)
		var launched map[string]any
		if code := d.call("POST", "/api/v1/generations/"+gen+"/preview/launch", nil, &launched); code != http.StatusCreated {
			t.Fatalf("launch %s: %d %v", s, code, launched)
		}
		gens, bases = append(gens, gen), append(bases, launched["base_url"].(string))
	}
	inFlight := d.upload("flask")
	var started map[string]any
	if code := d.call("POST", "/api/v1/generations/"+inFlight+"/preview/launch", map[string]any{"wait": false}, &started); code != http.StatusAccepted {
		t.Fatalf("launch without waiting: %d %v", code, started)
	}
	time.Sleep(150 * time.Millisecond) // into its container's creation
	d.kill()

	d.start()
	for i, base := range bases {
		if code, body := get(base + "/"); code != 200 || !strings.Contains(body, "hello from") {
			t.Errorf("preview %d (%s) after the restart: %d %q", i, samples[i], code, body)
		}
		var st map[string]any
		d.call("GET", "/api/v1/generations/"+gens[i]+"/preview/status", nil, &st)
		if st["status"] != "running" {
			t.Errorf("preview %d status %v", i, st["status"])
		}
	}
	var st map[string]any
	d.call("GET", "/api/v1/generations/"+inFlight+"/preview/status", nil, &st)
	if st["status"] != "failed" || !strings.Contains(fmt.Sprint(st["error"]), "restarted while the preview was starting") {
		t.Errorf("the launch in flight: %v", st)
	}
	if n := d.containers(); n != len(bases) {
		t.Errorf("%d containers after the restart, want %d", n, len(bases))
	}
	var cfg map[string]any
	d.call("GET", "/api/v1/config", nil, &cfg)
	if cfg["ports_free"] != float64(10-len(bases)) {
		t.Errorf("ports_free %v, want %d", cfg["ports_free"], 10-len(bases))
	}
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	docker, err := dockerbackend.New(dockerbackend.Config{})
	if err == nil {
		err = docker.Ping(context.Background())
	}
	if err != nil {
		fail("no Docker engine: %v", err)
	}
	t.Cleanup(func() { docker.Close() })
	for _, img := range []string{"previewd/runtime-python:latest", "previewd/runtime-node:latest"} {
		if _, err := docker.ImageID(context.Background(), img); err != nil {
			fail("runtime image %s missing (run make images): %v", img, err)
		}
	}
	pgDir, err := os.MkdirTemp("", "kill9-pg-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := localpg.Start(ctx, localpg.Options{Dir: pgDir, Throwaway: true})
	if err != nil {
		fail("no PostgreSQL: %v", err)
	}
	t.Cleanup(func() { pg.Stop() })
	dbURL, err := pg.CreateDatabase(ctx, "kill9")
	if err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "previewd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build previewd: %v\n%s", err, out)
	}
	runDir, err := os.MkdirTemp("", "k9")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	listen, ports := freePort(t), freeRange(t, 10)
	secret := uuid.NewString()
	runner := "kill9-" + uuid.NewString()[:8]
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{
		t: t, bin: bin, token: token, url: fmt.Sprintf("http://127.0.0.1:%d", listen),
		env: append(os.Environ(),
			"DATABASE_URL="+dbURL,
			"PREVIEW_JWT_SECRET="+secret,
			fmt.Sprintf("PREVIEW_LISTEN_ADDR=127.0.0.1:%d", listen),
			fmt.Sprintf("PREVIEW_PORT_RANGE=%d-%d", ports, ports+9),
			"PREVIEW_RUN_DIR="+runDir,
			"PREVIEW_TREE_DIR="+filepath.Join(os.TempDir(), "previewd-trees"),
			"PREVIEW_RUNNER_ID="+runner,
			"PREVIEW_WARM_POOL=0",
			"PREVIEW_LOG_LEVEL=warn",
		),
	}
	t.Cleanup(func() {
		if d.cmd != nil {
			d.cmd.Process.Signal(syscall.SIGTERM)
			d.cmd.Wait()
			// A graceful stop finishes (and cleans up) what it was
			// copying out of an image.
			scratch, _ := docker.Scratch(context.Background())
			for _, c := range scratch {
				if c.Labels[sandbox.LabelRunner] == runner {
					t.Errorf("scratch container %s left after SIGTERM", c.ID[:12])
					docker.Teardown(context.Background(), c.ID, 0)
				}
			}
		}
		list, _ := docker.Managed(context.Background())
		for _, c := range list {
			if c.Labels[sandbox.LabelRunner] == runner {
				docker.Teardown(context.Background(), c.ID, 0)
			}
		}
		if t.Failed() {
			t.Logf("previewd's output:\n%s", d.out)
		}
	})
	d.start()
	return d
}

// start runs the binary and waits until it is ready.
func (d *daemon) start() {
	d.t.Helper()
	d.out = &bytes.Buffer{}
	d.cmd = exec.Command(d.bin)
	d.cmd.Env = d.env
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get(d.url + "/readyz"); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("previewd not ready after 30 s:\n%s", d.out)
		}
	}
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (d *daemon) kill() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
	d.cmd = nil
}

func (d *daemon) call(method, path string, body, out any) int {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

// upload stores testdata/samples/<name> and returns the generation id.
func (d *daemon) upload(name string) string {
	d.t.Helper()
	root := filepath.Join("..", "..", "testdata", "samples", name)
	var files []map[string]string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files = append(files, map[string]string{"path": filepath.ToSlash(rel), "content": string(b)})
		return err
	})
	if err != nil {
		d.t.Fatal(err)
	}
	var g map[string]any
	if code := d.call("POST", "/api/v1/generations", map[string]any{"name": name, "files": files}, &g); code != http.StatusCreated {
		d.t.Fatalf("upload %s: %d %v", name, code, g)
	}
	return g["id"].(string)
}

// containers counts this daemon's containers on the engine. Adoption, which
// removes what no record claims, is over before previewd answers /readyz.
func (d *daemon) containers() int {
	docker, err := dockerbackend.New(dockerbackend.Config{})
	if err != nil {
		d.t.Fatal(err)
	}
	defer docker.Close()
	runner := ""
	for _, kv := range d.env {
		if v, ok := strings.CutPrefix(kv, "PREVIEW_RUNNER_ID="); ok {
			runner = v
		}
	}
	list, err := docker.Managed(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if c.Labels[sandbox.LabelRunner] == runner {
			n++
		}
	}
	return n
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeRange finds n consecutive free loopback ports.
func freeRange(t *testing.T, n int) int {
	start, err := sandbox.FreeRange("127.0.0.1", 42000+os.Getpid()%2000*5, n)
	if err != nil {
		t.Fatal(err)
	}
	return start
}
