package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
)

// Stop stops a live preview: its container is stopped and removed, its port
// returned, its record marked stopped. Stopping a preview that has already
// ended does nothing.
func (m *Manager) Stop(ctx context.Context, p db.Preview) error {
	if in := m.instance(p.ID); in != nil {
		in.stopping.Store(true)
		m.endWith(in, db.Finish{Status: db.StatusStopped})
		return nil
	}
	if !p.Live() {
		return nil
	}
	// Not held by this process (another runner's, or a launch whose process
	// died): remove what the record names and end the record.
	h := backend.Handle{ID: p.ContainerID, PreviewID: p.ID, Port: p.Port}
	if err := m.backend.Remove(ctx, h, m.cfg.StopGrace); err != nil {
		return err
	}
	_, err := m.records.FinishPreview(ctx, p.ID, db.Finish{Status: db.StatusStopped})
	return err
}

// DeleteGeneration stops the generation's live preview, if any, and deletes
// the generation with its files and previews. Launches of the generation in
// this process wait meanwhile, then find it gone; a preview another previewd
// process launches in between (the store refuses the delete then, see
// db.DeleteGeneration) is stopped in turn.
func (m *Manager) DeleteGeneration(ctx context.Context, owner, generationID string) error {
	unlock := m.launching.lock(generationID)
	defer unlock()
	for attempt := 1; ; attempt++ {
		p, err := m.records.LivePreview(ctx, generationID)
		switch {
		case err == nil:
			if err := m.Stop(ctx, p); err != nil {
				return err
			}
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
		err = m.records.DeleteGeneration(ctx, owner, generationID)
		if !errors.Is(err, db.ErrLivePreview) || attempt == 3 {
			return err
		}
	}
}

// Running reports whether this process runs the preview and it has not begun
// to end. It turns false before the preview's port is released.
func (m *Manager) Running(previewID string) bool {
	in := m.instance(previewID)
	return in != nil && in.running.Load() && !in.stopping.Load()
}

// LiveStats returns the latest resource sample of a running preview, or nil.
// Until the stats stream's first sample (about a second after the launch)
// it reads one on demand, so a status right after the launch has figures.
func (m *Manager) LiveStats(previewID string) *Stats {
	in := m.instance(previewID)
	if in == nil || !in.running.Load() {
		return nil
	}
	if st := in.stats.Load(); st != nil {
		return st
	}
	st, err := m.readStats(in)
	if err != nil {
		m.log.Debug("read stats on demand", "preview_id", previewID, "err", err)
		return nil
	}
	in.stats.CompareAndSwap(nil, st) // the stream's sample, if one came meanwhile, is newer
	return in.stats.Load()
}

// Adopt reconciles this runner's records with the engine after a start: running
// containers whose record says running are taken over (port forwarding, exit
// and stats watching resume); records whose container is gone, or whose launch
// died with the previous process, are ended as failed; this runner's
// containers that no live record claims are removed.
func (m *Manager) Adopt(ctx context.Context) error {
	recs, err := m.records.LivePreviews(ctx, m.cfg.RunnerID)
	if err != nil {
		return err
	}
	byPreview, err := m.runnerContainers(ctx)
	if err != nil {
		return err
	}
	var errs []error
	claimed := map[string]bool{}
	for _, rec := range recs {
		boxes := byPreview[rec.ID]
		c, ok := recordedBox(rec, boxes)
		claimed[rec.ID] = ok
		// Another sandbox of the preview is the loser of a move to a new
		// container that the previous previewd did not finish.
		for _, other := range boxes {
			if other.ID != c.ID {
				errs = append(errs, m.backend.Remove(ctx, sandboxHandle(rec.ID, other), 0))
			}
		}
		switch {
		case rec.Status == db.StatusStarting:
			errs = append(errs, m.endUnowned(ctx, rec, c, "previewd restarted while the preview was starting", "interrupted"))
		case !ok || !c.Running:
			errs = append(errs, m.endUnowned(ctx, rec, c, "the container disappeared", "vanished"))
		default:
			if err := m.adopt(rec, c); err != nil {
				errs = append(errs, m.endUnowned(ctx, rec, c, "could not be taken over after a restart", "vanished"))
			}
		}
	}
	for previewID, boxes := range byPreview {
		if claimed[previewID] {
			continue
		}
		for _, c := range boxes {
			if err := m.backend.Remove(ctx, sandboxHandle(previewID, c), 0); err != nil {
				errs = append(errs, err)
				continue
			}
			m.metrics.ended("orphan")
		}
	}
	return errors.Join(errs...)
}

// recordedBox is the sandbox among boxes that rec names, or the only one
// when it names none (a launch that died before recording it).
func recordedBox(rec db.Preview, boxes []backend.Sandbox) (backend.Sandbox, bool) {
	for _, c := range boxes {
		if c.ID == rec.ContainerID {
			return c, true
		}
	}
	if len(boxes) == 1 && rec.ContainerID == "" {
		return boxes[0], true
	}
	return backend.Sandbox{}, false
}

// sandboxHandle names a listed sandbox of a preview.
func sandboxHandle(previewID string, c backend.Sandbox) backend.Handle {
	port, _ := strconv.Atoi(c.Labels[LabelPort])
	return backend.Handle{ID: c.ID, PreviewID: previewID, Port: port, Slot: backend.SlotOf(c.Labels)}
}

// runnerContainers lists this runner's containers by preview id.
func (m *Manager) runnerContainers(ctx context.Context) (map[string][]backend.Sandbox, error) {
	list, err := m.backend.List(ctx)
	if err != nil {
		return nil, err
	}
	byPreview := map[string][]backend.Sandbox{}
	for _, c := range list {
		if c.Labels[LabelRunner] == m.cfg.RunnerID {
			id := c.Labels[LabelPreview]
			byPreview[id] = append(byPreview[id], c)
		}
	}
	return byPreview, nil
}

// sweepOrphans removes this runner's containers, once they are older than
// the grace period, that no preview of this process holds (a launch in
// flight has created its container before it is registered nowhere else),
// and ends the previews of this process whose record is gone.
func (m *Manager) sweepOrphans(ctx context.Context, now time.Time) error {
	byPreview, err := m.runnerContainers(ctx)
	if err != nil {
		return err
	}
	var errs []error
	var held []*instance
	for previewID, boxes := range byPreview {
		in := m.instance(previewID)
		if in != nil && in.recorded.Load() {
			held = append(held, in)
		}
		for _, c := range boxes {
			if now.Sub(c.Created) < m.cfg.OrphanGrace || m.pooledMember(previewID) != nil {
				continue
			}
			// A live preview holds its current container, and the next
			// one while it moves to it.
			if in != nil && (in.container() == "" || c.ID == in.container() || in.moving.Load()) {
				continue
			}
			if err := m.backend.Remove(ctx, sandboxHandle(previewID, c), 0); err != nil {
				errs = append(errs, err)
				continue
			}
			m.log.Warn("removed orphan container", "preview_id", previewID, "container_id", c.ID)
			m.metrics.ended("orphan")
		}
	}
	errs = append(errs, m.endUnrecorded(ctx, held))
	return errors.Join(errs...)
}

// endUnrecorded ends those of the held previews whose record is gone: no
// session can reach them, and nothing else would ever stop them.
func (m *Manager) endUnrecorded(ctx context.Context, held []*instance) error {
	if len(held) == 0 {
		return nil
	}
	ids := make([]string, len(held))
	for i, in := range held {
		ids[i] = in.rec.ID
	}
	missing, err := m.records.MissingPreviews(ctx, ids)
	if err != nil {
		return err
	}
	for _, in := range held {
		if !slices.Contains(missing, in.rec.ID) || !in.stopping.CompareAndSwap(false, true) {
			continue
		}
		m.log.Warn("stopping a preview whose record is gone", "preview_id", in.rec.ID, "container_id", in.container())
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.endWith(in, db.Finish{Status: db.StatusStopped, Error: "its record was deleted"})
		}()
	}
	return nil
}

