package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/backend/fake"
)

// The lifecycle's tests below run against the fake backend and an
// in-memory store: launch, stop, crash, expiry, adoption, the warm pool and
// capacity, with no engine. The Docker backend's own behaviour is covered
// by server's integration tests.

const pythonRef, nodeRef = "previewd/runtime-python:test", "previewd/runtime-node:test"

type lifecycle struct {
	t      *testing.T
	cfg    Config
	b      *fake.Backend
	store  *memStore
	start  int // of the port range
	m      *Manager
	closed bool
}

func newLifecycle(t *testing.T, opts ...func(*Config)) *lifecycle {
	t.Helper()
	start := freeRange(t, 4)
	cfg := Config{
		RunnerID: "r1", Host: "127.0.0.1", RunRoot: t.TempDir(),
		Images:   map[string]string{"python": pythonRef, "node": nodeRef},
		Defaults: Caps{MemoryMB: 256, CPUs: 0.5, Pids: 256}, Max: Caps{MemoryMB: 1024, CPUs: 2, Pids: 1024},
		MaxPreviews: 4, StartTimeout: 10 * time.Second, MaxUptime: time.Hour, SweepEvery: time.Hour,
		OrphanGrace: time.Minute, SessionTimeout: time.Hour, WorkdirMB: 64, TmpMB: 32, LogMaxBytes: 1 << 20, NoFile: 1024,
	}
	for _, o := range opts {
		o(&cfg)
	}
	l := &lifecycle{t: t, cfg: cfg, b: fake.New(), store: newMemStore(), start: start}
	l.m = l.manager()
	t.Cleanup(func() {
		if !l.closed {
			l.m.Close()
		}
	})
	return l
}

// manager makes a Manager on the lifecycle's backend, store and ports, as a
// start of previewd does.
func (l *lifecycle) manager() *Manager {
	l.t.Helper()
	ports, err := NewPortPool("127.0.0.1", l.start, l.start+3)
	if err != nil {
		l.t.Fatal(err)
	}
	m, err := NewManager(l.cfg, l.b, l.store, ports, NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	if err != nil {
		l.t.Fatal(err)
	}
	return m
}

// run runs the manager's background loop until the test ends.
func (l *lifecycle) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.m.Run(ctx)
	}()
	l.t.Cleanup(func() { cancel(); <-done })
}

var fastapiApp = db.File{Path: "main.py", Content: []byte("from fastapi import FastAPI\napp = FastAPI()\n")}

// launch launches a new generation's preview and waits for it.
func (l *lifecycle) launch(generationID string) (Launched, error) {
	g := l.store.generation(generationID, fastapiApp)
	return l.m.Launch(context.Background(), LaunchRequest{Generation: g, Wait: true})
}

func (l *lifecycle) mustLaunch(generationID string) db.Preview {
	l.t.Helper()
	r, err := l.launch(generationID)
	if err != nil {
		l.t.Fatalf("launch %s: %v", generationID, err)
	}
	return r.Preview
}

// eventually waits for cond, failing the test after 10 s.
func (l *lifecycle) eventually(what string, cond func() bool) {
	l.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			l.t.Fatalf("still not %s after 10 s", what)
		}
	}
}

