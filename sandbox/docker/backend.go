package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// Socket names inside a preview's run directory, served by cmd/previewshim.
const (
	controlSocket = "control.sock"
	appSocket     = "app.sock"
)

// runDir is the host directory of the shim sockets of a preview's sandbox
// in slot.
func (d *Backend) runDir(previewID string, slot int) string {
	return filepath.Join(d.cfg.RunRoot, previewID+slotSuffix(slot))
}

// containerOf is the container of h: by id, or by name when the id never
// came back from the create.
func (d *Backend) containerOf(h backend.Handle) string {
	if h.ID != "" {
		return h.ID
	}
	return ContainerName(h.PreviewID) + slotSuffix(h.Slot)
}

// Create makes the preview's run directory, open to its uid, and creates
// its container from the image's unpacked tree when there is one. A create
// before Prepare asks the engine for its storage driver itself.
func (d *Backend) Create(ctx context.Context, s backend.Spec) (string, error) {
	d.roots.detect(ctx, d) // an error leaves the root directory as it is; Prepare reports it
	dir := d.runDir(s.PreviewID, s.Slot)
	if err := makeRunDir(dir, backend.SandboxUID(s.Port)); err != nil {
		return "", err
	}
	from, binds := d.withTree(ctx, s.Image, s.RuntimeImage)
	s.Image = from
	cfg, host := containerConfig(containerSpec{Spec: s, RunDir: dir, Binds: binds})
	id, err := d.create(ctx, ContainerName(s.PreviewID)+slotSuffix(s.Slot), cfg, host)
	if err != nil {
		return "", err
	}
	d.roots.clearGroupBits(ctx, d, id, d.log)
	return id, nil
}

// Start opens the run directory to the preview's uid again (a restarted
// shim makes its sockets afresh) and starts the container.
func (d *Backend) Start(ctx context.Context, h backend.Handle) error {
	if err := makeRunDir(d.runDir(h.PreviewID, h.Slot), backend.SandboxUID(h.Port)); err != nil {
		return err
	}
	return d.start(ctx, d.containerOf(h))
}

// Seal closes the run directory to the preview (see rundir.go).
func (d *Backend) Seal(_ context.Context, h backend.Handle) error {
	return sealRunDir(d.runDir(h.PreviewID, h.Slot), backend.SandboxUID(h.Port))
}

// Control dials the shim's control socket.
func (d *Backend) Control(h backend.Handle) backend.Dialer {
	sock := filepath.Join(d.runDir(h.PreviewID, h.Slot), controlSocket)
	return func(ctx context.Context) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", sock)
	}
}

// Forward relays the pooled port to the shim's app socket.
func (d *Backend) Forward(l *net.TCPListener, h backend.Handle) backend.Forwarder {
	f := newForwarder(l, d.appSocket(h))
	f.socketOf = d.appSocket
	return f
}

// App dials the shim's app socket.
func (d *Backend) App(h backend.Handle) backend.Dialer {
	sock := d.appSocket(h)
	return func(ctx context.Context) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", sock)
	}
}

func (d *Backend) appSocket(h backend.Handle) string {
	return filepath.Join(d.runDir(h.PreviewID, h.Slot), appSocket)
}

// SetCaps changes a running container's caps.
func (d *Backend) SetCaps(ctx context.Context, h backend.Handle, caps backend.Caps) error {
	return d.updateCaps(ctx, d.containerOf(h), caps)
}

// Stop stops the container and leaves it in place.
func (d *Backend) Stop(ctx context.Context, h backend.Handle, grace time.Duration) error {
	return d.stopContainer(ctx, d.containerOf(h), grace)
}

// Remove removes the container and the preview's run directory.
func (d *Backend) Remove(ctx context.Context, h backend.Handle, grace time.Duration) error {
	err := d.Teardown(ctx, d.containerOf(h), grace)
	if h.PreviewID != "" {
		removeRunDir(d.runDir(h.PreviewID, h.Slot))
	}
	return err
}

// Logs copies the container's log.
func (d *Backend) Logs(ctx context.Context, h backend.Handle, opts backend.LogOptions, stdout, stderr io.Writer) error {
	return d.logs(ctx, d.containerOf(h), opts, stdout, stderr)
}

// Wait waits until the container no longer runs.
func (d *Backend) Wait(ctx context.Context, h backend.Handle) error {
	respC, errC := d.waitContainer(ctx, d.containerOf(h))
	select {
	case <-respC:
		return nil
	case err := <-errC:
		return engineErr(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// State inspects the container's run state.
func (d *Backend) State(ctx context.Context, h backend.Handle) (backend.ExitState, error) {
	st, err := d.inspect(ctx, d.containerOf(h))
	return st.ExitState, err
}

// Stats streams the container's resource samples.
func (d *Backend) Stats(ctx context.Context, h backend.Handle, sample func(backend.Stats)) error {
	return d.streamStats(ctx, d.containerOf(h), sample)
}

// StatsOnce reads one resource sample of the container.
func (d *Backend) StatsOnce(ctx context.Context, h backend.Handle) (backend.Stats, error) {
	return d.statsOnce(ctx, d.containerOf(h))
}

// List lists the preview containers of every runner.
func (d *Backend) List(ctx context.Context) ([]backend.Sandbox, error) { return d.Managed(ctx) }

// staleScratch is how old another runner's scratch container must be before
// any previewd removes it: one lives for the seconds of a copy.
const staleScratch = time.Hour

// Sweep removes the scratch containers (see CopyFromImage) that a previewd
// killed during a copy or an install left behind: this runner's made before
// started, and any runner's once stale.
func (d *Backend) Sweep(ctx context.Context, started, now time.Time) error {
	list, err := d.Scratch(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range list {
		// Created is in whole seconds: one made in the starter's first
		// second is left for the stale rule.
		leftover := c.Labels[backend.LabelRunner] == d.cfg.RunnerID && c.Created.Before(started.Truncate(time.Second))
		if !leftover && now.Sub(c.Created) < staleScratch {
			continue
		}
		if err := d.Teardown(ctx, c.ID, 0); err != nil {
			errs = append(errs, err)
			continue
		}
		d.log.Info("removed a scratch container left by an earlier run", "container_id", c.ID, "runner_id", c.Labels[backend.LabelRunner])
	}
	return errors.Join(errs...)
}