// endUnowned ends a record this process holds no instance for; c is its
// sandbox, if it has one.
func (m *Manager) endUnowned(ctx context.Context, rec db.Preview, c backend.Sandbox, reason, cleanup string) error {
	if c.ID != "" {
		if err := m.backend.Remove(ctx, sandboxHandle(rec.ID, c), 0); err != nil {
			return err
		}
	}
	if _, err := m.records.FinishPreview(ctx, rec.ID, db.Finish{Status: db.StatusFailed, Error: reason}); err != nil {
		return err
	}
	m.metrics.ended(cleanup)
	return nil
}

// adopt takes over a running preview container.
func (m *Manager) adopt(rec db.Preview, c backend.Sandbox) error {
	containerID, slot := c.ID, backend.SlotOf(c.Labels)
	ctx, cancel := context.WithTimeout(m.base, shortCall)
	lastSeq, err := m.records.LastLogSeq(ctx, rec.ID)
	cancel()
	if err != nil {
		return fmt.Errorf("adopt preview %s: %w", rec.ID, err)
	}
	// A preview started by an earlier previewd may not have been sealed;
	// its shim answers by now. One that cannot be sealed is not taken over.
	h := backend.Handle{ID: containerID, PreviewID: rec.ID, Port: rec.Port, Slot: slot}
	if err := m.backend.Seal(m.base, h); err != nil {
		return fmt.Errorf("adopt preview %s: %w", rec.ID, err)
	}
	m.mu.Lock()
	l, err := m.ports.ReservePort(rec.Port)
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("adopt preview %s on port %s: %w", rec.ID, strconv.Itoa(rec.Port), err)
	}
	in := &instance{
		rec:      rec,
		forward:  m.backend.Forward(l, h),
		launched: make(chan struct{}),
		exited:   make(chan struct{}),
		ended:    make(chan struct{}),
	}
	in.ctx, in.cancel = context.WithCancel(m.base)
	in.setContainer(containerID, slot)
	in.lastActive.Store(rec.LastActiveAt.UnixNano())
	in.restarts.Store(int64(rec.Restarts))
	in.oomKills.Store(int64(rec.OOMKills))
	// oomBase stays 0: the kernel's count for this run of the container
	// already holds the kills recorded so far. (If the app had been
	// restarted, earlier runs' kills are not in it, and new kills are
	// recorded only once this run's count passes the recorded total.)
	in.running.Store(true)
	in.recorded.Store(true)
	in.logs.Store(m.newLogPipeline(rec.ID, lastSeq))
	in.logs.Load().takeOver(h)
	close(in.launched)
	m.mu.Lock()
	m.live[rec.ID] = in
	m.metrics.setPorts(m.ports.InUse())
	m.mu.Unlock()
	m.wg.Add(3)
	go func() { defer m.wg.Done(); in.forward.Serve() }()
	go func() { defer m.wg.Done(); m.watchExit(in, in.exited) }()
	go func() { defer m.wg.Done(); m.watchStats(in) }()
	return nil
}

