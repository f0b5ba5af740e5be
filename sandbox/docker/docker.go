// Package docker is the Docker backend of previews: it turns neutral specs
// into containers, makes the engine calls, relays the pooled host ports to
// the shims' sockets, and keeps the per-preview run directories and the
// runtime images' unpacked trees on the engine's host.
package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/uuid"

	"github.com/previewd/previewd/sandbox/backend"
)

// Config configures the Docker backend.
type Config struct {
	RunnerID string // labels the scratch containers of image copies and installs
	// RunRoot is the host directory of the per-preview run directories,
	// which hold the shim's sockets.
	RunRoot string
	// TreeDir is where the runtime images' /usr trees are unpacked, to be
	// bind-mounted into their previews (see trees.go); empty reads every
	// file through the engine's storage driver.
	TreeDir string
	// Log receives what the backend's background work has to say; nil
	// discards it.
	Log *slog.Logger
}

// maxSocketPath is the longest unix socket path Linux accepts.
const maxSocketPath = 107

// Backend runs previews as Docker containers. This file holds its engine
// calls; backend.go implements backend.Backend with them.
type Backend struct {
	c      *client.Client
	cfg    Config
	log    *slog.Logger
	trees  *trees // nil without a TreeDir
	roots  rootModes
	base   context.Context // ends at Close: background unpacks
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ backend.Backend = (*Backend)(nil)

// New connects to the engine named by the environment (DOCKER_HOST, or the
// local socket), negotiating the API version down to what the engine speaks.
func New(cfg Config) (*Backend, error) {
	return newBackend(cfg, client.FromEnv, client.WithAPIVersionNegotiation())
}

// NewAt connects to the engine at host, a DOCKER_HOST value such as
// unix:///var/run/docker.sock.
func NewAt(host string, cfg Config) (*Backend, error) {
	return newBackend(cfg, client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
}

func newBackend(cfg Config, opts ...client.Opt) (*Backend, error) {
	if cfg.RunRoot != "" {
		// A unix socket path holds at most 107 bytes; the shim's sockets
		// sit at RunRoot/<preview id>/control.sock.
		if n := len(filepath.Join(cfg.RunRoot, uuid.NewString(), controlSocket)); n > maxSocketPath {
			return nil, fmt.Errorf("run directory %q is too long for unix socket paths (%d bytes, at most %d)", cfg.RunRoot, n, maxSocketPath)
		}
		if err := os.MkdirAll(cfg.RunRoot, 0o711); err != nil {
			return nil, fmt.Errorf("create run directory: %w", err)
		}
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Backend{c: c, cfg: cfg, log: log}
	b.base, b.cancel = context.WithCancel(context.Background())
	if cfg.TreeDir != "" {
		b.trees = newTrees(cfg.TreeDir, b, log)
	}
	return b, nil
}

// Close waits for the background unpacks of trees (they end) and releases
// the client's connections.
func (d *Backend) Close() error {
	d.cancel()
	d.wg.Wait()
	return d.c.Close()
}

// shortCall bounds a request/response engine call; streaming calls use the
// caller's context instead.
const shortCall = 30 * time.Second

// Ping checks that the engine answers.
func (d *Backend) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := d.c.Ping(ctx)
	return engineErr(err)
}

// create creates a container and returns its id. The create is not
// cancelled with ctx: the engine would go on creating a container whose id
// the caller never learns, and so never removes; a cancelled caller gets the
// id, and its next call fails.
func (d *Backend) create(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shortCall)
	defer cancel()
	resp, err := d.c.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		if name == "" {
			return "", fmt.Errorf("create container: %w", engineErr(err))
		}
		return "", fmt.Errorf("create container %s: %w", name, engineErr(err))
	}
	return resp.ID, nil
}

// start starts a created container.
func (d *Backend) start(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	if err := d.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", id, engineErr(err))
	}
	return nil
}

// updateCaps changes a running container's caps; zero fields stay as they are.
func (d *Backend) updateCaps(ctx context.Context, id string, caps backend.Caps) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	var r container.Resources
	if caps.MemoryMB > 0 {
		r.Memory = int64(caps.MemoryMB) << 20
		r.MemorySwap = r.Memory
	}
	if caps.Pids > 0 {
		pids := int64(caps.Pids)
		r.PidsLimit = &pids
	}
	r.NanoCPUs = int64(caps.CPUs * 1e9)
	if _, err := d.c.ContainerUpdate(ctx, id, container.UpdateConfig{Resources: r}); err != nil {
		return fmt.Errorf("update caps of container %s: %w", id, engineErr(err))
	}
	return nil
}

