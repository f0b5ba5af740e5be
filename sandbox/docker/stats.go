package docker

import (
	"github.com/docker/docker/api/types/container"

	"github.com/previewd/previewd/sandbox/backend"
)

// statsFrom turns an engine sample into Stats. CPU use is measured between this
// sample and the previous one (the engine's precpu is empty on the first).
func statsFrom(s container.StatsResponse, prev *container.StatsResponse) backend.Stats {
	st := backend.Stats{
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
