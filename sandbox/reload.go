package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/cause"
	"github.com/previewd/previewd/sandbox/framework"
)

// How a change reached a generation's preview, as the answer to the change
// names it.
const (
	// ReloadInPlace: the running container serves the new revision; its
	// port, URLs, session and log are the same.
	ReloadInPlace = "in_place"
	// ReloadFilesOnly: the revision was stored and no running app changed
	// (none runs here, or the change needs another runtime); the next
	// launch runs it.
	ReloadFilesOnly = "files_only"
)

// ReloadRequest asks that the live preview of Generation serve
// Generation.Revision, the generation's revision just stored.
type ReloadRequest struct {
	Generation db.Generation
	// Wait returns once the new version serves or failed; without it the
	// update runs on and Reload returns at once.
	Wait bool
	// Healthy, when set, is called once the new version serves in place,
	// with the preview at its new revision (also without Wait).
	Healthy func(db.Preview)
}

// Reloaded is the answer to a reload.
type Reloaded struct {
	Preview db.Preview // the preview after the reload; zero when there is none
	Mode    string     // ReloadInPlace, ReloadNewContainer or ReloadFilesOnly
	// Pending is true when the update runs on after the answer (no Wait).
	Pending bool
	Timings db.Timings // write, start, healthy, total (ms)
	// Note says why a running preview was not updated.
	Note string
}

// Reload updates the live preview of a generation, if this manager runs one,
// to the generation's new revision, in place: the changed files are written
// into its container and the app's new version is started beside the
// serving one, which answers until the new one does. A new version that
// fails leaves the old one serving and returns a *LaunchError carrying the
// revision. Updates of one preview take turns; an update to a revision
// older than the one served is skipped.
func (m *Manager) Reload(ctx context.Context, req ReloadRequest) (Reloaded, error) {
	start := time.Now()
	p, err := m.records.LivePreview(ctx, req.Generation.ID)
	if errors.Is(err, db.ErrNotFound) {
		return Reloaded{Mode: ReloadFilesOnly}, nil
	}
	if err != nil {
		return Reloaded{}, err
	}
	in := m.instance(p.ID)
	if in == nil || p.Status != db.StatusRunning || !in.running.Load() || in.stopping.Load() {
		// Starting previews keep the revision they launch with; another
		// previewd's preview is updated by its next launch.
		return Reloaded{Preview: p, Mode: ReloadFilesOnly, Note: "the preview is not running on this runner; the next launch runs this revision"}, nil
	}
	var res Reloaded
	var rerr error
	done := make(chan struct{})
	m.wg.Add(1)
	go func() {
		// Detached from the caller, like a launch: a client that hangs up
		// leaves no half-made update behind.
		defer m.wg.Done()
		defer close(done)
		res, rerr = m.reload(in, req.Generation, start)
		if rerr == nil && res.Mode == ReloadInPlace && res.Preview.Revision == req.Generation.Revision && req.Healthy != nil {
			req.Healthy(res.Preview)
		}
	}()
	if !req.Wait {
		return Reloaded{Preview: p, Mode: ReloadInPlace, Pending: true, Timings: db.Timings{"total": time.Since(start).Milliseconds()}}, nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return Reloaded{}, ctx.Err()
	}
	return res, rerr
}

// reload carries out an update of in to g.Revision.
func (m *Manager) reload(in *instance, g db.Generation, start time.Time) (Reloaded, error) {
	in.reloadMu.Lock()
	defer in.reloadMu.Unlock()
	ctx := in.ctx
	id, rev, from := in.rec.ID, g.Revision, in.rec.Revision
	logs := in.logs.Load()
	current := func(mode, note string, timings db.Timings) (Reloaded, error) {
		p, err := m.records.Preview(ctx, id)
		return Reloaded{Preview: p, Mode: mode, Note: note, Timings: timings}, err
	}
	if rev <= from {
		// A later update took its turn first; it included this change.
		return current(ReloadInPlace, "", db.Timings{"total": time.Since(start).Milliseconds()})
	}
	if in.stopping.Load() || !in.running.Load() {
		return current(ReloadFilesOnly, "the preview stopped before it could be updated", nil)
	}

	up, err := m.planReload(ctx, in, g, from)
	if err != nil {
		return Reloaded{}, err
	}
	if up.move {
		return m.move(in, g, up, start)
	}
	if up.note != "" {
		logs.system("revision %d stored; not applied to the running preview: %s", rev, up.note)
		return current(ReloadFilesOnly, up.note, nil)
	}
	if err := m.records.SetPreviewReloading(ctx, id, rev); err != nil {
		return Reloaded{}, err
	}
	logs.system("revision %d: updating the running app in place (from revision %d; %s)", rev, from, up.summary())
	timings := db.Timings{}
	t := time.Now()
	shim := m.shim(in)
	if err := up.write(ctx, shim); err != nil {
		return Reloaded{}, m.reloadBroke(in, rev, fmt.Errorf("write the changed files: %w", err), up)
	}
	timings["write"] = time.Since(t).Milliseconds()

	startCtx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
	defer cancel()
	ans, err := m.startVersion(startCtx, shim, up.plan)
	if err != nil {
		if in.ctx.Err() != nil || in.stopping.Load() {
			// Stopped meanwhile: nothing serves to keep.
			_ = m.records.EndReload(context.WithoutCancel(ctx), id)
			return Reloaded{}, ErrStoppedWhileStarting
		}
		return Reloaded{}, m.reloadFailed(in, rev, from, err, startCtx, up, start)
	}
	timings["start"], timings["healthy"] = ans.StartMS, ans.HealthyMS
	timings["total"] = time.Since(start).Milliseconds()
	in.rec.Revision = rev
	if err := m.records.RecordReload(context.WithoutCancel(ctx), id, rev); err != nil {
		m.log.Error("record reload", "preview_id", id, "err", err)
	}
	how := "a new process"
	if ans.Preloaded {
		how = "a preloaded interpreter"
	}
	logs.system("revision %d live in %d ms (in place, from %s: write %d ms, start %d ms, healthy %d ms)",
		rev, timings["total"], how, timings["write"], timings["start"], timings["healthy"])
	logs.flush(logFlushWait)
	m.metrics.reloadFinished(in.framework, "success", time.Since(start))
	return current(ReloadInPlace, "", timings)
}