// Touched records proxied traffic of a running preview: it keeps the preview
// from expiring for idleness. Status calls and health probes do not touch.
func (m *Manager) Touched(previewID string) {
	if in := m.instance(previewID); in != nil {
		in.lastActive.Store(time.Now().UnixNano())
	}
}

// Run expires previews that reached their maximum uptime or sat idle for
// IdleTimeout, every SweepEvery removes orphan containers, keeps the warm
// pool filled and follows the engine's out-of-memory events, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	var background sync.WaitGroup
	defer background.Wait()
	background.Add(1)
	go func() {
		defer background.Done()
		m.watchOOM(ctx)
	}()
	background.Add(1)
	go func() {
		defer background.Done()
		// The pool's containers are made with the trees, which an engine
		// that has the images unpacks in seconds.
		m.Prepare(ctx)
		if m.pool != nil {
			m.fillPool(ctx)
		}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	sweep := time.NewTicker(m.cfg.SweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-sweep.C:
			if err := m.sweepOrphans(ctx, now); err != nil && ctx.Err() == nil {
				m.log.Error("sweep orphan containers", "err", err)
			}
			if err := m.backend.Sweep(ctx, m.started, now); err != nil && ctx.Err() == nil {
				m.log.Error("sweep scratch containers", "err", err)
			}
		case now := <-t.C:
			for _, in := range m.snapshot() {
				if reason := m.expiry(in, now); reason != "" && in.stopping.CompareAndSwap(false, true) {
					m.wg.Add(1)
					go func() {
						defer m.wg.Done()
						m.end(in, db.StatusExpired, reason)
					}()
				}
			}
		}
	}
}

// Prepare does what the first launches of each runtime image would otherwise
// wait for: it reads what the images have installed and lets the backend
// ready them (the Docker backend learns the engine's storage driver, prunes
// the trees of removed images and unpacks those of the runtime images).
// First it has the backend remove what helpers of an earlier run of this
// runner did not finish. Run does it before filling the warm pool; a caller
// that wants it done before the first launch calls it before Run.
func (m *Manager) Prepare(ctx context.Context) {
	if err := m.backend.Sweep(ctx, m.started, time.Now()); err != nil {
		m.log.Warn("could not remove scratch containers left by an earlier run", "err", err)
	}
	m.images.learn(ctx, m.cfg.Images)
	refs := make([]string, 0, len(m.cfg.Images))
	for _, runtime := range sortedKeys(m.cfg.Images) {
		refs = append(refs, m.cfg.Images[runtime])
	}
	m.backend.Prepare(ctx, refs)
}

// expiry says why a running preview should expire now, or "".
func (m *Manager) expiry(in *instance, now time.Time) string {
	switch {
	case !in.running.Load():
		return ""
	case now.After(in.rec.ExpiresAt):
		return "the preview reached its maximum uptime"
	case m.cfg.IdleTimeout > 0 && now.Sub(time.Unix(0, in.lastActive.Load())) > m.cfg.IdleTimeout:
		return fmt.Sprintf("the preview was idle (no proxied request) for %s", m.cfg.IdleTimeout)
	}
	return ""
}
