package docker

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

func TestStatsFrom(t *testing.T) {
	s := container.StatsResponse{
		CPUStats: container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: 3_000_000_000},
			SystemUsage: 20_000_000_000, OnlineCPUs: 2,
		},
		PreCPUStats: container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: 2_000_000_000},
			SystemUsage: 16_000_000_000, OnlineCPUs: 2,
		},
		MemoryStats: container.MemoryStats{Usage: 100 << 20, Limit: 256 << 20, Stats: map[string]uint64{"total_inactive_file": 10 << 20}},
		PidsStats:   container.PidsStats{Current: 7},
	}
	st := statsFrom(s, nil)
	// 1 s of CPU over 4 s of system time on 2 CPUs: half of one core.
	if st.CPUPercent != 50 {
		t.Errorf("CPUPercent = %v, want 50", st.CPUPercent)
	}
	if st.CPUSeconds != 3 {
		t.Errorf("CPUSeconds = %v, want 3", st.CPUSeconds)
	}
	if st.MemoryBytes != 90<<20 {
		t.Errorf("MemoryBytes = %d, want %d", st.MemoryBytes, 90<<20)
	}
	if st.Pids != 7 || st.MemoryLimit != 256<<20 {
		t.Errorf("Pids = %d, MemoryLimit = %d", st.Pids, st.MemoryLimit)
	}
}