// startVersion has the shim start plan on the app port the serving version
// does not use.
func (m *Manager) startVersion(ctx context.Context, shim *shimClient, plan framework.Plan) (shimReload, error) {
	rp := reloadPlan{dir: plan.Dir, preload: standbyArgv(plan)}
	var err error
	for _, port := range []int{framework.AppPort + 1, framework.AppPort} {
		rp.port = port
		rp.command = onPort(plan.Command, port)
		rp.exec = nil
		if plan.Exec != nil {
			rp.exec = onPort(plan.Exec, port)
		}
		rp.env = appEnvOn(plan, nil, port)
		var ans shimReload
		ans, err = shim.reload(ctx, rp)
		if !errors.Is(err, errShimPortBusy) {
			return ans, err
		}
	}
	return shimReload{}, err
}

// standbyArgv is the preloader the shim keeps ready for plan's next version:
// the warm pool's, told which framework to preload (the pool's preloads
// them all, which a container's own CPU cap makes slow).
func standbyArgv(plan framework.Plan) []string {
	argv := preloaders[plan.Runtime]
	if argv == nil || plan.Runtime != framework.RuntimePython {
		return argv
	}
	return append(slices.Clip(argv), string(plan.Framework))
}

// appEnvOn is appEnv with the app listening on port.
func appEnvOn(plan framework.Plan, userEnv map[string]string, port int) map[string]string {
	env := appEnv(plan, userEnv)
	env["PORT"] = fmt.Sprint(port)
	return env
}

// reloadFailed records an update whose new version did not come up: the
// files of the serving revision go back, and the failure is recorded and
// returned as a *LaunchError naming the revision.
func (m *Manager) reloadFailed(in *instance, rev, from int, err error, startCtx context.Context, up *update, start time.Time) error {
	var fail *reloadFailedError
	timedOut := errors.Is(startCtx.Err(), context.DeadlineExceeded)
	if !errors.As(err, &fail) && !timedOut {
		return m.reloadBroke(in, rev, err, up)
	}
	ctx := context.WithoutCancel(in.ctx)
	m.revert(ctx, in, up)
	le := &LaunchError{PreviewID: in.rec.ID, Revision: rev, LogTail: []string{}, timedOut: timedOut}
	facts := cause.Facts{TimedOut: timedOut, Sources: (&prepared{appFiles: up.appFiles}).sources()}
	result := "timeout"
	if fail != nil {
		code := fail.ExitCode
		le.ExitCode, facts.ExitCode = &code, &code
		le.Reason = fmt.Sprintf("revision %d: the new version exited with code %d before answering HTTP", rev, code)
		result = "crash"
	} else {
		le.Reason = fmt.Sprintf("revision %d: the new version did not answer HTTP within %s", rev, m.cfg.StartTimeout)
	}
	var output []string
	if tail, err := m.logTail(ctx, in.handle(), causeLines); err == nil {
		output = tail
		le.LogTail = tail[max(0, len(tail)-logTailLines):]
	}
	var fin db.Finish
	le.Cause = m.diagnose(in, &fin, facts, output)
	if err := m.records.RecordReloadFailure(ctx, in.rec.ID, db.ReloadFailure{Revision: rev, Error: le.Reason, ExitCode: le.ExitCode, Cause: fin.Cause}); err != nil {
		m.log.Error("record failed reload", "preview_id", in.rec.ID, "err", err)
	}
	logs := in.logs.Load()
	logs.system("revision %d failed after %d ms: %s; revision %d keeps serving", rev, time.Since(start).Milliseconds(), le.Reason, from)
	logs.flush(logFlushWait)
	m.metrics.reloadFinished(in.framework, result, time.Since(start))
	return le
}

