// Package fake is a backend.Backend without an engine, for the lifecycle's
// tests: sandboxes are records in memory, their shim answers the shim's
// control protocol in process, and their app answers HTTP on the pooled
// port. Tests make an app crash, hang or print through it.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// App is what an app does once its shim starts it.
type App struct {
	Hang bool // it never answers HTTP
	Exit *int // it exits at once with this code
}

// Backend is the fake. Its zero value is not usable: call New.
type Backend struct {
	// Apps decides what each started app does; nil starts every app
	// answering HTTP. It is read when an app starts.
	Apps func(argv []string) App

	mu      sync.Mutex
	boxes   map[string]*box // by engine id
	next    int
	oom     chan string
	created int // sandboxes created ever
}

var _ backend.Backend = (*Backend)(nil)

// box is one fake sandbox.
type box struct {
	id        string
	spec      backend.Spec
	created   time.Time
	running   bool
	sealed    bool
	exitCode  int
	oomKilled bool
	startedAt time.Time
	exited    chan struct{} // closed when the current run ends
	app       string        // "", "warm" (a preloader), "serving" or "hanging"
	files     int           // files the shim received
	caps      backend.Caps
	logs      []entry
	wake      chan struct{} // closed and replaced when logs grow or the run ends
}

type entry struct {
	stream, text string
	at           time.Time
}

// New returns an empty fake.
func New() *Backend {
	return &Backend{boxes: map[string]*box{}, oom: make(chan string, 16)}
}

// find returns h's sandbox; b.mu is held.
func (b *Backend) find(h backend.Handle) (*box, error) {
	if x, ok := b.boxes[h.ID]; ok && h.ID != "" {
		return x, nil
	}
	if h.ID == "" {
		for _, x := range b.boxes {
			if x.spec.PreviewID == h.PreviewID {
				return x, nil
			}
		}
	}
	return nil, fmt.Errorf("sandbox %q of preview %s: %w", h.ID, h.PreviewID, backend.ErrNotFound)
}

func (b *Backend) byPreview(previewID string) *box {
	for _, x := range b.boxes {
		if x.spec.PreviewID == previewID {
			return x
		}
	}
	return nil
}

// Ping answers.
func (b *Backend) Ping(context.Context) error { return nil }

// Prepare has nothing to prepare.
func (b *Backend) Prepare(context.Context, []string) {}

// Sweep has nothing to sweep.
func (b *Backend) Sweep(context.Context, time.Time, time.Time) error { return nil }

// Close does nothing.
func (b *Backend) Close() error { return nil }

// Create records a sandbox, not running.
func (b *Backend) Create(_ context.Context, s backend.Spec) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byPreview(s.PreviewID) != nil {
		return "", fmt.Errorf("create sandbox of preview %s: the name is taken", s.PreviewID)
	}
	b.next++
	b.created++
	id := "fake-" + strconv.Itoa(b.next)
	b.boxes[id] = &box{id: id, spec: s, created: time.Now(), caps: s.Caps, exited: closed(), wake: make(chan struct{})}
	return id, nil
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Start runs the sandbox: its shim answers, its app has not started.
func (b *Backend) Start(_ context.Context, h backend.Handle) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, err := b.find(h)
	if err != nil {
		return err
	}
	if !x.running {
		x.running, x.sealed, x.app = true, false, ""
		x.exitCode, x.oomKilled = 0, false
		x.startedAt = time.Now()
		x.exited = make(chan struct{})
	}
	return nil
}

// Seal marks the sandbox sealed; the shim must have come up.
func (b *Backend) Seal(_ context.Context, h backend.Handle) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, err := b.find(h)
	if err != nil {
		return err
	}
	if !x.running {
		return errors.New("seal: the sandbox does not run")
	}
	x.sealed = true
	return nil
}

// SetCaps changes the caps; zero fields stay.
func (b *Backend) SetCaps(_ context.Context, h backend.Handle, caps backend.Caps) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, err := b.find(h)
	if err != nil {
		return err
	}
	if caps.MemoryMB > 0 {
		x.caps.MemoryMB = caps.MemoryMB
	}
	if caps.CPUs > 0 {
		x.caps.CPUs = caps.CPUs
	}
	if caps.Pids > 0 {
		x.caps.Pids = caps.Pids
	}
	return nil
}

// stop ends x's run with code; b.mu is held.
func (b *Backend) stop(x *box, code int, oom bool) {
	if !x.running {
		return
	}
	x.running, x.app = false, ""
	x.exitCode, x.oomKilled = code, oom
	close(x.exited)
	b.notify(x)
}

func (b *Backend) notify(x *box) {
	close(x.wake)
	x.wake = make(chan struct{})
}