// OOMEvents calls oom with the id of each previewd container in which the
// kernel killed a process for memory, until ctx ends or the event stream
// fails (for instance when the engine restarts).
func (d *Backend) OOMEvents(ctx context.Context, oom func(containerID string)) error {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("event", string(events.ActionOOM)),
		filters.Arg("label", backend.LabelManaged+"=true"),
	)
	msgs, errs := d.c.Events(ctx, events.ListOptions{Filters: f})
	for {
		select {
		case msg := <-msgs:
			oom(msg.Actor.ID)
		case err := <-errs:
			return engineErr(err)
		}
	}
}

// Teardown stops a container (SIGTERM, then SIGKILL after grace) and removes it.
// It is safe to repeat: a container that is already stopped or gone counts as
// done.
func (d *Backend) Teardown(ctx context.Context, id string, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	secs := int(grace.Seconds())
	var errs []error
	if err := d.c.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); !isGone(err) {
		errs = append(errs, fmt.Errorf("stop container %s: %w", id, engineErr(err)))
	}
	if err := d.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); !isGone(err) {
		errs = append(errs, fmt.Errorf("remove container %s: %w", id, engineErr(err)))
	}
	return errors.Join(errs...)
}

// containerState is a container's run state as the engine reports it.
type containerState struct {
	backend.ExitState
	Pid int // of the container's first process, on the host; 0 when not running
}

// inspect reads a container's run state.
func (d *Backend) inspect(ctx context.Context, id string) (containerState, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	info, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return containerState{}, fmt.Errorf("inspect container %s: %w", id, engineErr(err))
	}
	if info.State == nil {
		return containerState{}, fmt.Errorf("inspect container %s: no state", id)
	}
	return containerState{
		ExitState: backend.ExitState{
			Running:   info.State.Running,
			ExitCode:  info.State.ExitCode,
			OOMKilled: info.State.OOMKilled,
			Error:     info.State.Error,
			StartedAt: startedAt(info.State.StartedAt),
		},
		Pid: info.State.Pid,
	}, nil
}

// startedAt parses the engine's start time; zero when it has none.
func startedAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// waitContainer returns a channel that receives the container's exit code
// once it is no longer running, or an error. It ends when ctx ends.
func (d *Backend) waitContainer(ctx context.Context, id string) (<-chan container.WaitResponse, <-chan error) {
	return d.c.ContainerWait(ctx, id, container.WaitConditionNotRunning)
}

// streamStats streams resource samples (about one a second) until ctx ends.
// CPU use is measured between a sample and the one before.
func (d *Backend) streamStats(ctx context.Context, id string, sample func(backend.Stats)) error {
	resp, err := d.c.ContainerStats(ctx, id, true)
	if err != nil {
		return fmt.Errorf("stats of container %s: %w", id, engineErr(err))
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	var prev *container.StatsResponse
	for {
		var s container.StatsResponse
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read stats of container %s: %w", id, err)
		}
		sample(statsFrom(s, prev))
		prev = &s
	}
}

// statsOnce reads one resource sample at once. It has no precpu: CPU use
// needs two of them.
func (d *Backend) statsOnce(ctx context.Context, id string) (backend.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	resp, err := d.c.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return backend.Stats{}, fmt.Errorf("stats of container %s: %w", id, engineErr(err))
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return backend.Stats{}, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	return statsFrom(s, nil), nil
}

// Managed lists every preview container (running or not), of every runner.
func (d *Backend) Managed(ctx context.Context) ([]backend.Sandbox, error) {
	return d.listLabelled(ctx, "true")
}

// managedScratch is the backend.LabelManaged value of the containers of image
// copies and installs.
const managedScratch = "scratch"

// Scratch lists the scratch containers of CopyFromImage and of installs, of
// every runner.
func (d *Backend) Scratch(ctx context.Context) ([]backend.Sandbox, error) {
	return d.listLabelled(ctx, managedScratch)
}

func (d *Backend) listLabelled(ctx context.Context, managed string) ([]backend.Sandbox, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	list, err := d.c.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", backend.LabelManaged+"="+managed)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", engineErr(err))
	}
	out := make([]backend.Sandbox, len(list))
	for i, c := range list {
		out[i] = backend.Sandbox{ID: c.ID, Labels: c.Labels, Running: c.State == "running", Created: time.Unix(c.Created, 0)}
	}
	return out, nil
}

