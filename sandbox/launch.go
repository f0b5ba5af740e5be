package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/framework"
)

// logTailLines is how many lines of output a failed launch reports.
const logTailLines = 50

// ErrStoppedWhileStarting answers a launch whose preview was stopped before
// its app answered.
var ErrStoppedWhileStarting = errors.New("the preview was stopped while it was starting")

// instance is a preview this manager is launching or running.
type instance struct {
	rec       db.Preview
	framework string
	forward   backend.Forwarder
	prep      *prepared // files and plan read before the reservation, or nil

	launched chan struct{} // closed when the launch ends, running or not
	exited   chan struct{} // closed when the container stops running

	box        atomic.Pointer[sandboxRef] // set once created; moved by a reload to a new container
	running    atomic.Bool
	stopping   atomic.Bool
	recorded   atomic.Bool // its record was written (a claimed warm container has none before)
	stats      atomic.Pointer[Stats]
	lastActive atomic.Int64 // unix nanoseconds of the last proxied request (or of the start)
	restarts   atomic.Int64 // times the app was restarted after crashing
	oomKills   atomic.Int64 // processes killed for memory while it ran
	oomBase    atomic.Int64 // oomKills when the container's current run began
	lastOOM    atomic.Int64 // unix nanoseconds of the last oom event
	logs       atomic.Pointer[logPipeline]

	// reloadMu makes updates of the running app (see reload.go) and its
	// restarts take turns; rec.Revision changes under it. env is the
	// launch's own environment, which an update's new version gets too.
	reloadMu sync.Mutex
	env      map[string]string
	// moving is set while a reload moves the preview to a new container
	// (see reload_move.go): until it ends, the preview has two.
	moving atomic.Bool

	runtime db.Runtime // what its image is, recorded with its container

	endOnce sync.Once
	ended   chan struct{} // closed when teardown is complete
	cancel  context.CancelFunc
	ctx     context.Context // ends the instance's watchers
}

// sandboxRef is the engine id and slot of the sandbox a preview runs in.
type sandboxRef struct {
	id   string
	slot int
}

// setContainer records the sandbox the instance runs in.
func (in *instance) setContainer(id string, slot int) {
	in.box.Store(&sandboxRef{id: id, slot: slot})
}

func (in *instance) container() string {
	if b := in.box.Load(); b != nil {
		return b.id
	}
	return ""
}

// handle names the instance's sandbox to the backend.
func (in *instance) handle() backend.Handle {
	h := backend.Handle{PreviewID: in.rec.ID, Port: in.rec.Port}
	if b := in.box.Load(); b != nil {
		h.ID, h.Slot = b.id, b.slot
	}
	return h
}

// shim is a client of the instance's shim.
func (m *Manager) shim(in *instance) *shimClient {
	return newShimClient(m.backend.Control(in.handle()))
}

// run carries out a reserved launch. The launch itself runs detached from the
// caller, so a client that hangs up does not leave a half-started container;
// with Wait the caller waits for it.
func (m *Manager) run(ctx context.Context, in *instance, req LaunchRequest, token string, sessionExpires time.Time, start time.Time) (Launched, error) {
	in.logs.Store(m.newLogPipeline(in.rec.ID, 0))
	in.env = req.Env
	if in.ctx.Err() != nil {
		// Stopped since the insert: the teardown may not have seen this
		// pipeline. (One that looks after the check finds it; closing is
		// safe to repeat.)
		in.logs.Load().close()
	}
	var result db.Preview
	var launchErr error
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(in.launched)
		result, launchErr = m.launch(in, req, start)
	}()
	if !req.Wait {
		return Launched{Preview: in.rec, SessionToken: token, SessionExpiresAt: sessionExpires}, nil
	}
	select {
	case <-in.launched:
	case <-ctx.Done():
		return Launched{}, ctx.Err()
	}
	if errors.Is(launchErr, ErrStoppedWhileStarting) {
		if err := m.deletedMeanwhile(ctx, in.rec); err != nil {
			return Launched{}, err
		}
	}
	if launchErr != nil {
		return Launched{}, launchErr
	}
	return Launched{Preview: result, SessionToken: token, SessionExpiresAt: sessionExpires}, nil
}

// deletedMeanwhile returns an ErrNotFound when preview p, which ended while
// starting, was stopped by a delete of its generation: the caller is told
// the generation is gone, as a launch after the delete is. A delete holds the
// generation's lock until the generation is gone (see DeleteGeneration).
func (m *Manager) deletedMeanwhile(ctx context.Context, p db.Preview) error {
	m.launching.lock(p.GenerationID)()
	if _, err := m.records.Preview(ctx, p.ID); errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("launch generation %s: deleted while starting: %w", p.GenerationID, err)
	}
	return nil
}

