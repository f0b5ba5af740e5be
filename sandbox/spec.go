package sandbox

import (
	"strconv"

	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/framework"
)

// spec is the sandbox of a preview in, from image, with the caps it
// starts with; it names no generation (a warm one has none yet).
func (m *Manager) spec(in *instance, image string) backend.Spec {
	return backend.Spec{
		PreviewID: in.rec.ID, RunnerID: m.cfg.RunnerID, Port: in.rec.Port,
		Image: image, RuntimeImage: m.isRuntimeImage(image),
		Caps:      Caps{MemoryMB: in.rec.MemoryMB, CPUs: m.startCPUs(in.rec.CPUs), Pids: in.rec.Pids},
		Env:       m.containerEnv(),
		WorkdirMB: m.cfg.WorkdirMB, TmpMB: m.cfg.TmpMB, LogMaxBytes: m.cfg.LogMaxBytes, NoFile: m.cfg.NoFile,
		Warm: in.rec.Warm,
	}
}

func (m *Manager) isRuntimeImage(ref string) bool {
	for _, r := range m.cfg.Images {
		if r == ref {
			return true
		}
	}
	return false
}

// startCPUs is the CPU cap a preview with cap cpus starts with.
func (m *Manager) startCPUs(cpus float64) float64 { return max(cpus, m.cfg.StartCPUs) }

// boosted reports whether a preview with cap cpus starts with more.
func (m *Manager) boosted(cpus float64) bool { return m.startCPUs(cpus) != cpus }

// containerEnv is the environment every preview container starts with: where
// the app listens, and the shim's output pace.
func (m *Manager) containerEnv() map[string]string {
	env := map[string]string{"PORT": strconv.Itoa(framework.AppPort), "HOST": "0.0.0.0"}
	if m.cfg.OutputLinesPerSec > 0 {
		env["PREVIEW_OUTPUT_LINES"] = strconv.Itoa(m.cfg.OutputLinesPerSec)
	}
	return env
}

// appEnv is the environment the app gets on top of the image's: the plan's,
// the user's, and where to listen.
func appEnv(plan framework.Plan, userEnv map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range plan.Env {
		env[k] = v
	}
	for k, v := range userEnv {
		env[k] = v
	}
	// The app must listen where the shim relays to, whatever the user set.
	env["PORT"] = strconv.Itoa(framework.AppPort)
	env["HOST"] = "0.0.0.0"
	return env
}
