package sandbox

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/framework"
)

// The warm pool keeps containers started ahead of any launch: created with
// the default caps, hardening, labels and a pooled port like any preview,
// their interpreter already running a preloader that has imported the
// frameworks (images/python/warm.py, images/node/warm.js). A launch claims
// one, puts the app's files in and tells the preloader to load the app, so
// what is left is the app's own imports. A warm container serves one
// generation and is removed with its preview, never reused.

// preloaders are the commands that start each runtime's preloader. Node's
// runs without the image's NODE_OPTIONS (a --require of the route table
// reporter, images/node/routes.js), which warm.js loads itself: a --require
// before the app's files exist makes node note that /app has no
// package.json, and an ES module app loaded later would run as CommonJS.
var preloaders = map[string][]string{
	framework.RuntimePython: {"python3", "/opt/previewd/warm.py"},
	framework.RuntimeNode:   {"env", "-u", "NODE_OPTIONS", "node", "/opt/previewd/warm.js"},
}

const (
	// warmReadyTimeout bounds a preloader's imports.
	warmReadyTimeout = 2 * time.Minute
	// warmRetryAfter pauses filling for an image whose warm container failed.
	warmRetryAfter = 15 * time.Second
	// warmDemandWindow: a dependency image launched this recently keeps a
	// warm container of its own.
	warmDemandWindow = 10 * time.Minute
	// warmMinMemoryMB is the least memory a launch may ask for and still get
	// a warm container: the preloaded interpreter already uses about 70 MiB.
	warmMinMemoryMB = 128
)

// WarmCounts reports the pool's containers by image: how many are ready
// and how many are still loading their preloader.
func (m *Manager) WarmCounts() (ready, loading map[string]int) {
	ready, loading = map[string]int{}, map[string]int{}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool == nil {
		return ready, loading
	}
	for image, list := range m.pool.idle {
		for _, wm := range list {
			if wm.ready {
				ready[image]++
			} else {
				loading[image]++
			}
		}
	}
	return ready, loading
}

// fillPool keeps the pool at its targets until ctx ends.
func (m *Manager) fillPool(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		m.fillOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.pool.kick:
		case <-t.C:
		}
	}
}

// fillOnce starts the containers the pool lacks. Each is created and started
// here, one after another; its preloader's imports are waited for in the
// background.
func (m *Manager) fillOnce(ctx context.Context) {
	m.mu.Lock()
	targets := m.pool.targets(m.cfg.Images, time.Now())
	m.mu.Unlock()
	for _, t := range targets {
		for ctx.Err() == nil {
			wm := m.reserveWarm(t)
			if wm == nil {
				break
			}
			if err := m.startWarmMember(ctx, wm); err != nil {
				if ctx.Err() == nil {
					m.log.Warn("start warm container", "image", t.image, "err", err)
				}
				m.mu.Lock()
				m.pool.failedAt[t.image] = time.Now()
				m.mu.Unlock()
				m.removeWarm(wm)
				break
			}
		}
	}
}

// reserveWarm takes a port and a preview slot for a new warm container of
// t, or returns nil when the pool holds enough of it, it failed lately, or
// capacity is short.
func (m *Manager) reserveWarm(t warmTarget) *warmMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pool
	if len(p.idle[t.image]) >= t.n || time.Since(p.failedAt[t.image]) < warmRetryAfter {
		return nil
	}
	// Leave room for at least one cold launch: the pool never fills the
	// last preview slot or port.
	if len(m.live)+len(p.byID)+1 >= m.cfg.MaxPreviews || m.ports.InUse()+1 >= m.ports.Size() {
		return nil
	}
	l, err := m.ports.Reserve()
	if err != nil {
		return nil
	}
	id := uuid.NewString()
	port := l.Addr().(*net.TCPAddr).Port
	caps := m.cfg.Defaults
	wm := &warmMember{
		image: t.image, runtime: t.runtime,
		in: &instance{
			rec: db.Preview{
				ID: id, RunnerID: m.cfg.RunnerID, Status: db.StatusStarting, Port: port,
				MemoryMB: caps.MemoryMB, CPUs: caps.CPUs, Pids: caps.Pids, Image: t.image, Warm: true,
			},
			forward:  m.backend.Forward(l, backend.Handle{PreviewID: id, Port: port}),
			launched: make(chan struct{}),
		},
	}
	p.idle[t.image] = append(p.idle[t.image], wm)
	p.byID[id] = wm
	m.metrics.setPorts(m.ports.InUse())
	m.metrics.setWarm(m.cfg.Images, m.pool)
	return wm
}