// launch prepares, creates and starts the container and waits for the app's
// first HTTP answer. On any failure it tears everything down and records why.
func (m *Manager) launch(in *instance, req LaunchRequest, start time.Time) (db.Preview, error) {
	timings := db.Timings{}
	mark := func(phase string, since time.Time) time.Time {
		now := time.Now()
		timings[phase] = now.Sub(since).Milliseconds()
		m.metrics.observePhase(in.framework, phase, in.rec.Warm, now.Sub(since))
		return now
	}
	var prep *prepared
	fail := func(err error) (db.Preview, error) {
		timings["total"] = time.Since(start).Milliseconds()
		return db.Preview{}, m.failLaunch(in, err, timings, prep)
	}

	// prepare: the files, the plan, the image.
	t := start
	if in.rec.Warm {
		in.logs.Load().system("starting (%s) in a warm container", in.framework)
	} else {
		in.logs.Load().system("starting (%s)", in.framework)
	}
	prep = in.prep
	if prep == nil {
		files, err := m.records.GenerationFiles(in.ctx, in.rec.GenerationID, in.rec.Revision)
		if err != nil {
			return fail(err)
		}
		plan, appFiles, err := planFor(req.Generation, files)
		if err != nil {
			return fail(&LaunchError{PreviewID: in.rec.ID, Reason: "cannot work out how to start the app: " + err.Error()})
		}
		prep = &prepared{files: files, plan: plan, appFiles: appFiles}
	}
	plan := prep.plan
	t = mark("prepare", t)

	// build: a derived image with the dependencies the runtime lacks, if any.
	// Separate from StartTimeout, which is about the app itself: the
	// install has its own timeout, and this phase may first wait for a
	// concurrent launch's install of the same packages.
	buildCtx, cancelBuild := context.WithTimeout(in.ctx, 2*m.cfg.Deps.timeout()+time.Minute)
	image := prep.image
	in.runtime = prep.runtime
	if image == "" {
		var err error
		caps := Caps{MemoryMB: in.rec.MemoryMB, CPUs: in.rec.CPUs, Pids: in.rec.Pids}
		image, in.runtime, err = m.images.imageFor(buildCtx, m.cfg.Images, plan, prep.files, caps, in.logs.Load().build)
		if err != nil {
			cancelBuild()
			var le *LaunchError
			if errors.As(err, &le) {
				le.build = true
			}
			return fail(err)
		}
	}
	cancelBuild()
	if line := m.images.description(image); line != "" && prep.image != "" {
		in.logs.Load().build(line) // said by imageFor when it resolved the image
	}
	m.noteWarmDemand(image, plan.Runtime)
	plan, appFiles, keepKey := m.migrated(in.ctx, in, plan, image, prep.appFiles, req.Env)
	t = mark("build", t)

	// start: create and start the container (or take the warm one), hand the
	// files to the shim, start the app.
	startCtx, cancelStart := context.WithTimeout(in.ctx, m.cfg.StartTimeout)
	defer cancelStart()
	startApp := m.startContainer
	if in.rec.Warm {
		startApp = m.loadWarm
	}
	if err := startApp(startCtx, in, plan, image, appFiles, req.Env); err != nil {
		return fail(err)
	}
	t = mark("start", t)

	// healthy: the app answers HTTP through its pooled port; from then on
	// its own CPU cap applies (set just after the answer, see dropBoost).
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		in.forward.Serve()
	}()
	if err := m.waitHealthy(startCtx, in, in.exited); err != nil {
		return fail(err)
	}
	mark("healthy", t)
	timings["total"] = time.Since(start).Milliseconds()
	m.metrics.observePhase(in.framework, "total", in.rec.Warm, time.Since(start))

	// The runner event is queued before the status changes and stored
	// before the launch answers, so a client that reads the log once the
	// preview runs finds it.
	logs := in.logs.Load()
	logs.system("healthy: the app answers HTTP (launch took %d ms)", timings["total"])
	p, err := m.records.MarkPreviewRunning(m.base, in.rec.ID, timings)
	if err != nil {
		if errors.Is(err, db.ErrNotFound) {
			// No longer starting, or no longer there: stopped, or its
			// generation deleted, meanwhile. Its container must not
			// outlive its record.
			in.stopping.Store(true)
		}
		return fail(err)
	}
	in.lastActive.Store(time.Now().UnixNano())
	in.running.Store(true)
	if keepKey != "" {
		// Before the answer, so that the next launch finds it: a few
		// milliseconds, on the first launch of these files only.
		m.keepMigrated(in, keepKey)
	}
	if req.Healthy != nil {
		req.Healthy(p)
	}
	if m.boosted(in.rec.CPUs) {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.dropBoost(in)
		}()
	}
	logs.flush(logFlushWait)
	m.metrics.launchFinished(in.framework, "success")
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.watchStats(in)
	}()
	return p, nil
}

