package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// Docker makes the engine calls previewd needs, and nothing else.
type Docker struct {
	c *client.Client
	// runner labels the scratch containers CopyFromImage creates, so that
	// the next start of the same runner can remove those a killed process
	// left (see Manager.sweepScratch). NewManager sets it.
	runner string
}

// NewDocker connects to the engine named by the environment (DOCKER_HOST, or the
// local socket), negotiating the API version down to what the engine speaks.
func NewDocker() (*Docker, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Docker{c: c}, nil
}

// NewDockerAt connects to the engine at host, a DOCKER_HOST value such as
// unix:///var/run/docker.sock.
func NewDockerAt(host string) (*Docker, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Docker{c: c}, nil
}

// Close releases the client's connections.
func (d *Docker) Close() error { return d.c.Close() }

// shortCall bounds a request/response engine call; streaming calls use the
// caller's context instead.
const shortCall = 30 * time.Second

// Ping checks that the engine answers.
func (d *Docker) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := d.c.Ping(ctx)
	return engineErr(err)
}

// Create creates a container and returns its id. The create is not
// cancelled with ctx: the engine would go on creating a container whose id
// the caller never learns, and so never removes; a cancelled caller gets the
// id, and its next call fails.
func (d *Docker) Create(ctx context.Context, name string, cfg *container.Config, host *container.HostConfig) (string, error) {
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

// Start starts a created container.
func (d *Docker) Start(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	if err := d.c.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", id, engineErr(err))
	}
	return nil
}

// SetCaps changes a running container's memory, CPU and pids caps.
func (d *Docker) SetCaps(ctx context.Context, id string, caps Caps) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	memory := int64(caps.MemoryMB) << 20
	pids := int64(caps.Pids)
	_, err := d.c.ContainerUpdate(ctx, id, container.UpdateConfig{Resources: container.Resources{
		Memory: memory, MemorySwap: memory, NanoCPUs: int64(caps.CPUs * 1e9), PidsLimit: &pids,
	}})
	if err != nil {
		return fmt.Errorf("update caps of container %s: %w", id, engineErr(err))
	}
	return nil
}

// SetCPUs changes a running container's CPU cap.
func (d *Docker) SetCPUs(ctx context.Context, id string, cpus float64) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	_, err := d.c.ContainerUpdate(ctx, id, container.UpdateConfig{Resources: container.Resources{NanoCPUs: int64(cpus * 1e9)}})
	if err != nil {
		return fmt.Errorf("update cpu cap of container %s: %w", id, engineErr(err))
	}
	return nil
}

// OOMEvents calls oom with the id of each previewd container in which the
// kernel killed a process for memory, until ctx ends or the event stream
// fails (for instance when the engine restarts).
func (d *Docker) OOMEvents(ctx context.Context, oom func(containerID string)) error {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("event", string(events.ActionOOM)),
		filters.Arg("label", LabelManaged+"=true"),
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
func (d *Docker) Teardown(ctx context.Context, id string, grace time.Duration) error {
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

// ExitState is how a container ended (or that it still runs).
type ExitState struct {
	Running   bool
	ExitCode  int
	OOMKilled bool
	Error     string
	Pid       int // of the container's first process, on the host; 0 when not running
	StartedAt time.Time
}

// State inspects a container's run state.
func (d *Docker) State(ctx context.Context, id string) (ExitState, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	info, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return ExitState{}, fmt.Errorf("inspect container %s: %w", id, engineErr(err))
	}
	if info.State == nil {
		return ExitState{}, fmt.Errorf("inspect container %s: no state", id)
	}
	return ExitState{
		Running:   info.State.Running,
		ExitCode:  info.State.ExitCode,
		OOMKilled: info.State.OOMKilled,
		Error:     info.State.Error,
		Pid:       info.State.Pid,
		StartedAt: startedAt(info.State.StartedAt),
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

// Wait returns a channel that receives the container's exit code once it is no
// longer running, or an error. It ends when ctx ends.
func (d *Docker) Wait(ctx context.Context, id string) (<-chan container.WaitResponse, <-chan error) {
	return d.c.ContainerWait(ctx, id, container.WaitConditionNotRunning)
}

// LogTail returns the last n lines the container printed, stdout and stderr
// interleaved as the engine stored them.
func (d *Docker) LogTail(ctx context.Context, id string, n int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := d.c.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n),
	})
	if err != nil {
		return nil, fmt.Errorf("logs of container %s: %w", id, engineErr(err))
	}
	defer rc.Close()
	var buf bytes.Buffer
	// Both streams go into one buffer: a log tail reads best in printed order.
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return nil, fmt.Errorf("read logs of container %s: %w", id, err)
	}
	return lastLines(buf.String(), n), nil
}

