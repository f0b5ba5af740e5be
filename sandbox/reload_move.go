package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/cause"
)

// ReloadNewContainer: the new revision needs other packages than the
// serving one's image has; it runs in a new container built for them, on
// the same port, URLs, session and log.
const ReloadNewContainer = "new_container"

// move carries out an update whose revision needs another image (its
// dependencies changed): the dependency image is built, the new revision
// starts in a new container of the preview beside the serving one, and the
// preview's port moves to it once its app answers HTTP; then the old
// container stops. A build or a new version that fails leaves the old
// container serving and returns a *LaunchError naming the revision. The
// new container never outlives a failure. in.reloadMu is held.
func (m *Manager) move(in *instance, g db.Generation, up *update, start time.Time) (Reloaded, error) {
	ctx := in.ctx
	id, rev, from := in.rec.ID, g.Revision, in.rec.Revision
	logs := in.logs.Load()
	if err := m.records.SetPreviewReloading(ctx, id, rev); err != nil {
		return Reloaded{}, err
	}
	// The orphan sweep leaves the preview's other container alone until
	// the move has removed the one it does not keep.
	in.moving.Store(true)
	defer in.moving.Store(false)
	logs.system("revision %d: its dependencies differ from revision %d's; building them, then starting it in a new container while revision %d keeps serving", rev, from, from)
	timings := db.Timings{}

	t := time.Now()
	buildCtx, cancelBuild := context.WithTimeout(ctx, 2*m.cfg.Deps.timeout()+time.Minute)
	caps := Caps{MemoryMB: in.rec.MemoryMB, CPUs: in.rec.CPUs, Pids: in.rec.Pids}
	image, rt, err := m.images.imageFor(buildCtx, m.cfg.Images, up.plan, up.files, caps, logs.build)
	cancelBuild()
	if err != nil {
		var le *LaunchError
		if !errors.As(err, &le) {
			return Reloaded{}, m.moveBroke(in, rev, fmt.Errorf("build the dependency image: %w", err))
		}
		le.build = true
		return Reloaded{}, m.moveFailed(in, rev, from, le, le.LogTail, up, start)
	}
	timings["build"] = time.Since(t).Milliseconds()

	next, err := m.startNext(in, up, image, timings)
	if next.id != "" {
		// Unless the preview moved to it, the new container goes.
		defer func() {
			if in.container() != next.id {
				m.removeNext(in, next)
			}
		}()
	}
	if err != nil {
		if in.ctx.Err() != nil || in.stopping.Load() {
			_ = m.records.EndReload(context.WithoutCancel(ctx), id)
			return Reloaded{}, ErrStoppedWhileStarting
		}
		var le *LaunchError
		if !errors.As(err, &le) {
			return Reloaded{}, m.moveBroke(in, rev, err)
		}
		var output []string
		if next.id != "" {
			if tail, err := m.logTail(context.WithoutCancel(ctx), next.handle(in), causeLines); err == nil {
				output = tail
			}
			if st, err := m.backend.State(context.WithoutCancel(ctx), next.handle(in)); err == nil && !st.Running {
				code := st.ExitCode
				le.ExitCode, le.OOMKilled = &code, st.OOMKilled
			}
		}
		// The log follows the serving container; the new one's last words
		// are said in it.
		for _, line := range output[max(0, len(output)-newContainerLines):] {
			logs.system("revision %d (new container): %s", rev, line)
		}
		return Reloaded{}, m.moveFailed(in, rev, from, le, output, up, start)
	}

	old := in.handle()
	if err := m.records.SetPreviewContainer(context.WithoutCancel(ctx), id, next.id, image, rt); err != nil {
		return Reloaded{}, m.moveBroke(in, rev, err)
	}
	in.oomBase.Store(in.oomKills.Load()) // the kernel counts per container
	in.setContainer(next.id, next.slot)
	in.forward.Switch(next.handle(in))
	if in.ctx.Err() != nil {
		// Stopped meanwhile: its teardown may have looked for the old
		// container only. (One that looks after this check finds the new.)
		m.removeNext(in, next)
		return Reloaded{}, ErrStoppedWhileStarting
	}
	in.rec.Revision = rev
	if err := m.records.RecordReload(context.WithoutCancel(ctx), id, rev); err != nil {
		m.log.Error("record reload", "preview_id", id, "err", err)
	}
	timings["total"] = time.Since(start).Milliseconds()
	logs.system("revision %d live in %d ms (new container: build %d ms, start %d ms, healthy %d ms)",
		rev, timings["total"], timings["build"], timings["start"], timings["healthy"])
	m.metrics.reloadFinished(in.framework, "success", time.Since(start))

	// The old container stops (its shim lets the requests in flight
	// finish), its output is read to the end, and the log follows the new
	// one from its start.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.StopGrace+30*time.Second)
	defer cancel()
	if err := m.backend.Stop(stopCtx, old, m.cfg.StopGrace); err != nil {
		m.log.Warn("stop the container a preview moved from", "preview_id", id, "err", err)
	}
	logs.reattach(next.handle(in), next.started)
	if err := m.backend.Remove(stopCtx, old, 0); err != nil {
		m.log.Error("remove the container a preview moved from", "preview_id", id, "err", err)
	}
	logs.flush(logFlushWait)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.watchStats(in)
	}()
	if m.boosted(in.rec.CPUs) {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.dropBoost(in)
		}()
	}
	p, err := m.records.Preview(ctx, id)
	return Reloaded{Preview: p, Mode: ReloadNewContainer, Timings: timings}, err
}

// newContainerLines is how many of a failed new container's last lines go
// into the preview's log.
const newContainerLines = 20

// nextBox is the container a preview is moving to.
type nextBox struct {
	id      string
	slot    int
	started time.Time
}