// dropBoost sets a preview that started with the start-up CPU boost to its
// own CPU cap. It runs beside the launch's answer rather than before it: the
// engine's update takes 50–100 ms, as long as a whole warm launch otherwise.
// An engine that cannot be reached is asked again until it answers or the
// preview ends.
func (m *Manager) dropBoost(in *instance) {
	for {
		err := m.backend.SetCaps(in.ctx, in.handle(), Caps{CPUs: in.rec.CPUs})
		if err == nil || errors.Is(err, backend.ErrNotFound) || in.ctx.Err() != nil {
			return
		}
		m.log.Warn("could not set a preview to its CPU cap; retrying", "preview_id", in.rec.ID, "err", err)
		select {
		case <-time.After(time.Second):
		case <-in.ctx.Done():
			return
		}
	}
}

func (m *Manager) startContainer(ctx context.Context, in *instance, plan framework.Plan, image string, files []File, userEnv map[string]string) error {
	spec := m.spec(in, image)
	spec.GenerationID, spec.Owner = in.rec.GenerationID, in.rec.Owner
	if err := m.fault("create"); err != nil {
		return err
	}
	id, err := m.backend.Create(ctx, spec)
	if err != nil {
		return err
	}
	in.setContainer(id, 0)
	if in.ctx.Err() != nil {
		// Stopped while the engine created it: the teardown may have
		// looked for it before it existed. (One that looks after this
		// check finds the id stored.)
		if err := m.backend.Remove(context.WithoutCancel(ctx), in.handle(), 0); err != nil {
			m.log.Error("remove container of a preview stopped while starting", "preview_id", in.rec.ID, "err", err)
		}
		return ErrStoppedWhileStarting
	}
	if err := m.records.SetPreviewContainer(ctx, in.rec.ID, id, image, in.runtime); err != nil {
		return err
	}
	if err := m.fault("start"); err != nil {
		return err
	}
	if err := m.backend.Start(ctx, in.handle()); err != nil {
		return err
	}
	m.follow(in)
	shim := m.shim(in)
	if err := shim.waitReady(ctx, in.exited); err != nil {
		return err
	}
	if err := m.backend.Seal(ctx, in.handle()); err != nil {
		return err
	}
	if err := putAppFiles(ctx, shim, in, files); err != nil {
		return err
	}
	if err := shim.start(ctx, plan.Command, appEnv(plan, userEnv)); err != nil {
		return &LaunchError{PreviewID: in.rec.ID, Reason: "could not start the app: " + err.Error()}
	}
	return nil
}

