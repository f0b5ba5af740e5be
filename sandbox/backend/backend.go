// Package backend is the seam between the preview lifecycle (package
// sandbox) and the engines that run previews: one interface and the neutral
// types that cross it. The lifecycle never sees an engine's own types; each
// engine converts a Spec into its objects itself.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Backend runs previews' sandboxes on one engine. Per-sandbox calls name the
// sandbox by a Handle. Calls on a sandbox that is gone return an error
// satisfying errors.Is(err, ErrNotFound); calls that cannot reach the engine,
// one satisfying errors.Is(err, ErrEngineUnavailable).
type Backend interface {
	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	// Prepare does ahead of the first launches what they would otherwise
	// wait for, for the runtime images named by runtimeImages.
	Prepare(ctx context.Context, runtimeImages []string)
	// Sweep removes what this backend's helpers (image copies, installs)
	// left behind: this runner's made before started, and any runner's
	// once stale.
	Sweep(ctx context.Context, started, now time.Time) error
	// Close waits for the backend's background work and releases it.
	Close() error

	// Create creates a preview's sandbox, not started, and returns its
	// engine id. It is not cancelled by ctx: a cancelled caller still gets
	// the id, to remove what was made.
	Create(ctx context.Context, s Spec) (string, error)
	// Start starts a created or stopped sandbox. Its shim makes its control
	// channel afresh.
	Start(ctx context.Context, h Handle) error
	// Seal is called once the sandbox's shim answers on its control
	// channel and before any file of the app reaches the sandbox: what the
	// shim needed to come up, and the app must not touch, is closed.
	Seal(ctx context.Context, h Handle) error
	// Control dials the shim's control channel: the shim's protocol runs
	// over HTTP on each connection.
	Control(h Handle) Dialer
	// Forward relays the connections accepted on l, a pooled host port, to
	// the sandbox's app.
	Forward(l *net.TCPListener, h Handle) Forwarder
	// App dials the sandbox's app the way a Forwarder's port does, before
	// any port relays to it: a preview's next sandbox is asked whether it
	// answers HTTP while the serving one keeps the port.
	App(h Handle) Dialer
	// SetCaps changes a running sandbox's caps; zero fields stay as they are.
	SetCaps(ctx context.Context, h Handle, caps Caps) error
	// Stop stops a sandbox and leaves it in place; one that is already
	// stopped or gone counts as stopped.
	Stop(ctx context.Context, h Handle, grace time.Duration) error
	// Remove stops (after grace) and removes a sandbox and whatever the
	// backend keeps for it. It is safe to repeat: gone counts as done.
	Remove(ctx context.Context, h Handle, grace time.Duration) error

	// Logs copies the sandbox's output, stdout and stderr apart, as
	// opts says. With Timestamps each entry comes in one Write, "<time>
	// <text>": the engine's RFC 3339 time with nanoseconds, a space, and
	// a line with its newline or a part of a longer line. A follow ends
	// when the sandbox stops, ctx ends, or the engine ends the stream.
	Logs(ctx context.Context, h Handle, opts LogOptions, stdout, stderr io.Writer) error
	// Wait returns nil once the sandbox no longer runs, ctx's error when
	// ctx ends first, or the engine's error.
	Wait(ctx context.Context, h Handle) error
	// State reports how the sandbox runs or ended.
	State(ctx context.Context, h Handle) (ExitState, error)
	// Stats calls sample with resource samples (about one a second) until
	// ctx ends or the engine ends the stream.
	Stats(ctx context.Context, h Handle, sample func(Stats)) error
	// StatsOnce reads one sample at once; it has no CPU percentage.
	StatsOnce(ctx context.Context, h Handle) (Stats, error)
	// List lists the previews' sandboxes of every runner, running or not.
	List(ctx context.Context) ([]Sandbox, error)
	// OOMEvents calls oom with the engine id of each preview sandbox in
	// which a process was killed for memory, until ctx ends or the event
	// stream fails.
	OOMEvents(ctx context.Context, oom func(id string)) error
	// OOMKills reads the kernel's count of processes killed for memory in
	// the sandbox's current run, when the backend can (ok false otherwise).
	OOMKills(ctx context.Context, h Handle) (n int64, ok bool)

	// ImageID returns the id of an image; ErrNotFound when there is none.
	ImageID(ctx context.Context, ref string) (string, error)
	// ReadImageFile reads one small file out of an image without running it.
	ReadImageFile(ctx context.Context, image, path string) ([]byte, error)
	// RunInstall runs a dependency install to its end, calling line with
	// each line of its output. An install that ran and failed returns an
	// *InstallExitError.
	RunInstall(ctx context.Context, s InstallSpec, line func(string)) error
	// BuildImage builds the image tag from a tar build context, calling
	// line with each line of the build's output.
	BuildImage(ctx context.Context, buildContext io.Reader, tag string, labels map[string]string, line func(string)) error
}

