package docker

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-units"

	"github.com/previewd/previewd/sandbox/backend"
)

// ContainerNamePrefix starts the name of every preview container.
const ContainerNamePrefix = "previewd-"

// RunDirInContainer is where the host's per-preview directory with the shim's
// sockets is mounted.
const RunDirInContainer = "/run/preview"

// tmpfsInodes caps the files (and directories) in each writable tmpfs, so
// that a million empty files end in ENOSPC rather than in the kernel's
// memory for their inodes; an upload holds at most a few thousand.
const tmpfsInodes = 32768

// containerSpec is a preview's neutral spec plus where its files are on the
// host.
type containerSpec struct {
	backend.Spec
	RunDir string   // host directory mounted at RunDirInContainer
	Binds  []string // more binds ("host:container:ro"): the runtime's tree
}

// ContainerName is the engine name of a preview's container (of slot 0).
func ContainerName(previewID string) string { return ContainerNamePrefix + previewID }

// slotSuffix ends the names of a preview's container and run directory in
// slot: nothing for slot 0, "-s<slot>" after.
func slotSuffix(slot int) string {
	if slot == 0 {
		return ""
	}
	return "-s" + strconv.Itoa(slot)
}

// containerConfig turns a spec into the engine's container and host
// configuration. The container has no network at all (only loopback);
// previewd reaches the app through the shim's unix socket in RunDir.
func containerConfig(s containerSpec) (*container.Config, *container.HostConfig) {
	// The preview's uid has no name in the images; programs that ask for the
	// user's name find one here.
	env := []string{"USER=preview", "LOGNAME=preview"}
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	uid := backend.SandboxUID(s.Port)
	memory := int64(s.Caps.MemoryMB) * units.MiB
	pids := int64(s.Caps.Pids)
	init := true

	cfg := &container.Config{
		Image:      s.Image,
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Env:        env,
		WorkingDir: "/app",
		Labels: map[string]string{
			backend.LabelManaged:    "true",
			backend.LabelPreview:    s.PreviewID,
			backend.LabelGeneration: s.GenerationID,
			backend.LabelOwner:      s.Owner,
			backend.LabelRunner:     s.RunnerID,
			backend.LabelPort:       strconv.Itoa(s.Port),
			backend.LabelWarm:       strconv.FormatBool(s.Warm),
		},
		NetworkDisabled: true,
		StopSignal:      "SIGTERM",
	}
	if s.Slot > 0 {
		cfg.Labels[backend.LabelSlot] = strconv.Itoa(s.Slot)
	}
	host := &container.HostConfig{
		NetworkMode:    "none",
		Binds:          append([]string{s.RunDir + ":" + RunDirInContainer + ":rw"}, s.Binds...),
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Init:           &init,
		Tmpfs: map[string]string{
			"/app": fmt.Sprintf("rw,nosuid,nodev,noexec,size=%dm,nr_inodes=%d,uid=%d,gid=%d,mode=0755", s.WorkdirMB, tmpfsInodes, uid, uid),
			"/tmp": fmt.Sprintf("rw,nosuid,nodev,noexec,size=%dm,nr_inodes=%d,mode=1777", s.TmpMB, tmpfsInodes),
		},
		ShmSize:       16 * units.MiB,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig: container.LogConfig{
			Type: "json-file",
			Config: map[string]string{
				"max-size": strconv.FormatInt(s.LogMaxBytes/2, 10),
				"max-file": "2",
			},
		},
		Resources: container.Resources{
			Memory:     memory,
			MemorySwap: memory, // no swap: the memory cap is the real cap
			NanoCPUs:   int64(s.Caps.CPUs * 1e9),
			PidsLimit:  &pids,
			Ulimits: []*container.Ulimit{
				{Name: "nofile", Soft: s.NoFile, Hard: s.NoFile},
			},
		},
	}
	return cfg, host
}
