package browser

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// The browser runs in a cgroup of its own, made under previewd's own cgroup
// in the memory and pids controllers: a page that eats memory or forks
// without end brings the kernel's OOM killer or fork refusal onto the
// browser's processes, never onto previewd or the previews. Chromium is
// started through /bin/sh, which moves itself into the cgroup and then
// execs Chromium, so that every process Chromium forks is born inside it.
// (An RLIMIT_AS is no cap: Chromium reserves far more address space than it
// uses, and each process would have its own.) Where the cgroup file system
// is not writable the browser runs without a cap and Cap says why.

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupSeq numbers the cgroups of the browsers of this process.
var cgroupSeq atomic.Int64

// cgroup is the browser's cgroup: one directory per v1 controller, or one
// v2 directory.
type cgroup struct {
	dirs []string
	desc string // what the cap is, for Cap
}

// cgroupPlan is where the browser's cgroup goes and what to write there.
type cgroupPlan struct {
	dirs   []string
	writes []cgroupWrite // in order, after the directories exist
}

type cgroupWrite struct {
	file, value string
	optional    bool // a file some kernels lack (swap accounting off)
}

// planCgroup says where a cgroup called name goes under root for a process
// whose /proc/self/cgroup reads procCgroup, and the limits to write: v2
// when root is the unified hierarchy (v2 says so with cgroup.controllers at
// its root), else a directory in each of the memory and pids v1
// hierarchies.
func planCgroup(root string, procCgroup []byte, v2 bool, name string, memoryMB, pids int) (cgroupPlan, error) {
	paths := map[string]string{}
	for _, line := range strings.Split(string(procCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			paths[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}
	mem := strconv.FormatInt(int64(memoryMB)<<20, 10)
	if v2 {
		own, ok := paths[""]
		if !ok {
			return cgroupPlan{}, errors.New("no cgroup v2 path in /proc/self/cgroup")
		}
		dir := filepath.Join(root, own, name)
		return cgroupPlan{dirs: []string{dir}, writes: []cgroupWrite{
			{file: filepath.Join(dir, "memory.max"), value: mem},
			{file: filepath.Join(dir, "memory.swap.max"), value: "0", optional: true},
			{file: filepath.Join(dir, "pids.max"), value: strconv.Itoa(pids)},
		}}, nil
	}
	memPath, ok1 := paths["memory"]
	pidsPath, ok2 := paths["pids"]
	if !ok1 || !ok2 {
		return cgroupPlan{}, errors.New("no memory or pids cgroup v1 path in /proc/self/cgroup")
	}
	memDir := filepath.Join(root, "memory", memPath, name)
	pidsDir := filepath.Join(root, "pids", pidsPath, name)
	return cgroupPlan{dirs: []string{memDir, pidsDir}, writes: []cgroupWrite{
		{file: filepath.Join(memDir, "memory.limit_in_bytes"), value: mem},
		// Memory and swap together: without it the cap spills into swap.
		{file: filepath.Join(memDir, "memory.memsw.limit_in_bytes"), value: mem, optional: true},
		{file: filepath.Join(pidsDir, "pids.max"), value: strconv.Itoa(pids)},
	}}, nil
}

// newCgroup makes the browser's cgroup with its caps.
func newCgroup(memoryMB, pids int) (*cgroup, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	_, err = os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	v2 := err == nil
	name := fmt.Sprintf("previewd-browser-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	plan, err := planCgroup(cgroupRoot, self, v2, name, memoryMB, pids)
	if err != nil {
		return nil, err
	}
	cg := &cgroup{}
	if v2 {
		// The controllers must be on for the children of previewd's
		// cgroup; the kernel refuses when previewd's cgroup holds
		// processes itself (not at the root), and then there is no cap.
		parent := filepath.Dir(plan.dirs[0])
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
			return nil, fmt.Errorf("enable the memory and pids controllers under %s: %w", parent, err)
		}
	}
	for _, dir := range plan.dirs {
		if err := os.Mkdir(dir, 0o755); err != nil {
			cg.remove()
			return nil, fmt.Errorf("make the browser's cgroup: %w", err)
		}
		cg.dirs = append(cg.dirs, dir)
	}
	for _, w := range plan.writes {
		err := os.WriteFile(w.file, []byte(w.value), 0)
		if err != nil && !(w.optional && errors.Is(err, os.ErrNotExist)) {
			cg.remove()
			return nil, fmt.Errorf("cap the browser's cgroup: %w", err)
		}
	}
	version := "v1"
	if v2 {
		version = "v2"
	}
	cg.desc = fmt.Sprintf("cgroup %s: memory %d MiB, pids %d", version, memoryMB, pids)
	return cg, nil
}

// wrap makes cmd start in the cgroup: /bin/sh joins it, then execs the
// browser with its arguments, keeping the process id chromedp waits on.
func (cg *cgroup) wrap(cmd *exec.Cmd) {
	const script = `IFS=:
for d in $PREVIEWD_BROWSER_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 125; done
unset PREVIEWD_BROWSER_CGROUPS
exec "$@"`
	args := append([]string{"/bin/sh", "-c", script, "previewd-browser", cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args = "/bin/sh", args
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "PREVIEWD_BROWSER_CGROUPS="+strings.Join(cg.dirs, ":"))
}

// remove deletes the cgroup's directories; the kernel refuses while a
// process is left in one, which remove reports.
func (cg *cgroup) remove() error {
	var errs []error
	for _, dir := range cg.dirs {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