func (n nextBox) handle(in *instance) backend.Handle {
	return backend.Handle{ID: n.id, PreviewID: in.rec.ID, Port: in.rec.Port, Slot: n.slot}
}

// startNext creates and starts the next container of in from image, hands
// it the new revision's files, starts its app and waits until the app
// answers HTTP through the container's own socket (the preview's port
// still relays to the serving container). The returned nextBox names what
// was created, also on failure; an app that exits or does not answer in
// time is a *LaunchError.
func (m *Manager) startNext(in *instance, up *update, image string, timings db.Timings) (nextBox, error) {
	ctx, cancel := context.WithTimeout(in.ctx, m.cfg.StartTimeout)
	defer cancel()
	cur := in.box.Load()
	next := nextBox{slot: cur.slot + 1}
	spec := m.spec(in, image)
	spec.Slot, spec.Warm = next.slot, false
	spec.GenerationID, spec.Owner = in.rec.GenerationID, in.rec.Owner
	t := time.Now()
	id, err := m.backend.Create(ctx, spec)
	next.id = id
	if err != nil {
		return next, err
	}
	h := next.handle(in)
	next.started = time.Now()
	if err := m.backend.Start(ctx, h); err != nil {
		return next, err
	}
	exited := make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.watchExitOf(in, h, exited) // a crash once it serves is the preview's
	}()
	shim := newShimClient(m.backend.Control(h))
	if err := shim.waitReady(ctx, exited); err != nil {
		if isExit(exited) {
			return next, &LaunchError{PreviewID: in.rec.ID, Reason: "the new container exited before its shim came up"}
		}
		return next, err
	}
	if err := m.backend.Seal(ctx, h); err != nil {
		return next, err
	}
	if err := putAppFiles(ctx, shim, in, up.appFiles); err != nil {
		return next, err
	}
	if err := shim.start(ctx, up.plan.Command, appEnv(up.plan, in.env)); err != nil {
		return next, &LaunchError{PreviewID: in.rec.ID, Reason: "could not start the app: " + err.Error()}
	}
	timings["start"] = time.Since(t).Milliseconds()
	t = time.Now()
	if err := m.waitAnswers(ctx, in, m.backend.App(h), exited); err != nil {
		return next, err
	}
	timings["healthy"] = time.Since(t).Milliseconds()
	return next, nil
}

func isExit(exited <-chan struct{}) bool {
	select {
	case <-exited:
		return true
	default:
		return false
	}
}

// waitAnswers polls the app through dial until it answers HTTP with any
// status, the container exits (exited closes), or ctx ends; as waitHealthy
// does through the port.
func (m *Manager) waitAnswers(ctx context.Context, in *instance, dial backend.Dialer, exited <-chan struct{}) error {
	client := &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		},
		Timeout: 2 * time.Second,
	}
	return m.pollAnswers(ctx, in, client, "http://app/", exited)
}

// removeNext removes the container a preview was moving to.
func (m *Manager) removeNext(in *instance, next nextBox) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(in.ctx), 30*time.Second)
	defer cancel()
	if err := m.backend.Remove(ctx, next.handle(in), 0); err != nil {
		m.log.Error("remove the new container of a failed reload", "preview_id", in.rec.ID, "container_id", next.id, "err", err)
	}
}

// moveFailed records a move whose build or new version failed: the
// failure is recorded and returned as le, naming the revision; output is
// what the install or the new container printed.
func (m *Manager) moveFailed(in *instance, rev, from int, le *LaunchError, output []string, up *update, start time.Time) error {
	ctx := context.WithoutCancel(in.ctx)
	le.PreviewID, le.Revision = in.rec.ID, rev
	facts := cause.Facts{TimedOut: le.timedOut, BuildFailed: le.build, ExitCode: le.ExitCode, Sources: (&prepared{appFiles: up.appFiles}).sources()}
	if le.conflict {
		facts.Conflict = le.Reason
	}
	le.Reason = fmt.Sprintf("revision %d: %s", rev, le.Reason)
	if len(output) > 0 {
		le.LogTail = output[max(0, len(output)-logTailLines):]
	}
	if le.LogTail == nil {
		le.LogTail = []string{}
	}
	var fin db.Finish
	le.Cause = m.diagnose(in, &fin, facts, output)
	if err := m.records.RecordReloadFailure(ctx, in.rec.ID, db.ReloadFailure{Revision: rev, Error: le.Reason, ExitCode: le.ExitCode, Cause: fin.Cause}); err != nil {
		m.log.Error("record failed reload", "preview_id", in.rec.ID, "err", err)
	}
	result := "timeout"
	switch {
	case le.build:
		result = "build"
	case le.ExitCode != nil:
		result = "crash"
	}
	logs := in.logs.Load()
	logs.system("revision %d failed after %d ms: %s; revision %d keeps serving", rev, time.Since(start).Milliseconds(), le.Reason, from)
	logs.flush(logFlushWait)
	m.metrics.reloadFinished(in.framework, result, time.Since(start))
	return le
}

// moveBroke handles a move that previewd could not carry out (the engine
// or the database failed, not the app); the old container keeps serving.
func (m *Manager) moveBroke(in *instance, rev int, err error) error {
	m.log.Error("reload to a new container failed", "preview_id", in.rec.ID, "revision", rev, "err", err)
	if err := m.records.EndReload(context.WithoutCancel(in.ctx), in.rec.ID); err != nil {
		m.log.Error("end reload", "preview_id", in.rec.ID, "err", err)
	}
	in.logs.Load().system("revision %d could not be applied (internal error); the running app is unchanged", rev)
	m.metrics.reloadFinished(in.framework, "error", 0)
	return err
}