func (l *lifecycle) record(id string) db.Preview {
	l.t.Helper()
	p, err := l.store.Preview(context.Background(), id)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// get asks the app on port for /.
func get(port int) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestLifecycleLaunchAndStop(t *testing.T) {
	l := newLifecycle(t)
	p := l.mustLaunch("g1")
	if p.Status != db.StatusRunning || l.record(p.ID).Status != db.StatusRunning || !l.m.Running(p.ID) {
		t.Fatalf("after the launch: answer %q, record %q, running %v", p.Status, l.record(p.ID).Status, l.m.Running(p.ID))
	}
	box, ok := l.b.Sandbox(p.ID)
	switch {
	case !ok || !box.Running || box.App != "serving":
		t.Fatalf("sandbox %+v (exists %v): want running, its app serving", box, ok)
	case !box.Sealed:
		t.Error("the sandbox was not sealed once its shim answered")
	case box.Files != 1:
		t.Errorf("the shim received %d files, want 1", box.Files)
	case box.Spec.GenerationID != "g1" || box.Spec.RunnerID != "r1" || box.Spec.Port != p.Port || !box.Spec.RuntimeImage || box.Spec.Image != pythonRef:
		t.Errorf("spec %+v", box.Spec)
	case l.record(p.ID).ContainerID != box.ID:
		t.Errorf("record names sandbox %q, the backend has %q", l.record(p.ID).ContainerID, box.ID)
	case p.Runtime.Image != imageName(pythonRef) || l.record(p.ID).Runtime.Image != p.Runtime.Image:
		t.Errorf("runtime %+v, recorded %+v; want image %s", p.Runtime, l.record(p.ID).Runtime, imageName(pythonRef))
	}
	if body, err := get(p.Port); err != nil || body != p.ID {
		t.Fatalf("GET on the preview's port: %q, %v", body, err)
	}
	if !slices.ContainsFunc(l.store.lines(p.ID), func(s string) bool { return strings.HasPrefix(s, "system: healthy") }) {
		t.Errorf("no healthy line stored before the launch answered: %q", l.store.lines(p.ID))
	}
	again, err := l.launch("g1")
	if err != nil || !again.Existing || again.Preview.ID != p.ID {
		t.Fatalf("second launch of the generation: %+v, %v; want the live one", again, err)
	}

	if err := l.m.Stop(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	_, _, free := l.m.PortRange()
	now, ever := l.b.Count()
	switch {
	case l.record(p.ID).Status != db.StatusStopped:
		t.Errorf("record %q after the stop", l.record(p.ID).Status)
	case now != 0 || ever != 1:
		t.Errorf("%d sandboxes left of %d made", now, ever)
	case free != 4:
		t.Errorf("%d ports free after the stop, want 4", free)
	case l.m.Running(p.ID):
		t.Error("the manager still runs the preview")
	}
	if _, err := get(p.Port); err == nil {
		t.Error("the port still answers after the stop")
	}
}

func TestLifecycleCrash(t *testing.T) {
	l := newLifecycle(t)
	p := l.mustLaunch("g1")
	l.b.Exit(p.ID, 3)
	l.eventually("failed", func() bool { return l.record(p.ID).Status == db.StatusFailed })
	rec := l.record(p.ID)
	if rec.ExitCode == nil || *rec.ExitCode != 3 || !strings.Contains(rec.Error, "code 3") {
		t.Errorf("crash recorded as %q, exit code %v", rec.Error, rec.ExitCode)
	}
	if !slices.Contains(rec.LogTail, "Traceback (most recent call last):") {
		t.Errorf("log tail %q lacks the app's last output", rec.LogTail)
	}
	l.eventually("torn down", func() bool { now, _ := l.b.Count(); return now == 0 && !l.m.Running(p.ID) })
}

func TestLifecycleLaunchFailures(t *testing.T) {
	l := newLifecycle(t, func(c *Config) { c.StartTimeout = 300 * time.Millisecond })
	code := 1
	l.b.Apps = func([]string) fake.App { return fake.App{Exit: &code} }
	_, err := l.launch("exits")
	var le *LaunchError
	if !errors.As(err, &le) || le.ExitCode == nil || *le.ExitCode != 1 || le.PreviewID == "" {
		t.Fatalf("an app that exits: %v, want a LaunchError with exit code 1", err)
	}
	if rec := l.record(le.PreviewID); rec.Status != db.StatusFailed {
		t.Errorf("record %q", rec.Status)
	}

	l.b.Apps = func([]string) fake.App { return fake.App{Hang: true} }
	_, err = l.launch("hangs")
	if !errors.As(err, &le) || !le.timedOut || !strings.Contains(le.Reason, "did not answer HTTP within 300ms") {
		t.Fatalf("an app that never answers: %v, want a time-out", err)
	}
	if now, ever := l.b.Count(); now != 0 || ever != 2 {
		t.Errorf("%d sandboxes left of %d made", now, ever)
	}
	if _, _, free := l.m.PortRange(); free != 4 {
		t.Errorf("%d ports free, want 4", free)
	}
}

func TestLifecycleExpiry(t *testing.T) {
	l := newLifecycle(t)
	l.run()
	g := l.store.generation("g1", fastapiApp)
	r, err := l.m.Launch(context.Background(), LaunchRequest{Generation: g, Wait: true, TTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.eventually("expired", func() bool { return l.record(r.Preview.ID).Status == db.StatusExpired })
	if rec := l.record(r.Preview.ID); rec.Error != "the preview reached its maximum uptime" {
		t.Errorf("expired because %q", rec.Error)
	}
	l.eventually("torn down", func() bool { now, _ := l.b.Count(); return now == 0 })
}

func TestLifecycleAdopt(t *testing.T) {
	l := newLifecycle(t)
	kept := l.mustLaunch("kept")
	vanished := l.mustLaunch("vanished")
	if closed := l.m.Close(); closed.Previews != 2 {
		t.Fatalf("Close left %d previews running, want 2", closed.Previews)
	}
	l.closed = true
	// Meanwhile one sandbox went, and one no record claims appeared.
	l.b.Remove(context.Background(), backend.Handle{PreviewID: vanished.ID}, 0)
	orphan := backend.Spec{PreviewID: "orphan", RunnerID: "r1", Port: l.start + 3}
	if _, err := l.b.Create(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}

	l.m, l.closed = l.manager(), false
	if err := l.m.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !l.m.Running(kept.ID) {
		t.Fatal("the running preview was not taken over")
	}
	if body, err := get(kept.Port); err != nil || body != kept.ID {
		t.Errorf("the adopted preview's port: %q, %v", body, err)
	}
	if rec := l.record(vanished.ID); rec.Status != db.StatusFailed || rec.Error != "the container disappeared" {
		t.Errorf("the vanished preview's record: %q %q", rec.Status, rec.Error)
	}
	if _, ok := l.b.Sandbox("orphan"); ok {
		t.Error("the orphan sandbox was left")
	}
	// The adopted preview's crash is seen by its new watcher.
	l.b.Exit(kept.ID, 1)
	l.eventually("failed", func() bool { return l.record(kept.ID).Status == db.StatusFailed })
}

func TestLifecycleWarmClaim(t *testing.T) {
	l := newLifecycle(t, func(c *Config) { c.WarmPool = 1 })
	l.run()
	l.eventually("warm", func() bool {
		ready, _ := l.m.WarmCounts()
		return ready[pythonRef] == 1 && ready[nodeRef] == 1
	})
	p := l.mustLaunch("g1")
	box, _ := l.b.Sandbox(p.ID)
	if !p.Warm || !box.Spec.Warm || box.App != "serving" || box.Files != 1 {
		t.Fatalf("launch: warm %v, sandbox %+v; want a claimed warm sandbox serving the app", p.Warm, box)
	}
	if p.Runtime.Image != imageName(pythonRef) {
		t.Errorf("warm launch: runtime %+v, want image %s", p.Runtime, imageName(pythonRef))
	}
	if body, err := get(p.Port); err != nil || body != p.ID {
		t.Errorf("GET on the warm preview's port: %q, %v", body, err)
	}
	// The pool fills again: a new sandbox, not the claimed one.
	l.eventually("refilled", func() bool { ready, _ := l.m.WarmCounts(); return ready[pythonRef] == 1 })
	if _, ever := l.b.Count(); ever != 3 {
		t.Errorf("%d sandboxes made, want 3 (two warm, one to refill)", ever)
	}
}

func TestLifecycleCapacity(t *testing.T) {
	l := newLifecycle(t, func(c *Config) { c.MaxPreviews = 1 })
	first := l.mustLaunch("g1")
	if _, err := l.launch("g2"); !errors.Is(err, ErrCapacity) {
		t.Fatalf("a launch past the limit: %v, want ErrCapacity", err)
	}
	if _, err := l.store.LivePreview(context.Background(), "g2"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("a refused launch left a record: %v", err)
	}
	if err := l.m.Stop(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	l.mustLaunch("g2")
}
