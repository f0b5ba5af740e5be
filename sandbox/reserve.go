package sandbox

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/google/uuid"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/framework"
)

// prepared is the part of a launch done before its record exists when the
// warm pool is on: the files, the plan and, if it exists already, the image,
// which together say whether a warm container can take the launch.
type prepared struct {
	files    []db.File
	plan     framework.Plan
	appFiles []File
	image    string     // "" until built
	runtime  db.Runtime // what image is, once known
}

// prepare reads and plans the generation ahead of the reservation, so that
// reserve can pick a warm container of the right image. It returns nil when
// no warm container could serve the launch; the launch then does this work
// itself and reports any error in it.
func (m *Manager) prepare(ctx context.Context, req LaunchRequest, caps Caps) *prepared {
	if m.pool == nil || !warmable(req.Env) || caps.MemoryMB < warmMinMemoryMB {
		return nil
	}
	files, err := m.records.GenerationFiles(ctx, req.Generation.ID, req.Generation.Revision)
	if err != nil {
		return nil
	}
	plan, appFiles, err := planFor(req.Generation, files)
	if err != nil {
		return nil
	}
	image, rt, _ := m.images.existingImage(ctx, m.cfg.Images, plan, files)
	return &prepared{files: files, plan: plan, appFiles: appFiles, image: image, runtime: rt}
}

// refuseForeignSources answers a launch whose dependencies come from
// outside the package index (see framework.ForeignSources) before it takes
// capacity or a record, unless the operator allows them. Files that cannot
// be read or planned are left to the launch to report.
func (m *Manager) refuseForeignSources(ctx context.Context, req LaunchRequest, prep *prepared) error {
	if m.cfg.Deps.AllowURLDeps {
		return nil
	}
	var files []db.File
	var plan framework.Plan
	if prep != nil {
		files, plan = prep.files, prep.plan
	} else {
		var err error
		if files, err = m.records.GenerationFiles(ctx, req.Generation.ID, req.Generation.Revision); err != nil {
			return nil
		}
		if plan, _, err = planFor(req.Generation, files); err != nil {
			return nil
		}
	}
	byPath := make(map[string][]byte, len(files))
	for _, f := range files {
		byPath[f.Path] = f.Content
	}
	return framework.ForeignSources(plan, byPath)
}

// reserve takes capacity and a port for a new preview: a warm container's
// when one of the prepared image is ready, else new ones, removing warm
// containers when they are in the way.
func (m *Manager) reserve(g db.Generation, caps Caps, ttl time.Duration, prep *prepared) (*instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	expires := time.Now().Add(ttl).UTC()
	if prep != nil && prep.image != "" {
		if wm := m.claimWarm(prep.image, caps); wm != nil {
			in := wm.in
			in.rec.GenerationID, in.rec.Owner = g.ID, g.Owner
			in.rec.MemoryMB, in.rec.CPUs, in.rec.Pids = caps.MemoryMB, caps.CPUs, caps.Pids
			in.rec.ExpiresAt = expires
			in.framework = g.Framework
			in.prep = prep
			m.prime(in)
			m.live[in.rec.ID] = in
			return in, nil
		}
	}
	keep := ""
	if prep != nil {
		keep = prep.image
	}
	for len(m.live)+m.pooled() >= m.cfg.MaxPreviews {
		if !m.evictWarm(keep) {
			m.metrics.capacityRefused(g.Framework)
			return nil, fmt.Errorf("%w: %d previews are running, the limit is %d", ErrCapacity, len(m.live), m.cfg.MaxPreviews)
		}
	}
	l, err := m.ports.Reserve()
	for err != nil && m.evictWarm(keep) {
		l, err = m.ports.Reserve()
	}
	if err != nil {
		m.metrics.capacityRefused(g.Framework)
		return nil, fmt.Errorf("%w: %v", ErrCapacity, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	id := uuid.NewString()
	in := &instance{
		rec: db.Preview{
			ID: id, GenerationID: g.ID, Owner: g.Owner, RunnerID: m.cfg.RunnerID,
			Status: db.StatusStarting, Port: port, MemoryMB: caps.MemoryMB, CPUs: caps.CPUs, Pids: caps.Pids,
			ExpiresAt: expires,
		},
		framework: g.Framework,
		forward:   m.backend.Forward(l, backend.Handle{PreviewID: id, Port: port}),
		launched:  make(chan struct{}),
		prep:      prep,
	}
	m.prime(in)
	m.live[id] = in
	m.metrics.setPorts(m.ports.InUse())
	return in, nil
}

// prime readies what a Stop of a reserved preview uses, before the preview
// is in m.live where a Stop finds it: a Stop may come as soon as the
// record is inserted, before the launch itself has begun.
func (m *Manager) prime(in *instance) {
	in.ctx, in.cancel = context.WithCancel(m.base)
	in.ended = make(chan struct{})
	in.exited = make(chan struct{})
}

// pooled counts the warm pool's containers; m.mu is held.
func (m *Manager) pooled() int {
	if m.pool == nil {
		return 0
	}
	return len(m.pool.byID)
}

// unreserve gives back what reserve took; the forwarder must not be serving.
// A claimed warm container is removed: its record was never written.
func (m *Manager) unreserve(in *instance) {
	in.cancel()
	in.forward.Close()
	m.mu.Lock()
	delete(m.live, in.rec.ID)
	m.ports.Release(in.rec.Port)
	m.metrics.setPorts(m.ports.InUse())
	m.mu.Unlock()
	if in.rec.Warm {
		m.teardownWarm(&warmMember{in: in})
	}
}

// planFor works out how to start the generation's app from its files.
func planFor(g db.Generation, files []db.File) (framework.Plan, []File, error) {
	byPath := make(map[string][]byte, len(files))
	out := make([]File, len(files))
	for i, f := range files {
		byPath[f.Path] = f.Content
		out[i] = File{Path: f.Path, Content: f.Content}
	}
	plan, err := framework.Detect(byPath, framework.Name(g.Framework))
	if err != nil {
		return framework.Plan{}, nil, err
	}
	return plan, out, nil
}
