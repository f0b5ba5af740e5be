package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/db/localpg"
	"github.com/previewd/previewd/sandbox"
	dockerbackend "github.com/previewd/previewd/sandbox/docker"
	"github.com/previewd/previewd/server"
)

// cluster is the throwaway PostgreSQL of this package's tests; each test gets a
// database of its own.
var cluster *localpg.Cluster

// databaseErr says why there is no database, when there is none.
var databaseErr error

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := localpg.Start(ctx, localpg.Options{Dir: tempDir(), Throwaway: true})
	cancel()
	cluster, databaseErr = c, err
	code := m.Run()
	if c != nil {
		c.Stop()
	}
	os.Exit(code)
}

func tempDir() string {
	dir, err := os.MkdirTemp("", "previewd-server-test-")
	if err != nil {
		panic(err)
	}
	return dir
}

// requireInfra skips a test that needs PostgreSQL (and Docker, when docker is
// true) where they are missing, except in CI, where missing is a failure.
func requireInfra(t testing.TB, docker bool) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	if databaseErr != nil {
		fail("no PostgreSQL for integration tests: %v", databaseErr)
	}
	if docker {
		d, err := dockerbackend.New(dockerbackend.Config{})
		if err == nil {
			defer d.Close()
			err = d.Ping(context.Background())
		}
		if err != nil {
			fail("no Docker engine for integration tests: %v", err)
		}
		for _, img := range []string{pythonImage, nodeImage} {
			if _, err := d.ImageID(context.Background(), img); err != nil {
				fail("runtime image %s missing (run make images): %v", img, err)
			}
		}
	}
}

// sharedTreeDir holds the runtime images' unpacked trees for every test
// (and every test package): each image is unpacked once per machine.
var sharedTreeDir = filepath.Join(os.TempDir(), "previewd-trees")

// The runtime images the tests run, as make images builds them;
// PREVIEW_IMAGE_TAG picks images built with that tag instead of :latest.
var (
	pythonImage = runtimeImage("python")
	nodeImage   = runtimeImage("node")
)

const testSecret = "test-secret-of-at-least-16-bytes"

// runtimeImage is the name of the runtime image NAME ("python-trixie").
func runtimeImage(name string) string {
	tag := os.Getenv("PREVIEW_IMAGE_TAG")
	if tag == "" {
		tag = "latest"
	}
	return "previewd/runtime-" + name + ":" + tag
}

// env is one previewd (store, manager, API) on its own database, runner id and
// port range.
type env struct {
	t      testing.TB
	url    string // the database's
	store  *db.Store
	sql    *sql.DB
	mgr    *sandbox.Manager
	docker *dockerbackend.Backend
	api    *httptest.Server
	srv    *server.Server
	cfg    sandbox.Config
	scfg   server.Config
	runner string

	portStart, portEnd int
	stopRun            func() // ends the manager's expiry loop
	reg                *prometheus.Registry
}

type envOption func(*sandbox.Config, *server.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	requireInfra(t, false)
	ctx := context.Background()
	url, err := cluster.CreateDatabase(ctx, "t_"+strings.ReplaceAll(uuid.NewString()[:18], "-", "_"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, url, opts...)
}

// newEnvOn is newEnv on the database at url.
func newEnvOn(t testing.TB, url string, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sqlDB, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	notices, err := db.ListenLogs(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notices.Close() })
	runner := "test-" + uuid.NewString()[:8]
	start := freePortRange(t, 8)
	cfg := sandbox.Config{
		RunnerID: runner, Host: "127.0.0.1", RunRoot: shortTempDir(t),
		Images: map[string]string{"python": pythonImage, "node": nodeImage},
		// As in previewd: an app whose pins the default image does not meet
		// runs on the image that meets them.
		Runtimes: map[string][]string{
			"python": {pythonTrixie, pythonForky},
			"node":   {nodeTrixie, nodeForky},
		},
		Defaults:       sandbox.Caps{MemoryMB: 256, CPUs: 0.5, Pids: 256},
		Max:            sandbox.Caps{MemoryMB: 1024, CPUs: 2, Pids: 1024},
		MaxPreviews:    8,
		StartTimeout:   60 * time.Second,
		MaxUptime:      time.Hour,
		IdleTimeout:    30 * time.Minute,
		SweepEvery:     time.Second,
		OrphanGrace:    time.Minute,
		SessionTimeout: 30 * time.Minute,
		StopGrace:      time.Second,
		WorkdirMB:      64, TmpMB: 32, LogMaxBytes: 4 << 20, NoFile: 4096,
		StartCPUs: 2, // as on a 2-core machine by default
	}
	scfg := server.Config{
		JWTSecret: []byte(testSecret), MaxFiles: 50, MaxUploadBytes: 1 << 20,
		RequestTimeout: 10 * time.Second,
		// previewd's default floor under request bodies, so that every test's
		// uploads, proxied requests and WebSockets run under it.
		BodyGrace: 10 * time.Second, BodyMinRate: 500,
		// Checks call every GET route of an app once it is healthy; the
		// samples' routes that stream, hang or reset would disturb the
		// tests of other things. The tests of the checks turn them on.
		ChecksOff: true,
		// As in previewd: streams of previews another previewd runs wake
		// on stored lines.
		LogNotices: notices,
	}
	portEnd := start + 7
	for _, o := range opts {
		o(&cfg, &scfg)
	}
	if cfg.MaxPreviews < 8 {
		portEnd = start + cfg.MaxPreviews - 1
	}
	e := &env{t: t, url: url, store: store, sql: sqlDB, cfg: cfg, scfg: scfg, runner: runner, portStart: start, portEnd: portEnd}
	docker, err := dockerbackend.New(e.dockerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker.Close() })
	e.docker = docker
	e.start()
	t.Cleanup(func() {
		e.stop()
		e.removeContainers()
	})
	return e
}