// ImageID returns the id of an image, or an error satisfying
// errors.Is(err, backend.ErrNotFound).
func (d *Backend) ImageID(ctx context.Context, ref string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	img, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, engineErr(err))
	}
	return img.ID, nil
}

// ReadImageFile reads one file out of an image without running it.
func (d *Backend) ReadImageFile(ctx context.Context, image, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	var b []byte
	err := d.CopyFromImage(ctx, image, path, func(r io.Reader) (err error) {
		b, err = firstTarFile(r)
		return err
	})
	return b, err
}

// CopyFromImage hands read a tar archive of path in image, without running
// the image: it creates a scratch container (never started), copies from it
// and removes it again.
func (d *Backend) CopyFromImage(ctx context.Context, image, path string, read func(io.Reader) error) error {
	labels := map[string]string{backend.LabelManaged: managedScratch, backend.LabelRunner: d.cfg.RunnerID}
	id, err := d.create(ctx, "", &container.Config{Image: image, Entrypoint: []string{"/bin/true"}, Labels: labels}, nil)
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", path, image, err)
	}
	defer d.c.ContainerRemove(context.WithoutCancel(ctx), id, container.RemoveOptions{Force: true})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("read %s from %s: %w", path, image, err)
	}
	rc, _, err := d.c.CopyFromContainer(ctx, id, path)
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", path, image, engineErr(err))
	}
	defer rc.Close()
	if err := read(rc); err != nil {
		return fmt.Errorf("read %s from %s: %w", path, image, err)
	}
	return nil
}

// BuildImage builds an image from a tar build context, calling line for
// every line of build output. A failed step is returned as an error carrying
// the engine's message; its output has already gone to line.
func (d *Backend) BuildImage(ctx context.Context, buildContext io.Reader, tag string, labels map[string]string, line func(string)) error {
	resp, err := d.c.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags: []string{tag}, Labels: labels, Remove: true, ForceRemove: true, PullParent: false,
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, engineErr(err))
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("build image %s: read output: %w", tag, err)
		}
		if msg.Stream != "" {
			sc := bufio.NewScanner(strings.NewReader(msg.Stream))
			for sc.Scan() {
				if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
					line(l)
				}
			}
		}
		if msg.Error != "" {
			line(msg.Error)
			return fmt.Errorf("build image %s: %s", tag, msg.Error)
		}
	}
}

// logs copies a container's log as opts says, stdout and stderr kept apart,
// until the stream ends or ctx ends. A follow stream ends when the container
// stops, and on Docker 20.10 also at some rotations of the engine's json log
// while it runs.
func (d *Backend) logs(ctx context.Context, id string, o backend.LogOptions, stdout, stderr io.Writer) error {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: o.Follow, Timestamps: o.Timestamps}
	if !o.Since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", o.Since.Unix(), o.Since.Nanosecond())
	}
	if o.Tail > 0 {
		opts.Tail = strconv.Itoa(o.Tail)
	}
	rc, err := d.c.ContainerLogs(ctx, id, opts)
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", id, engineErr(err))
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read logs of container %s: %w", id, err)
	}
	return nil
}

// stopContainer stops a running container (SIGTERM, then SIGKILL after
// grace) and leaves it in place; a container that is already stopped or
// gone counts as stopped.
func (d *Backend) stopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	secs := int(grace.Seconds())
	if err := d.c.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); !isGone(err) {
		return fmt.Errorf("stop container %s: %w", id, engineErr(err))
	}
	return nil
}

// StorageDriver is the name of the engine's storage driver (overlay2,
// fuse-overlayfs, ...).
func (d *Backend) StorageDriver(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	info, err := d.c.Info(ctx)
	if err != nil {
		return "", engineErr(err)
	}
	return info.Driver, nil
}

// WritableLayer is the storage driver of container id and, for the overlay
// drivers, the host directory of its writable layer.
func (d *Backend) WritableLayer(ctx context.Context, id string) (driver, upperDir string, err error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	info, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return "", "", fmt.Errorf("inspect container %s: %w", id, engineErr(err))
	}
	return info.GraphDriver.Name, info.GraphDriver.Data["UpperDir"], nil // a nil map reads as ""
}