// reloadBroke handles an update that previewd could not carry out (the
// shim or the engine failed, not the app): the serving revision's files go
// back and the error is returned as it is.
func (m *Manager) reloadBroke(in *instance, rev int, err error, up *update) error {
	ctx := context.WithoutCancel(in.ctx)
	m.revert(ctx, in, up)
	m.log.Error("reload failed", "preview_id", in.rec.ID, "revision", rev, "err", err)
	if err := m.records.EndReload(ctx, in.rec.ID); err != nil {
		m.log.Error("end reload", "preview_id", in.rec.ID, "err", err)
	}
	in.logs.Load().system("revision %d could not be applied (internal error); the running app is unchanged", rev)
	m.metrics.reloadFinished(in.framework, "error", 0)
	return err
}

// revert puts the serving revision's files back after a failed update, so
// that what the app reads from disk later is its own revision's.
func (m *Manager) revert(ctx context.Context, in *instance, up *update) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := up.undo(ctx, m.shim(in)); err != nil {
		m.log.Error("put back the files of the serving revision", "preview_id", in.rec.ID, "err", err)
	}
}

// update is what changes between the serving revision and the new one.
type update struct {
	plan     framework.Plan
	appFiles []File // the new revision's
	write1   []File // files to write: added or changed
	remove   []string
	// restore are the serving revision's files the update overwrites or
	// removes, unadd those it adds: undo writes and removes them.
	restore []File
	unadd   []string
	note    string // set when the update cannot be done in place
	// move is set when the new revision needs another image of the same
	// runtime (its dependencies changed): it runs in a new container, from
	// files, the new revision's files.
	move  bool
	files []db.File
}

func (u *update) summary() string {
	return fmt.Sprintf("%d file(s) written, %d removed", len(u.write1), len(u.remove))
}

func (u *update) write(ctx context.Context, shim *shimClient) error {
	if len(u.write1) > 0 {
		if err := shim.putFiles(ctx, u.write1); err != nil {
			return err
		}
	}
	if len(u.remove) > 0 {
		return shim.removeFiles(ctx, u.remove)
	}
	return nil
}

func (u *update) undo(ctx context.Context, shim *shimClient) error {
	if len(u.unadd) > 0 {
		if err := shim.removeFiles(ctx, u.unadd); err != nil {
			return err
		}
	}
	if len(u.restore) > 0 {
		return shim.putFiles(ctx, u.restore)
	}
	return nil
}

// planReload works out the update of in from revision from to g.Revision.
func (m *Manager) planReload(ctx context.Context, in *instance, g db.Generation, from int) (*update, error) {
	oldFiles, err := m.records.GenerationFiles(ctx, g.ID, from)
	if err != nil {
		return nil, err
	}
	newFiles, err := m.records.GenerationFiles(ctx, g.ID, g.Revision)
	if err != nil {
		return nil, err
	}
	fw := in.framework
	if fw == "" {
		fw = string(framework.Auto)
	}
	oldPlan, _, oldErr := planFor(db.Generation{Framework: fw}, oldFiles)
	plan, appFiles, err := planFor(g, newFiles)
	if err != nil {
		return &update{note: "cannot work out how to start this revision: " + err.Error()}, nil
	}
	u := &update{plan: plan, appFiles: appFiles}
	if oldErr != nil || oldPlan.Runtime != plan.Runtime {
		u.note = "it needs another runtime; launch the preview again to run it"
		return u, nil
	}
	oldImage, _, okOld := m.images.existingImage(ctx, m.cfg.Images, oldPlan, oldFiles)
	newImage, _, okNew := m.images.existingImage(ctx, m.cfg.Images, plan, newFiles)
	if !okOld || !okNew || oldImage != newImage {
		u.move, u.files = true, newFiles
		return u, nil
	}
	old := make(map[string][]byte, len(oldFiles))
	for _, f := range oldFiles {
		old[f.Path] = f.Content
	}
	seen := make(map[string]bool, len(newFiles))
	for _, f := range newFiles {
		seen[f.Path] = true
		prev, had := old[f.Path]
		switch {
		case !had:
			u.write1 = append(u.write1, File{Path: f.Path, Content: f.Content})
			u.unadd = append(u.unadd, f.Path)
		case !bytes.Equal(prev, f.Content):
			u.write1 = append(u.write1, File{Path: f.Path, Content: f.Content})
			u.restore = append(u.restore, File{Path: f.Path, Content: prev})
		}
	}
	for _, f := range oldFiles {
		if !seen[f.Path] {
			u.remove = append(u.remove, f.Path)
			u.restore = append(u.restore, File{Path: f.Path, Content: f.Content})
		}
	}
	return u, nil
}
