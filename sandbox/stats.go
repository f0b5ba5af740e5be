package sandbox

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
)

// statsReadTimeout bounds an on-demand sample: past it the status answers
// without figures rather than wait on a slow engine.
const statsReadTimeout = 2 * time.Second

// Stats is a resource sample of a running preview.
type Stats struct {
	At          time.Time
	MemoryBytes uint64
	MemoryLimit uint64
	CPUPercent  float64 // of one CPU: 50 means half a core
	CPUSeconds  float64 // total CPU time used since start
	Pids        uint64
}

// statsFrom turns an engine sample into Stats. CPU use is measured between this
// sample and the previous one (the engine's precpu is empty on the first).
func statsFrom(s container.StatsResponse, prev *container.StatsResponse) Stats {
	st := Stats{
		At:          s.Read,
		MemoryBytes: workingSet(s.MemoryStats),
		MemoryLimit: s.MemoryStats.Limit,
		CPUSeconds:  float64(s.CPUStats.CPUUsage.TotalUsage) / 1e9,
		Pids:        s.PidsStats.Current,
	}
	pre := s.PreCPUStats
	if pre.SystemUsage == 0 && prev != nil {
		pre = prev.CPUStats
	}
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(pre.CPUUsage.TotalUsage)
	sysDelta := float64(s.CPUStats.SystemUsage) - float64(pre.SystemUsage)
	cpus := float64(s.CPUStats.OnlineCPUs)
	if cpus == 0 {
		cpus = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if cpuDelta > 0 && sysDelta > 0 && cpus > 0 {
		st.CPUPercent = cpuDelta / sysDelta * cpus * 100
	}
	return st
}

// workingSet is memory use as `docker stats` shows it: usage without the page
// cache the kernel can drop (total_inactive_file on cgroup v1, inactive_file on v2).
func workingSet(m container.MemoryStats) uint64 {
	cache := m.Stats["inactive_file"]
	if v, ok := m.Stats["total_inactive_file"]; ok {
		cache = v
	}
	if cache > m.Usage {
		return m.Usage
	}
	return m.Usage - cache
}

// readStats takes a sample of a running preview now, from one engine
// reading. CPU use needs two; here the second is the container's start (no
// CPU used then), so cpu_percent is the average since the container
// started, until the stream's first sample. A second reading of the engine
// would be more current but takes about a second on Docker 20.10 (the first
// one-shot reading of a container comes at once, the next ones do not).
func (m *Manager) readStats(in *instance) (*Stats, error) {
	ctx, cancel := context.WithTimeout(in.ctx, statsReadTimeout)
	defer cancel()
	s, err := m.docker.StatsOnce(ctx, in.container())
	if err != nil {
		return nil, err
	}
	st := statsFrom(s, nil)
	if state, err := m.docker.State(ctx, in.container()); err == nil && !state.StartedAt.IsZero() {
		if up := s.Read.Sub(state.StartedAt).Seconds(); up > 0 {
			st.CPUPercent = st.CPUSeconds / up * 100
		}
	}
	return &st, nil
}