// startWarmMember creates and starts a warm container and its preloader.
func (m *Manager) startWarmMember(ctx context.Context, wm *warmMember) error {
	in := wm.in
	startCtx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
	defer cancel()
	if err := m.fault("create"); err != nil {
		return err
	}
	id, err := m.backend.Create(startCtx, m.spec(in, wm.image))
	if err != nil {
		return err
	}
	in.setContainer(id, 0)
	if err := m.fault("start"); err != nil {
		return err
	}
	if err := m.backend.Start(startCtx, in.handle()); err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(m.base)
	exited := make(chan struct{})
	m.mu.Lock()
	wm.cancel = stopWatch
	m.mu.Unlock()
	shim := m.shim(in)
	if err := shim.waitReady(startCtx, exited); err != nil {
		stopWatch()
		return err
	}
	if err := m.backend.Seal(startCtx, in.handle()); err != nil {
		stopWatch()
		return err
	}
	if err := shim.startWarm(startCtx, preloaders[wm.runtime]); err != nil {
		stopWatch()
		return err
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.watchWarm(watchCtx, wm, exited)
	}()
	return nil
}

// watchWarm waits for a pooled container's preloader to be ready, then for
// the container to exit while it is still pooled, which removes it. It ends
// when the container is claimed or removed.
func (m *Manager) watchWarm(ctx context.Context, wm *warmMember, exited chan struct{}) {
	go func() { // ends with ctx at the latest
		m.backend.Wait(ctx, wm.in.handle())
		close(exited)
	}()
	readyCtx, cancel := context.WithTimeout(ctx, warmReadyTimeout)
	err := m.shim(wm.in).waitWarm(readyCtx)
	cancel()
	if err == nil {
		m.mu.Lock()
		wm.ready = true
		m.metrics.setWarm(m.cfg.Images, m.pool)
		m.mu.Unlock()
		select {
		case <-exited:
			err = errors.New("the container exited while pooled")
		case <-ctx.Done():
			return // claimed or removed
		}
	}
	if ctx.Err() != nil {
		return
	}
	m.log.Warn("warm container failed", "image", wm.image, "preview_id", wm.in.rec.ID, "err", err)
	m.mu.Lock()
	m.pool.failedAt[wm.image] = time.Now()
	m.mu.Unlock()
	m.removeWarm(wm)
}

// removeWarm takes wm out of the pool (if it is still there) and removes its
// container, run directory and port.
func (m *Manager) removeWarm(wm *warmMember) {
	m.mu.Lock()
	_, pooled := m.pool.byID[wm.in.rec.ID]
	if pooled {
		m.pool.take(wm)
		m.releaseWarmPort(wm)
	}
	if wm.cancel != nil {
		wm.cancel()
	}
	m.mu.Unlock()
	if !pooled {
		return
	}
	m.teardownWarm(wm)
	m.pool.wake()
}

// releaseWarmPort gives back a pooled container's port; m.mu is held.
func (m *Manager) releaseWarmPort(wm *warmMember) {
	wm.in.forward.Close()
	m.ports.Release(wm.in.rec.Port)
	m.metrics.setPorts(m.ports.InUse())
	m.metrics.setWarm(m.cfg.Images, m.pool)
}

// teardownWarm removes a warm container and its run directory; the error
// (logged here) is the container's removal's.
func (m *Manager) teardownWarm(wm *warmMember) error {
	ctx, cancel := context.WithTimeout(context.Background(), shortCall)
	defer cancel()
	err := m.backend.Remove(ctx, wm.in.handle(), 0)
	if err != nil {
		m.log.Error("remove warm container", "preview_id", wm.in.rec.ID, "err", err)
	}
	return err
}

// claimWarm takes a ready pooled container of image for a launch with caps,
// or returns nil. m.mu is held.
func (m *Manager) claimWarm(image string, caps Caps) *warmMember {
	if m.pool == nil || caps.MemoryMB < warmMinMemoryMB {
		return nil
	}
	for _, wm := range m.pool.idle[image] {
		if !wm.ready {
			continue
		}
		m.pool.take(wm)
		wm.cancel() // the launch watches it from now on
		m.metrics.warmClaim("hit")
		m.metrics.setWarm(m.cfg.Images, m.pool)
		m.pool.wake()
		return wm
	}
	m.metrics.warmClaim("miss")
	return nil
}

