package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/db/localpg"
	"github.com/previewd/previewd/sandbox"
	dockerbackend "github.com/previewd/previewd/sandbox/docker"
	"github.com/previewd/previewd/server"
)

// previewd is a whole previewd (manager, API, PostgreSQL) in this process,
// measured through its HTTP API as a client sees it: upload (not timed),
// then POST /launch and GET base_url until the app answers.
type previewd struct {
	label  string
	phases map[string]map[string][]int64 // app → phase → timings_ms of each launch
	mgr    *sandbox.Manager
	base   string
	token  string
	http   *http.Client
}

// treeDir is previewd's TreeDir in the benchmark (flag -trees).
var treeDir string

func newPreviewd(ctx context.Context, label string, warm int, log *slog.Logger) (path, func(), error) {
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (path, func(), error) {
		cleanup()
		return nil, nil, err
	}

	dataDir, err := os.MkdirTemp("", "previewbench-pg-")
	if err != nil {
		return fail(err)
	}
	cluster, err := localpg.Start(ctx, localpg.Options{Dir: dataDir, Throwaway: true})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { cluster.Stop() })
	url, err := cluster.CreateDatabase(ctx, "bench")
	if err != nil {
		return fail(err)
	}
	store, err := db.Open(ctx, url)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		return fail(err)
	}
	portStart, err := sandbox.FreeRange("127.0.0.1", 41000, 10)
	if err != nil {
		return fail(err)
	}
	ports, err := sandbox.NewPortPool("127.0.0.1", portStart, portStart+9)
	if err != nil {
		return fail(err)
	}
	runRoot, err := os.MkdirTemp("", "pb")
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { os.RemoveAll(runRoot) })
	runner := "bench-" + uuid.NewString()[:8]
	docker, err := dockerbackend.New(dockerbackend.Config{RunnerID: runner, RunRoot: runRoot, TreeDir: treeDir, Log: log})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { docker.Close() })
	reg := prometheus.NewRegistry()
	mgr, err := sandbox.NewManager(sandbox.Config{
		RunnerID: runner, Host: "127.0.0.1", RunRoot: runRoot,
		Images:         map[string]string{"python": pythonImage, "node": nodeImage},
		Defaults:       sandbox.Caps{MemoryMB: 256, CPUs: 0.5, Pids: 256},
		Max:            sandbox.Caps{MemoryMB: 1024, CPUs: 2, Pids: 1024},
		MaxPreviews:    10,
		StartTimeout:   60 * time.Second,
		MaxUptime:      time.Hour,
		SweepEvery:     time.Minute,
		OrphanGrace:    time.Minute,
		SessionTimeout: time.Hour,
		StopGrace:      time.Second,
		WorkdirMB:      64, TmpMB: 32, LogMaxBytes: 4 << 20, NoFile: 4096,
		WarmPool: warm, StartCPUs: float64(runtime.NumCPU()),
	}, docker, store, ports, sandbox.NewMetrics(reg), log)
	if err != nil {
		return fail(err)
	}
	// As a long-running previewd would have them: the images' packages read
	// and their trees unpacked.
	mgr.Prepare(ctx)
	runCtx, stopRun := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		mgr.Run(runCtx)
	}()
	closers = append(closers, func() {
		stopRun()
		<-ran
		mgr.Close()
		removeRunner(docker, runner)
	})

	secret := []byte(uuid.NewString())
	srv := server.New(server.Config{JWTSecret: secret, MaxFiles: 200, MaxUploadBytes: 8 << 20, RequestTimeout: 10 * time.Second},
		store, mgr, reg, reg, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	closers = append(closers, func() { hs.Close() })

	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bench", "exp": time.Now().Add(24 * time.Hour).Unix()}).SignedString(secret)
	if err != nil {
		return fail(err)
	}
	return &previewd{label: label, phases: map[string]map[string][]int64{}, mgr: mgr, base: "http://" + ln.Addr().String(), token: token, http: &http.Client{Timeout: 2 * time.Minute}}, cleanup, nil
}

func (p *previewd) name() string { return p.label }

func (p *previewd) launch(ctx context.Context, a app) (time.Duration, func(), error) {
	if p.label == "warm" {
		if err := p.waitWarm(ctx, a.image); err != nil {
			return 0, nil, err
		}
	}
	files := make([]map[string]string, 0, len(a.files))
	for name, body := range a.files {
		files = append(files, map[string]string{"path": name, "content": string(body)})
	}
	var gen struct {
		ID string `json:"id"`
	}
	if err := p.call(ctx, "POST", "/api/v1/generations", map[string]any{"name": a.name, "files": files}, http.StatusCreated, &gen); err != nil {
		return 0, nil, fmt.Errorf("upload: %w", err)
	}
	cleanup := func() {
		p.call(context.Background(), "DELETE", "/api/v1/generations/"+gen.ID, nil, http.StatusNoContent, nil)
	}

	start := time.Now()
	var launched struct {
		BaseURL string           `json:"base_url"`
		Warm    bool             `json:"warm"`
		Timings map[string]int64 `json:"timings_ms"`
	}
	if err := p.call(ctx, "POST", "/api/v1/generations/"+gen.ID+"/preview/launch", map[string]any{"wait": true}, http.StatusCreated, &launched); err != nil {
		return 0, cleanup, fmt.Errorf("launch: %w", err)
	}
	if err := pollHTTP(ctx, launched.BaseURL+"/", 10*time.Second); err != nil {
		return 0, cleanup, err
	}
	d := time.Since(start)
	if p.phases[a.name] == nil {
		p.phases[a.name] = map[string][]int64{}
	}
	for phase, v := range launched.Timings {
		p.phases[a.name][phase] = append(p.phases[a.name][phase], v)
	}
	if launched.Warm != (p.label == "warm") {
		return 0, cleanup, fmt.Errorf("a %s launch answered warm=%v", p.label, launched.Warm)
	}
	return d, cleanup, nil
}

// waitWarm waits until the pool has a ready container of image: the warm
// path is measured with a warm container available, as in steady use.
func (p *previewd) waitWarm(ctx context.Context, image string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ready, _ := p.mgr.WarmCounts()
		if ready[image] > 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no warm container of %s after 2 minutes", image)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *previewd) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// removeRunner removes every container the bench's previewd left.
func removeRunner(docker *dockerbackend.Backend, runner string) {
	ctx := context.Background()
	list, err := docker.Managed(ctx)
	if err != nil {
		return
	}
	for _, c := range list {
		if c.Labels[sandbox.LabelRunner] == runner {
			docker.Teardown(ctx, c.ID, 0)
		}
	}
}
