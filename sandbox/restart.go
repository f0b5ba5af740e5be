package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/framework"
)

// Restart backoff: the first restart waits restartBackoffBase, each next
// one twice as long, at most restartBackoffMax.
const (
	restartBackoffBase = time.Second
	restartBackoffMax  = 30 * time.Second
)

func restartBackoff(n int) time.Duration {
	d := restartBackoffBase
	for i := 1; i < n && d < restartBackoffMax; i++ {
		d *= 2
	}
	return min(d, restartBackoffMax)
}

// crashed handles a running preview whose container exited without being
// asked to: it is restarted while its restart policy allows, and otherwise
// fails, as a crash loop when it had been restarted before. containerID is
// the container that exited.
func (m *Manager) crashed(in *instance, containerID string) {
	if in.restarts.Load() < int64(in.rec.RestartMax) {
		m.restartApp(in, containerID)
		return
	}
	reason := "the app exited"
	if n := in.restarts.Load(); n > 0 {
		reason = fmt.Sprintf("crash loop: the app was restarted %d times and exited again", n)
	}
	m.end(in, db.StatusFailed, reason)
}

// restartApp starts the app of a crashed preview again in the same container,
// port and record, after a backoff. The container's writable /app is fresh
// after a restart, so the files go in again.
func (m *Manager) restartApp(in *instance, containerID string) {
	ctx, cancel := context.WithTimeout(in.ctx, m.cfg.StartTimeout+restartBackoffMax)
	defer cancel()
	n, err := m.records.RecordRestart(ctx, in.rec.ID)
	if err != nil {
		m.log.Error("record restart", "preview_id", in.rec.ID, "err", err)
		m.end(in, db.StatusFailed, "the app exited and could not be restarted")
		return
	}
	in.restarts.Store(int64(n))
	fin := m.exitFinish(in, "the app exited")
	wait := restartBackoff(n)
	in.logs.Load().system("%s; restarting it in %s (restart %d of %d)", fin.Error, wait, n, in.rec.RestartMax)

	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return // stopped or previewd shutting down
	}
	if in.stopping.Load() {
		return
	}
	if err := m.rerun(ctx, in, containerID); err != nil {
		if in.stopping.Load() || in.ctx.Err() != nil {
			return
		}
		var le *LaunchError
		if errors.As(err, &le) {
			// It exited again before answering: its exit watcher decides
			// whether to restart once more.
			return
		}
		m.log.Error("restart preview", "preview_id", in.rec.ID, "err", err)
		in.stopping.Store(true)
		m.end(in, db.StatusFailed, "the app could not be restarted: "+err.Error())
		return
	}
	in.logs.Load().system("restarted: the app answers HTTP again")
}

// rerun starts the stopped container again and its app, and waits until it
// answers. A *LaunchError means the app exited again. A preview that a
// reload moved to a new container meanwhile is left as it is.
func (m *Manager) rerun(ctx context.Context, in *instance, containerID string) error {
	in.reloadMu.Lock()
	defer in.reloadMu.Unlock()
	if in.container() != containerID {
		return nil
	}
	files, err := m.records.GenerationFiles(ctx, in.rec.GenerationID, in.rec.Revision)
	if err != nil {
		return err
	}
	fw := in.framework
	if fw == "" {
		fw = string(framework.Auto) // adopted after a restart of previewd
	}
	plan, appFiles, err := planFor(db.Generation{Framework: fw}, files)
	if err != nil {
		return err
	}
	started := time.Now()
	in.oomBase.Store(in.oomKills.Load())
	// The new shim makes its control channel afresh; nothing of the app
	// runs in the stopped sandbox meanwhile.
	if err := m.backend.Start(ctx, in.handle()); err != nil {
		return err
	}
	in.logs.Load().reattach(in.handle(), started)
	exited := make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.watchExit(in, exited)
	}()
	shim := m.shim(in)
	if err := shim.waitReady(ctx, exited); err != nil {
		return err
	}
	if err := m.backend.Seal(ctx, in.handle()); err != nil {
		return err
	}
	if err := shim.putFiles(ctx, appFiles); err != nil {
		return err
	}
	if err := shim.start(ctx, plan.Command, appEnv(plan, in.env)); err != nil {
		return err
	}
	return m.waitHealthy(ctx, in, exited)
}

// watchOOM follows the engine's out-of-memory events until ctx ends. A
// process killed for memory in a preview that keeps running (a worker or a
// child of the app) is counted and said in its log; the app's own death is
// reported by its exit.
func (m *Manager) watchOOM(ctx context.Context) {
	for ctx.Err() == nil {
		err := m.backend.OOMEvents(ctx, func(containerID string) {
			if in := m.byContainer(containerID); in != nil && !in.stopping.Load() {
				m.oomKilled(ctx, in)
			}
		})
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("engine events ended; following them again", "err", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
}

// oomKilled records what an oom event says. The engine may send several
// events for one kill, so the kernel's own count of kills in the
// container's memory cgroup is taken where previewd can read it; elsewhere
// events less than oomDebounce apart count once.
func (m *Manager) oomKilled(ctx context.Context, in *instance) {
	prev := in.oomKills.Load()
	n, ok := m.backend.OOMKills(ctx, in.handle())
	if ok {
		// The kernel counts per run of the container: a restart starts a
		// new cgroup.
		n += in.oomBase.Load()
	}
	if !ok {
		now := time.Now().UnixNano()
		if last := in.lastOOM.Swap(now); now-last < int64(oomDebounce) {
			return
		}
		n = prev + 1
	}
	if n <= prev || !in.oomKills.CompareAndSwap(prev, n) {
		return // an event for a kill already counted
	}
	// The log says it before the status counts it, as a launch's "healthy".
	logs := in.logs.Load()
	logs.system("a process of the app was killed: out of memory (limit %d MiB; %d so far)", in.rec.MemoryMB, n)
	logs.flush(logFlushWait)
	if err := m.records.SetOOMKills(ctx, in.rec.ID, int(n)); err != nil {
		m.log.Warn("record out-of-memory kill", "preview_id", in.rec.ID, "err", err)
	}
	m.metrics.oomKilled(int(n - prev))
}

// oomDebounce: oom events of one container closer than this are one kill,
// when the kernel's count cannot be read.
const oomDebounce = 500 * time.Millisecond

// byContainer finds the live preview running in a container.
func (m *Manager) byContainer(containerID string) *instance {
	for _, in := range m.snapshot() {
		if in.container() == containerID {
			return in
		}
	}
	return nil
}
