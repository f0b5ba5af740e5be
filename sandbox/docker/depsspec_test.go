package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/previewd/previewd/sandbox/backend"
)

// TestInstallContainerSpec: the install container runs as a non-root uid
// with no capabilities, no-new-privileges, a read-only root, no network,
// the preview's caps and only the build's own directories mounted.
func TestInstallContainerSpec(t *testing.T) {
	for _, s := range []backend.InstallSpec{
		{Runtime: "python", Image: "py", RunnerID: "r1", ControlDir: "/run/b/ctl", TargetDir: "/run/b/out", TmpDir: "/run/b/tmp",
			Caps: backend.Caps{MemoryMB: 300, CPUs: 0.5, Pids: 200}, NoFile: 1024, IndexURL: "http://10.0.0.5:3141/simple/"},
		{Runtime: "node", Image: "node", RunnerID: "r1", ControlDir: "/run/b/ctl", TargetDir: "/run/b/out", TmpDir: "/run/b/tmp",
			Caps: backend.Caps{MemoryMB: 300, CPUs: 0.5, Pids: 200}, NoFile: 1024, Registry: "https://registry.npmjs.org/"},
	} {
		cfg, host, err := installContainerSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		cmd := strings.Join(append(cfg.Entrypoint, cfg.Cmd...), " ")
		switch {
		case cfg.User != "99999:99999" || strings.HasPrefix(cfg.User, "0"):
			t.Errorf("%s: user %q", s.Runtime, cfg.User)
		case !slices.Equal(host.CapDrop, []string{"ALL"}) || len(host.CapAdd) != 0 || host.Privileged:
			t.Errorf("%s: capabilities %v %v", s.Runtime, host.CapDrop, host.CapAdd)
		case !slices.Contains(host.SecurityOpt, "no-new-privileges") || !host.ReadonlyRootfs:
			t.Errorf("%s: security options %v, read-only %v", s.Runtime, host.SecurityOpt, host.ReadonlyRootfs)
		case host.NetworkMode != "none" || !cfg.NetworkDisabled:
			t.Errorf("%s: network %q", s.Runtime, host.NetworkMode)
		case host.Memory != 300<<20 || host.MemorySwap != 300<<20 || host.NanoCPUs != 5e8 || *host.PidsLimit != 200:
			t.Errorf("%s: caps %+v", s.Runtime, host.Resources)
		case !slices.Equal(host.Binds, []string{"/run/b/ctl:/run/previewd-build:ro", "/run/b/out:/opt/previewd/deps/" + s.Runtime + ":rw", "/run/b/tmp:/tmp:rw"}):
			t.Errorf("%s: binds %v", s.Runtime, host.Binds)
		case cfg.Labels[backend.LabelManaged] != managedScratch || cfg.Labels[backend.LabelRunner] != "r1":
			t.Errorf("%s: labels %v", s.Runtime, cfg.Labels)
		case s.Runtime == "python" && !strings.Contains(cmd, "--index-url http://10.0.0.5:3141/simple/ --trusted-host 10.0.0.5"):
			t.Errorf("python: command %q", cmd)
		case s.Runtime == "node" && (!strings.Contains(cmd, "--ignore-scripts") || !strings.Contains(cmd, "--registry https://registry.npmjs.org/")):
			t.Errorf("node: command %q", cmd)
		}
	}
	s := backend.InstallSpec{Runtime: "node", Registry: "https://registry.npmjs.org/", AllowScripts: true}
	if cmd, _ := installCommand(s); slices.Contains(cmd, "--ignore-scripts") {
		t.Errorf("install scripts allowed, but npm runs with --ignore-scripts")
	}
}