// follow reads a just-started container's output and watches for its exit.
func (m *Manager) follow(in *instance) {
	// The engine keeps the output since the start: nothing printed before
	// this attach is lost.
	in.logs.Load().attach(in.handle(), time.Time{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.watchExit(in, in.exited)
	}()
}

// putAppFiles hands the app's files to the shim; when that fails (an app too
// big for its /app, say) the launch fails with the reason.
func putAppFiles(ctx context.Context, shim *shimClient, in *instance, files []File) error {
	if err := shim.putFiles(ctx, files); err != nil {
		return &LaunchError{PreviewID: in.rec.ID, Reason: "could not copy the app's files into the container: " + err.Error()}
	}
	return nil
}

// waitHealthy polls the pooled port until the app answers HTTP with any
// status, the container exits (exited closes), or ctx ends.
func (m *Manager) waitHealthy(ctx context.Context, in *instance, exited <-chan struct{}) error {
	if err := m.fault("health"); err != nil {
		return &LaunchError{PreviewID: in.rec.ID, Reason: err.Error()}
	}
	url := fmt.Sprintf("http://%s:%d/", m.cfg.Host, in.rec.Port)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	return m.pollAnswers(ctx, in, client, url, exited)
}

// pollAnswers asks url with client every 10 ms until the app answers HTTP
// with any status, the container exits (exited closes), or ctx ends.
func (m *Manager) pollAnswers(ctx context.Context, in *instance, client *http.Client, url string, exited <-chan struct{}) error {
	defer client.CloseIdleConnections()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("User-Agent", "previewd-health")
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return &LaunchError{PreviewID: in.rec.ID, Reason: "the app exited before answering HTTP"}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &LaunchError{PreviewID: in.rec.ID, Reason: fmt.Sprintf("the app did not answer HTTP within %s", m.cfg.StartTimeout), timedOut: true}
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// watchExit waits for the container to stop running, then closes exited.
// During the launch it only signals; afterwards an exit nobody asked for is
// a crash. An engine that cannot be asked is asked again: only the
// container's end, or its disappearance, counts as an exit. The container
// is the one the preview runs in when watchExit starts, or the next one
// when a reload moves the preview (see startNext); the end of a container
// the preview has moved from, or not yet moved to, is no crash.
func (m *Manager) watchExit(in *instance, exited chan struct{}) {
	m.watchExitOf(in, in.handle(), exited)
}

func (m *Manager) watchExitOf(in *instance, h backend.Handle, exited chan struct{}) {
	for {
		err := m.backend.Wait(in.ctx, h)
		if in.ctx.Err() != nil {
			return
		}
		if err == nil || errors.Is(err, backend.ErrNotFound) {
			break
		}
		m.log.Warn("waiting for preview container failed; retrying", "preview_id", in.rec.ID, "err", err)
		select {
		case <-time.After(time.Second):
		case <-in.ctx.Done():
			return
		}
	}
	close(exited)
	<-in.launched
	if in.running.Load() && !in.stopping.Load() && in.container() == h.ID {
		m.crashed(in, h.ID)
	}
}

// end finishes a live preview with a status; for failures it records the exit
// code and last output first.
func (m *Manager) end(in *instance, status, reason string) {
	var fin db.Finish
	if status == db.StatusFailed {
		fin = m.exitFinish(in, reason)
	} else {
		fin = db.Finish{Status: status, Error: reason}
	}
	m.endWith(in, fin)
}

// endWith tears a preview down exactly once: watchers stop, the container is
// removed, the port goes back to the pool, and the record is finished. Later
// callers wait for the first one to complete.
func (m *Manager) endWith(in *instance, fin db.Finish) {
	in.endOnce.Do(func() {
		defer close(in.ended)
		in.cancel()
		in.forward.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// With no id (the create call may have reached the engine without
		// us learning it) the backend removes by preview id, which is
		// harmless when nothing exists.
		h := in.handle()
		// Stop, then read the output to its end while the container still
		// exists, then remove it.
		logs := in.logs.Load()
		if logs != nil && m.backend.Stop(ctx, h, m.cfg.StopGrace) == nil {
			logs.stopReader(logReaderGrace)
		}
		if err := m.backend.Remove(ctx, h, m.cfg.StopGrace); err != nil {
			m.log.Error("tear down preview container", "preview_id", in.rec.ID, "err", err)
		}
		logs.stopReader(0)
		logs.system("%s", endLine(fin))
		if _, err := m.records.FinishPreview(ctx, in.rec.ID, fin); err != nil {
			m.log.Error("record end of preview", "preview_id", in.rec.ID, "err", err)
		}
		// After the record: a subscriber whose stream closes finds the final status.
		logs.close()
		m.mu.Lock()
		delete(m.live, in.rec.ID)
		m.ports.Release(in.rec.Port)
		m.metrics.setPorts(m.ports.InUse())
		m.mu.Unlock()
		if in.running.Load() {
			m.metrics.ended(fin.Status)
		}
	})
	<-in.ended
}

// watchStats keeps the latest resource sample of a running preview; it ends
// with the instance, or when a reload moves the preview to another
// container (which gets a watcher of its own). A stats stream the engine
// breaks off is opened again.
func (m *Manager) watchStats(in *instance) {
	h := in.handle()
	for in.ctx.Err() == nil && in.container() == h.ID {
		err := m.backend.Stats(in.ctx, h, func(st Stats) {
			in.stats.Store(&st)
		})
		if in.ctx.Err() != nil || errors.Is(err, backend.ErrNotFound) {
			return
		}
		if err != nil {
			m.log.Warn("stats of preview ended; asking again", "preview_id", in.rec.ID, "err", err)
		}
		select {
		case <-time.After(time.Second):
		case <-in.ctx.Done():
		}
	}
}
