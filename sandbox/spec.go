package sandbox

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-units"
)

// Labels put on every container previewd creates; reconciliation finds its
// containers by them.
const (
	LabelManaged    = "io.previewd.managed"
	LabelPreview    = "io.previewd.preview-id"
	LabelGeneration = "io.previewd.generation-id"
	LabelOwner      = "io.previewd.owner"
	LabelRunner     = "io.previewd.runner-id"
	LabelPort       = "io.previewd.port"
	// LabelWarm marks a container started for the warm pool. Its generation
	// and owner labels stay empty: it is claimed by a launch later.
	LabelWarm = "io.previewd.warm"
)

// ContainerNamePrefix starts the name of every preview container.
const ContainerNamePrefix = "previewd-"

// Each preview runs as an unprivileged uid of its own, derived from its host
// port, which no other live preview on the host holds: per-user kernel
// limits (inotify instances, message queues, keyrings) are then not shared
// between previews. The runtime images' files belong to root and are
// world-readable, so any uid runs them.
const sandboxUIDBase = 100000

// SandboxUID is the uid (and gid) of the preview on port.
func SandboxUID(port int) int { return sandboxUIDBase + port }

// RunDirInContainer is where the host's per-preview directory with the shim's
// sockets is mounted.
const RunDirInContainer = "/run/preview"

// tmpfsInodes caps the files (and directories) in each writable tmpfs, so
// that a million empty files end in ENOSPC rather than in the kernel's
// memory for their inodes; an upload holds at most a few thousand.
const tmpfsInodes = 32768

// Caps are the resource limits of one preview.
type Caps struct {
	MemoryMB int
	CPUs     float64
	Pids     int
}

// Spec is everything needed to create one preview container.
type Spec struct {
	PreviewID    string
	GenerationID string
	Owner        string
	RunnerID     string
	Port         int
	Image        string
	RunDir       string   // host directory mounted at RunDirInContainer
	Binds        []string // more binds ("host:container:ro"): the runtime's tree
	Caps         Caps
	Env          map[string]string
	WorkdirMB    int // size of the writable /app
	TmpMB        int // size of the writable /tmp
	LogMaxBytes  int64
	NoFile       int64
	Warm         bool // created for the warm pool
}

// ContainerName is the engine name of a preview's container.
func ContainerName(previewID string) string { return ContainerNamePrefix + previewID }

// ContainerSpec turns a Spec into the engine's container and host configuration.
// The container has no network at all (only loopback); previewd reaches the app
// through the shim's unix socket in RunDir.
func ContainerSpec(s Spec) (*container.Config, *container.HostConfig) {
	// The preview's uid has no name in the images; programs that ask for the
	// user's name find one here.
	env := []string{"USER=preview", "LOGNAME=preview"}
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	uid := SandboxUID(s.Port)
	memory := int64(s.Caps.MemoryMB) * units.MiB
	pids := int64(s.Caps.Pids)
	init := true

	cfg := &container.Config{
		Image:      s.Image,
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Env:        env,
		WorkingDir: "/app",
		Labels: map[string]string{
			LabelManaged:    "true",
			LabelPreview:    s.PreviewID,
			LabelGeneration: s.GenerationID,
			LabelOwner:      s.Owner,
			LabelRunner:     s.RunnerID,
			LabelPort:       strconv.Itoa(s.Port),
			LabelWarm:       strconv.FormatBool(s.Warm),
		},
		NetworkDisabled: true,
		StopSignal:      "SIGTERM",
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