// Stop stops the sandbox as SIGTERM would (code 143).
func (b *Backend) Stop(_ context.Context, h backend.Handle, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if x, err := b.find(h); err == nil {
		b.stop(x, 143, false)
	}
	return nil
}

// Remove stops and forgets the sandbox; gone counts as done.
func (b *Backend) Remove(_ context.Context, h backend.Handle, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if x, err := b.find(h); err == nil {
		b.stop(x, 137, false)
		delete(b.boxes, x.id)
	}
	return nil
}

// Wait waits until the sandbox no longer runs.
func (b *Backend) Wait(ctx context.Context, h backend.Handle) error {
	b.mu.Lock()
	x, err := b.find(h)
	var exited chan struct{}
	if err == nil {
		exited = x.exited
	}
	b.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// State reports the sandbox's run state.
func (b *Backend) State(_ context.Context, h backend.Handle) (backend.ExitState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, err := b.find(h)
	if err != nil {
		return backend.ExitState{}, err
	}
	return backend.ExitState{Running: x.running, ExitCode: x.exitCode, OOMKilled: x.oomKilled, StartedAt: x.startedAt}, nil
}

// Logs writes the sandbox's output as the interface says.
func (b *Backend) Logs(ctx context.Context, h backend.Handle, opts backend.LogOptions, stdout, stderr io.Writer) error {
	sent := 0
	for {
		b.mu.Lock()
		x, err := b.find(h)
		if err != nil {
			b.mu.Unlock()
			return err
		}
		var out []entry
		for _, e := range x.logs[sent:] {
			if !e.at.Before(opts.Since) {
				out = append(out, e)
			}
		}
		sent = len(x.logs)
		if opts.Tail > 0 && len(out) > opts.Tail {
			out = out[len(out)-opts.Tail:]
		}
		running, wake := x.running, x.wake
		b.mu.Unlock()
		for _, e := range out {
			w, text := stdout, e.text
			if e.stream == "stderr" {
				w = stderr
			}
			if opts.Timestamps {
				text = e.at.UTC().Format(time.RFC3339Nano) + " " + text
			}
			if _, err := io.WriteString(w, text); err != nil {
				return err
			}
		}
		if !opts.Follow || !running {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// Stats sends a sample every 100 ms while the sandbox runs.
func (b *Backend) Stats(ctx context.Context, h backend.Handle, sample func(backend.Stats)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		st, err := b.StatsOnce(ctx, h)
		if err != nil {
			return err
		}
		sample(st)
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// StatsOnce reads a made-up sample: 10 MiB used of the sandbox's memory cap.
func (b *Backend) StatsOnce(_ context.Context, h backend.Handle) (backend.Stats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	x, err := b.find(h)
	if err != nil {
		return backend.Stats{}, err
	}
	return backend.Stats{At: time.Now(), MemoryBytes: 10 << 20, MemoryLimit: uint64(x.caps.MemoryMB) << 20, Pids: 3,
		CPUSeconds: time.Since(x.startedAt).Seconds() / 100}, nil
}

// List lists every sandbox with its labels.
func (b *Backend) List(context.Context) ([]backend.Sandbox, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]backend.Sandbox, 0, len(b.boxes))
	for _, x := range b.boxes {
		s := x.spec
		out = append(out, backend.Sandbox{ID: x.id, Running: x.running, Created: x.created, Labels: map[string]string{
			backend.LabelManaged: "true", backend.LabelPreview: s.PreviewID, backend.LabelGeneration: s.GenerationID,
			backend.LabelOwner: s.Owner, backend.LabelRunner: s.RunnerID, backend.LabelPort: strconv.Itoa(s.Port),
			backend.LabelWarm: strconv.FormatBool(s.Warm),
		}})
	}
	return out, nil
}

// OOMEvents delivers the events OOM sends until ctx ends.
func (b *Backend) OOMEvents(ctx context.Context, oom func(id string)) error {
	for {
		select {
		case id := <-b.oom:
			oom(id)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// OOMKills cannot read a kernel's count.
func (b *Backend) OOMKills(context.Context, backend.Handle) (int64, bool) { return 0, false }

// ImageID makes an id of ref's name: every image exists.
func (b *Backend) ImageID(_ context.Context, ref string) (string, error) {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// ReadImageFile reads an empty file: the images have nothing installed.
func (b *Backend) ReadImageFile(context.Context, string, string) ([]byte, error) {
	return []byte{}, nil
}

// RunInstall refuses: the fake installs nothing.
func (b *Backend) RunInstall(context.Context, backend.InstallSpec, func(string)) error {
	return errors.New("the fake backend runs no installs")
}

// BuildImage refuses: the fake builds nothing.
func (b *Backend) BuildImage(context.Context, io.Reader, string, map[string]string, func(string)) error {
	return errors.New("the fake backend builds no images")
}