// evictWarm removes one pooled container to make room for a launch, preferring
// one of another image than keep. m.mu is held; the container is removed in
// the background. It reports whether there was one.
func (m *Manager) evictWarm(keep string) bool {
	if m.pool == nil {
		return false
	}
	var victim *warmMember
	for _, wm := range m.pool.byID {
		if wm.cancel == nil {
			continue // still being created: its creator owns it
		}
		if victim == nil || (victim.image == keep && wm.image != keep) {
			victim = wm
		}
	}
	if victim == nil {
		return false
	}
	m.pool.take(victim)
	m.releaseWarmPort(victim)
	victim.cancel()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		_ = m.teardownWarm(victim) // logged there
	}()
	return true
}

// pooledMember returns the pooled container with this preview id, or nil.
func (m *Manager) pooledMember(previewID string) *warmMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool == nil {
		return nil
	}
	return m.pool.byID[previewID]
}

// noteWarmDemand records a launch from a dependency image, so the pool keeps
// one of those warm for the next launch.
func (m *Manager) noteWarmDemand(image, runtime string) {
	if m.pool == nil || image == m.cfg.Images[runtime] {
		return
	}
	m.mu.Lock()
	m.pool.demand[image] = warmDemand{runtime: runtime, at: time.Now()}
	m.mu.Unlock()
	m.pool.wake()
}

// warmable reports whether a launch's environment lets a preloaded
// interpreter run it: variables the interpreter reads at its own start must
// be seen by a new one.
func warmable(env map[string]string) bool {
	for k := range env {
		if strings.HasPrefix(k, "PYTHON") || strings.HasPrefix(k, "NODE_") || k == "LD_PRELOAD" || k == "LD_LIBRARY_PATH" {
			return false
		}
	}
	return true
}

// loadWarm hands a claimed container its app: caps as asked, the output
// followed from the container's start, the files, and the command for the
// preloader to become.
func (m *Manager) loadWarm(ctx context.Context, in *instance, plan framework.Plan, image string, files []File, userEnv map[string]string) error {
	id := in.container()
	if err := m.records.SetPreviewContainer(ctx, in.rec.ID, id, image, in.runtime); err != nil {
		return err
	}
	// Memory and pids caps apply before the app loads; the CPU cap once it
	// answers, as for a cold start.
	if in.rec.MemoryMB != m.cfg.Defaults.MemoryMB || in.rec.Pids != m.cfg.Defaults.Pids || m.startCPUs(in.rec.CPUs) != m.startCPUs(m.cfg.Defaults.CPUs) {
		caps := Caps{MemoryMB: in.rec.MemoryMB, CPUs: m.startCPUs(in.rec.CPUs), Pids: in.rec.Pids}
		if err := m.backend.SetCaps(ctx, in.handle(), caps); err != nil {
			return err
		}
	}
	m.follow(in)
	shim := m.shim(in)
	if err := putAppFiles(ctx, shim, in, files); err != nil {
		return err
	}
	dir, argv := plan.Dir, plan.Exec
	if argv == nil {
		dir, argv = "", plan.Command
	}
	if err := shim.load(ctx, dir, argv, appEnv(plan, userEnv)); err != nil {
		return &LaunchError{PreviewID: in.rec.ID, Reason: "could not start the app: " + err.Error()}
	}
	return nil
}

// closePool empties the pool at shutdown: it releases the ports, stops the
// watchers and removes the containers, which no previewd would use before
// the next start's reconciliation (on a dev machine, maybe never). A
// container still being created is left to its creator, which ends with the
// manager's context and removes what it made; previewd closes the manager
// after Run has returned, so there is none then. It returns how many
// containers were removed and how many could not be.
func (m *Manager) closePool() (removed, failed int) {
	m.mu.Lock()
	if m.pool == nil {
		m.mu.Unlock()
		return 0, 0
	}
	var members []*warmMember
	for _, wm := range m.pool.byID {
		wm.in.forward.Close()
		if wm.cancel != nil {
			wm.cancel()
			members = append(members, wm)
		}
	}
	for _, wm := range members {
		m.pool.take(wm)
		m.ports.Release(wm.in.rec.Port)
	}
	m.metrics.setPorts(m.ports.InUse())
	m.metrics.setWarm(m.cfg.Images, m.pool)
	m.mu.Unlock()

	errs := make(chan error, len(members))
	for _, wm := range members {
		go func() { errs <- m.teardownWarm(wm) }()
	}
	for range members {
		if err := <-errs; err != nil {
			failed++
		} else {
			removed++
		}
	}
	return removed, failed
}
