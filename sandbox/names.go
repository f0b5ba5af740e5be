package sandbox

import "github.com/previewd/previewd/sandbox/backend"

// The labels of every preview's sandbox, by their names in this package.
const (
	LabelManaged    = backend.LabelManaged
	LabelPreview    = backend.LabelPreview
	LabelGeneration = backend.LabelGeneration
	LabelOwner      = backend.LabelOwner
	LabelRunner     = backend.LabelRunner
	LabelPort       = backend.LabelPort
	LabelWarm       = backend.LabelWarm
)

// Caps are the resource limits of one preview.
type Caps = backend.Caps

// SandboxUID is the uid (and gid) of the preview on port.
func SandboxUID(port int) int { return backend.SandboxUID(port) }

// ErrEngineUnavailable means the engine that runs the previews cannot be
// reached.
var ErrEngineUnavailable = backend.ErrEngineUnavailable
