package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/previewd/previewd/sandbox/backend"
)

func TestContainerSpec(t *testing.T) {
	cfg, host := containerConfig(containerSpec{Spec: backend.Spec{
		PreviewID: "p1", GenerationID: "g1", Owner: "alice", RunnerID: "r1", Port: 3005,
		Image: "previewd/runtime-python:latest",
		Caps:  backend.Caps{MemoryMB: 256, CPUs: 0.5, Pids: 128}, Env: map[string]string{"PORT": "8000", "A": "b"},
		WorkdirMB: 128, TmpMB: 64, LogMaxBytes: 20 << 20, NoFile: 4096,
	}, RunDir: "/var/lib/previewd/run/p1"})
	checks := []struct {
		name string
		ok   bool
	}{
		{"image", cfg.Image == "previewd/runtime-python:latest"},
		{"a non-root user of its own, by port", cfg.User == "103005:103005"},
		{"env sorted", slices.Equal(cfg.Env, []string{"A=b", "LOGNAME=preview", "PORT=8000", "USER=preview"})},
		{"labels", cfg.Labels[backend.LabelManaged] == "true" && cfg.Labels[backend.LabelPreview] == "p1" &&
			cfg.Labels[backend.LabelGeneration] == "g1" && cfg.Labels[backend.LabelOwner] == "alice" &&
			cfg.Labels[backend.LabelRunner] == "r1" && cfg.Labels[backend.LabelPort] == "3005"},
		{"no network", host.NetworkMode == "none" && cfg.NetworkDisabled},
		{"no published ports", len(host.PortBindings) == 0 && len(cfg.ExposedPorts) == 0},
		{"read-only root", host.ReadonlyRootfs},
		{"all capabilities dropped", slices.Equal(host.CapDrop, []string{"ALL"}) && len(host.CapAdd) == 0},
		{"no new privileges", slices.Contains(host.SecurityOpt, "no-new-privileges")},
		{"not privileged", !host.Privileged},
		{"init reaps zombies", host.Init != nil && *host.Init},
		{"memory cap", host.Memory == 256<<20},
		{"no swap beyond memory", host.MemorySwap == host.Memory},
		{"cpu cap", host.NanoCPUs == 500_000_000},
		{"pids cap", host.PidsLimit != nil && *host.PidsLimit == 128},
		{"nofile ulimit", len(host.Ulimits) == 1 && host.Ulimits[0].Name == "nofile" && host.Ulimits[0].Hard == 4096},
		{"writable app dir, size-capped", strings.Contains(host.Tmpfs["/app"], "size=128m") && strings.Contains(host.Tmpfs["/app"], "uid=103005")},
		{"writable tmp, size-capped", strings.Contains(host.Tmpfs["/tmp"], "size=64m")},
		{"tmpfs inodes capped", strings.Contains(host.Tmpfs["/tmp"], "nr_inodes=") && strings.Contains(host.Tmpfs["/app"], "nr_inodes=")},
		{"run dir mounted", slices.Equal(host.Binds, []string{"/var/lib/previewd/run/p1:/run/preview:rw"})},
		{"no restart policy", host.RestartPolicy.Name == "no"},
		{"bounded engine log", host.LogConfig.Type == "json-file" && host.LogConfig.Config["max-size"] == "10485760" && host.LogConfig.Config["max-file"] == "2"},
		{"no host namespaces", host.PidMode == "" && host.IpcMode == "" && host.UTSMode == ""},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not as expected (config %+v, host %+v)", c.name, cfg, host)
		}
	}
}

func TestContainerName(t *testing.T) {
	if got := ContainerName("abc"); got != "previewd-abc" {
		t.Fatalf("ContainerName = %q", got)
	}
}