// Dialer opens a connection.
type Dialer func(ctx context.Context) (net.Conn, error)

// Forwarder relays a pooled port's connections to a sandbox's app.
type Forwarder interface {
	// Serve accepts until Close.
	Serve()
	// Dial connects to the app the way the port does, minus the relay;
	// Close ends the connection too.
	Dial(ctx context.Context) (net.Conn, error)
	// Close stops accepting (closing the listener), ends the open
	// connections and waits for them. It is safe to repeat, and to call
	// without Serve.
	Close()
	// Switch relays the connections accepted from now on to h's sandbox,
	// another sandbox of the same preview; open connections stay with the
	// one they reached.
	Switch(h Handle)
}

// Handle names one preview's sandbox.
type Handle struct {
	// ID is the engine's id; empty when the create's answer never came,
	// and the sandbox is then named by PreviewID.
	ID        string
	PreviewID string
	Port      int // the preview's pooled host port
	// Slot tells apart the sandboxes of one preview: 0 for the one it
	// launched in, n for the nth that replaced it (a change of the app's
	// dependencies moves it to a new sandbox beside the serving one).
	Slot int
}

// Errors the lifecycle tells apart.
var (
	// ErrNotFound means the sandbox (or image) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrEngineUnavailable means the engine cannot be reached.
	ErrEngineUnavailable = errors.New("docker engine unavailable")
)

// Caps are the resource limits of one preview.
type Caps struct {
	MemoryMB int
	CPUs     float64
	Pids     int
}

// Spec is everything needed to create one preview's sandbox.
type Spec struct {
	PreviewID    string
	Slot         int // see Handle.Slot
	GenerationID string
	Owner        string
	RunnerID     string
	Port         int
	Image        string
	// RuntimeImage says Image is one of the runtime images (and not one
	// derived from it): a backend may serve its files faster.
	RuntimeImage bool
	Caps         Caps
	Env          map[string]string
	WorkdirMB    int // size of the writable /app
	TmpMB        int // size of the writable /tmp
	LogMaxBytes  int64
	NoFile       int64
	Warm         bool // created for the warm pool
}

// LogOptions says which part of a sandbox's output Logs copies.
type LogOptions struct {
	Since      time.Time // from the start when zero
	Follow     bool
	Tail       int  // only the last Tail entries; 0 means all
	Timestamps bool // each entry starts with its time
}

// ExitState is how a sandbox ended (or that it still runs).
type ExitState struct {
	Running   bool
	ExitCode  int
	OOMKilled bool
	Error     string
	StartedAt time.Time
}

// Stats is a resource sample of a running sandbox.
type Stats struct {
	At          time.Time
	MemoryBytes uint64
	MemoryLimit uint64
	CPUPercent  float64 // of one CPU: 50 means half a core
	CPUSeconds  float64 // total CPU time used since start
	Pids        uint64
}

// Sandbox is one preview sandbox as List finds it.
type Sandbox struct {
	ID      string
	Labels  map[string]string
	Running bool
	Created time.Time
}

// InstallSpec is what one dependency install needs. The three directories
// are the previewd host's.
type InstallSpec struct {
	Runtime      string // "python" or "node"
	Image        string // the runtime image
	RunnerID     string
	ControlDir   string // read-only: the manifest and the allow-list proxy's socket (proxy.sock)
	TargetDir    string // mounted at InstallTarget(Runtime)
	TmpDir       string // mounted at /tmp
	Caps         Caps
	NoFile       int64
	LogMaxBytes  int64
	IndexURL     string // pip's index (python)
	Registry     string // npm's registry (node)
	AllowScripts bool   // let npm run install scripts
}

// InstallExitError is an installer that exited with a failure.
type InstallExitError struct {
	Status int
	OOM    bool // killed at the memory cap
}

// ErrInstallFailed marks an install that ran and failed (as opposed to an
// engine or host problem).
var ErrInstallFailed = errors.New("install failed")

func (e *InstallExitError) Error() string {
	if e.OOM {
		return fmt.Sprintf("install failed: out of memory (exit status %d)", e.Status)
	}
	return fmt.Sprintf("install failed: exit status %d", e.Status)
}

// Unwrap makes an InstallExitError an ErrInstallFailed.
func (e *InstallExitError) Unwrap() error { return ErrInstallFailed }