// dockerConfig configures the env's Docker backend: its runner's, with the
// trees every test shares.
func (e *env) dockerConfig() dockerbackend.Config {
	return dockerbackend.Config{
		RunnerID: e.runner, RunRoot: e.cfg.RunRoot, TreeDir: sharedTreeDir,
		Log: slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// start runs a previewd (manager and API) on the env's store and config; a
// previous one must have been stopped. Like a real start, it adopts what the
// runner left running.
func (e *env) start() {
	t := e.t
	ports, err := sandbox.NewPortPool("127.0.0.1", e.portStart, e.portEnd)
	if err != nil {
		t.Fatal(err)
	}
	e.reg = prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.mgr, err = sandbox.NewManager(e.cfg, e.docker, e.store, ports, sandbox.NewMetrics(e.reg), log)
	if err != nil {
		t.Fatal(err)
	}
	e.mgr.RegisterLive(e.reg)
	if err := e.mgr.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.mgr.Run(ctx)
	}()
	e.stopRun = func() { cancel(); <-done }
	e.srv = server.New(e.scfg, e.store, e.mgr, e.reg, e.reg, log)
	e.api = httptest.NewServer(e.srv.Handler())
}

// stop ends the env's previewd, leaving its containers running.
func (e *env) stop() {
	if e.api != nil {
		e.stopRun()
		e.srv.Close()
		e.api.Close()
		e.mgr.Close()
		e.api = nil
	}
}

// removeContainers removes whatever this env's runner left behind.
func (e *env) removeContainers() {
	ctx := context.Background()
	list, err := e.docker.Managed(ctx)
	if err != nil {
		return
	}
	scratch, _ := e.docker.Scratch(ctx)
	for _, c := range append(list, scratch...) {
		if c.Labels[sandbox.LabelRunner] == e.runner {
			e.docker.Teardown(ctx, c.ID, 0)
		}
	}
}

// containers counts this env's containers on the engine.
func (e *env) containers() int {
	e.t.Helper()
	list, err := e.docker.Managed(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if c.Labels[sandbox.LabelRunner] == e.runner {
			n++
		}
	}
	return n
}

// shortTempDir is a temporary directory with a short path: the shim's socket
// paths below it must fit in 107 bytes, which t.TempDir's long names do not.
func shortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "pvd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func freePortRange(t testing.TB, n int) int {
	t.Helper()
	start, err := sandbox.FreeRange("127.0.0.1", 20000+int(time.Now().UnixNano()%20000), n)
	if err != nil {
		t.Fatal(err)
	}
	return start
}

// token mints a bearer token for user.
func token(t testing.TB, user string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": time.Now().Add(time.Hour).Unix()})
	s, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// response is a decoded API answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r response) errorField(name string) any {
	e, _ := r.body["error"].(map[string]any)
	return e[name]
}

// call sends a request to the API as user ("" sends no token).
func (e *env) call(method, path, user string, contentType string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.api.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(e.t, user))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: bad JSON %q: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return r
}

func (e *env) callJSON(method, path, user string, v any) response {
	e.t.Helper()
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.call(method, path, user, "application/json", body)
}

// sampleFiles reads testdata/samples/<name> as the JSON upload's file list.
func sampleFiles(t testing.TB, name string) []map[string]string {
	t.Helper()
	return dirFiles(t, filepath.Join("..", "testdata", "samples", name))
}

// dirFiles reads the files below root as the JSON upload's file list.
func dirFiles(t testing.TB, root string) []map[string]string {
	t.Helper()
	var files []map[string]string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, map[string]string{"path": filepath.ToSlash(rel), "content": string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// upload stores a sample and returns the generation id.
func (e *env) upload(user, sample string) string {
	e.t.Helper()
	r := e.callJSON("POST", "/api/v1/generations", user, map[string]any{"name": sample, "files": sampleFiles(e.t, sample)})
	if r.status != http.StatusCreated {
		e.t.Fatalf("upload %s: %d %s", sample, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func (e *env) launch(user, genID string, body any) response {
	e.t.Helper()
	return e.callJSON("POST", "/api/v1/generations/"+genID+"/preview/launch", user, body)
}

// get fetches a URL directly (not through the API).
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
}

type (
	sandboxConfig = sandbox.Config
	serverConfig  = server.Config
)

func newDocker() (*dockerbackend.Backend, error) { return dockerbackend.New(dockerbackend.Config{}) }

// countRows counts the rows of a table in this env's database.
func (e *env) countRows(table string) int {
	e.t.Helper()
	var n int
	if err := e.sql.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// dockerClient is an engine client for inspecting what previewd made, closed
// when the test ends.
func dockerClient(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// processes lists the command lines of the processes in a preview's container.
func (e *env) processes(t *testing.T, previewID string) []string {
	t.Helper()
	c := dockerClient(t)
	top, err := c.ContainerTop(context.Background(), dockerbackend.ContainerName(previewID), []string{"-o", "pid,args"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range top.Processes {
		out = append(out, p[len(p)-1])
	}
	return out
}

// inspectCapped inspects a preview's container once its CPU cap is cpus: a
// preview starts with the start-up boost, which is dropped just after its
// launch answers.
func (e *env) inspectCapped(t *testing.T, previewID string, cpus float64) container.InspectResponse {
	t.Helper()
	c := dockerClient(t)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := c.ContainerInspect(context.Background(), dockerbackend.ContainerName(previewID))
		if err != nil {
			t.Fatal(err)
		}
		if info.HostConfig.NanoCPUs == int64(cpus*1e9) || time.Now().After(deadline) {
			return info
		}
	}
}
