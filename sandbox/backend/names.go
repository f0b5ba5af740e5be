package backend

import "strconv"

// Labels put on every sandbox previewd creates; reconciliation finds its
// sandboxes by them.
const (
	LabelManaged    = "io.previewd.managed"
	LabelPreview    = "io.previewd.preview-id"
	LabelGeneration = "io.previewd.generation-id"
	LabelOwner      = "io.previewd.owner"
	LabelRunner     = "io.previewd.runner-id"
	LabelPort       = "io.previewd.port"
	// LabelWarm marks a sandbox started for the warm pool. Its generation
	// and owner labels stay empty: it is claimed by a launch later.
	LabelWarm = "io.previewd.warm"
	// LabelSlot is Spec.Slot, on the sandboxes of a slot above 0.
	LabelSlot = "io.previewd.slot"
)

// SlotOf reads a sandbox's slot from its labels; 0 when it has none.
func SlotOf(labels map[string]string) int {
	n, err := strconv.Atoi(labels[LabelSlot])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Each preview runs as an unprivileged uid of its own, derived from its host
// port, which no other live preview on the host holds: per-user kernel
// limits (inotify instances, message queues, keyrings) are then not shared
// between previews. The runtime images' files belong to root and are
// world-readable, so any uid runs them.
const sandboxUIDBase = 100000

// SandboxUID is the uid (and gid) of the preview on port.
func SandboxUID(port int) int { return sandboxUIDBase + port }

// BuildUID is the uid (and gid) installs run as: below every preview's, so
// no preview shares it.
const BuildUID = sandboxUIDBase - 1

// depsRoot is where dependency installs put their packages, in the install's
// sandbox and in the dependency image.
const depsRoot = "/opt/previewd/deps"

// InstallTarget is where runtime's packages are installed, in the install's
// sandbox and in the dependency image.
func InstallTarget(runtime string) string { return depsRoot + "/" + runtime }
