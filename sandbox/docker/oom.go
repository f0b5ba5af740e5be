package docker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/previewd/previewd/sandbox/backend"
)

// OOMKills reads the kernel's count of processes killed for memory in the
// container's current run, from its memory cgroup: the engine may send
// several oom events for one kill. It needs the cgroups of the engine's
// host; ok is false where they cannot be read.
func (d *Backend) OOMKills(ctx context.Context, h backend.Handle) (int64, bool) {
	st, err := d.inspect(ctx, d.containerOf(h))
	if err != nil || st.Pid <= 0 {
		return 0, false
	}
	return kernelOOMKills(st.Pid)
}

// kernelOOMKills reads the kernel's count of processes killed for memory in
// the memory cgroup of process pid (cgroup v1 memory.oom_control, or v2
// memory.events).
func kernelOOMKills(pid int) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			file = filepath.Join("/sys/fs/cgroup", parts[2], "memory.events")
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			file = filepath.Join("/sys/fs/cgroup/memory", parts[2], "memory.oom_control")
		default:
			continue
		}
		if n, ok := readOOMKill(file); ok {
			return n, true
		}
	}
	return 0, false
}

func readOOMKill(file string) (int64, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