// Stats streams resource samples (about one a second) until ctx ends.
func (d *Docker) Stats(ctx context.Context, id string, sample func(container.StatsResponse)) error {
	resp, err := d.c.ContainerStats(ctx, id, true)
	if err != nil {
		return fmt.Errorf("stats of container %s: %w", id, engineErr(err))
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var s container.StatsResponse
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read stats of container %s: %w", id, err)
		}
		sample(s)
	}
}

// StatsOnce reads one resource sample at once. It has no precpu: CPU use
// needs two of them.
func (d *Docker) StatsOnce(ctx context.Context, id string) (container.StatsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	resp, err := d.c.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return container.StatsResponse{}, fmt.Errorf("stats of container %s: %w", id, engineErr(err))
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return container.StatsResponse{}, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	return s, nil
}

// Managed lists every container (running or not) carrying LabelManaged.
func (d *Docker) Managed(ctx context.Context) ([]container.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	list, err := d.c.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true")),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", engineErr(err))
	}
	return list, nil
}

// managedScratch is the LabelManaged value of CopyFromImage's containers.
const managedScratch = "scratch"

// Scratch lists the scratch containers of CopyFromImage, of every runner.
func (d *Docker) Scratch(ctx context.Context) ([]container.Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	list, err := d.c.ContainerList(ctx, container.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"="+managedScratch)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", engineErr(err))
	}
	return list, nil
}

// ImageID returns the id of an image, or an error satisfying errdefs.IsNotFound.
func (d *Docker) ImageID(ctx context.Context, ref string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	img, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, engineErr(err))
	}
	return img.ID, nil
}

// ReadImageFile reads one file out of an image without running it.
func (d *Docker) ReadImageFile(ctx context.Context, image, path string) ([]byte, error) {
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
func (d *Docker) CopyFromImage(ctx context.Context, image, path string, read func(io.Reader) error) error {
	labels := map[string]string{LabelManaged: managedScratch, LabelRunner: d.runner}
	id, err := d.Create(ctx, "", &container.Config{Image: image, Entrypoint: []string{"/bin/true"}, Labels: labels}, nil)
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

// Build builds an image from a tar build context, calling line for every line of
// build output. A failed step is returned as an error carrying the engine's
// message; its output has already gone to line.
func (d *Docker) Build(ctx context.Context, buildContext io.Reader, tag string, labels map[string]string, line func(string)) error {
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

// lastLines returns up to n last lines of text, without a trailing empty line.
func lastLines(text string, n int) []string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return []string{}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// FollowLogs copies a container's log from since (from its start when since is
// zero), stdout and stderr kept apart, until the follow stream ends or ctx
// ends. The stream ends when the container stops, and on Docker 20.10 also
// at some rotations of the engine's json log while it runs. Each entry of the
// engine's log comes in one Write, "<time> <text>": the engine's RFC 3339
// time with nanoseconds, a space, and a line with its newline or a part of a
// longer line.
func (d *Docker) FollowLogs(ctx context.Context, id string, since time.Time, stdout, stderr io.Writer) error {
	return d.copyLogs(ctx, id, since, true, stdout, stderr)
}

// Logs is FollowLogs without following: it copies what the engine has now.
func (d *Docker) Logs(ctx context.Context, id string, since time.Time, stdout, stderr io.Writer) error {
	return d.copyLogs(ctx, id, since, false, stdout, stderr)
}

// LastLog copies the newest entry of a container's log, as FollowLogs does.
func (d *Docker) LastLog(ctx context.Context, id string, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	return d.copyLogsOpts(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Tail: "1"}, stdout, stderr)
}

func (d *Docker) copyLogs(ctx context.Context, id string, since time.Time, follow bool, stdout, stderr io.Writer) error {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Timestamps: true}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	return d.copyLogsOpts(ctx, id, opts, stdout, stderr)
}

func (d *Docker) copyLogsOpts(ctx context.Context, id string, opts container.LogsOptions, stdout, stderr io.Writer) error {
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

// Stop stops a running container (SIGTERM, then SIGKILL after grace) and
// leaves it in place; a container that is already stopped or gone counts as
// stopped.
func (d *Docker) Stop(ctx context.Context, id string, grace time.Duration) error {
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
func (d *Docker) StorageDriver(ctx context.Context) (string, error) {
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
func (d *Docker) WritableLayer(ctx context.Context, id string) (driver, upperDir string, err error) {
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	info, err := d.c.ContainerInspect(ctx, id)
	if err != nil {
		return "", "", fmt.Errorf("inspect container %s: %w", id, engineErr(err))
	}
	return info.GraphDriver.Name, info.GraphDriver.Data["UpperDir"], nil // a nil map reads as ""
}
