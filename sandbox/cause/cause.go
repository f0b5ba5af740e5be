// Package cause says why a preview failed, as data a code generator can act
// on: what kind of failure, the app's own file and line, the symbol involved
// and a hint. It reads the app's output (Python tracebacks, Node error
// stacks, gunicorn and Django start-up messages) together with what previewd
// saw of the process (exit code, out-of-memory kill, time-out, restarts). It
// is pure: no I/O, so it is table-tested over captured outputs.
package cause

import (
	"fmt"
	"regexp"
	"strings"
)

// Kinds of failure, as API.md lists them.
const (
	SyntaxError       = "syntax_error"
	ImportError       = "import_error"
	MissingEnv        = "missing_env"
	ExceptionAtStart  = "exception_at_start"
	PortNotOpened     = "port_not_opened"
	Exit              = "exit"
	OOM               = "oom"
	PidsLimit         = "pids_limit"
	Timeout           = "timeout"
	CrashLoop         = "crash_loop"
	DependencyInstall = "dependency_install"
	VersionConflict   = "version_conflict"
)

// Cause is why a preview failed. File is the app's own path relative to its
// root, never a path of the host or the image; Line is 0 when unknown.
type Cause struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Symbol  string `json:"symbol"`
	Hint    string `json:"hint"`
	// MissingEnv names the variables the app needed and did not get.
	MissingEnv []string `json:"missing_env,omitempty"`
	// Listening are the addresses the app listens on, as the shim saw
	// them, for a port_not_opened.
	Listening []Socket `json:"listening,omitempty"`
	// PidsRefused is how many times the kernel refused the app a process
	// or thread at its cap, as the shim read it, for a pids_limit.
	PidsRefused int `json:"pids_refused,omitempty"`
}

// Facts are what previewd knows about the failure besides the output.
type Facts struct {
	ExitCode    *int // nil while the process still ran
	OOMKilled   bool
	TimedOut    bool // the app did not answer HTTP within the start time-out
	Timeout     string
	CrashLoop   bool // the app crashed again after its last allowed restart
	Restarts    int
	BuildFailed bool // installing the app's dependencies failed
	// Conflict, when set, says which version the app asks for that no
	// runtime image carries and none could be installed.
	Conflict  string
	PidsLimit int // the container's process cap, for the pids_limit check
	// PidsRefused is how many forks and thread creations the kernel
	// refused at the cap, as the shim read it from the pids cgroup.
	PidsRefused int
	// Sockets are the TCP sockets the shim saw listening in the
	// container; SocketsSeen says it looked (an app that listens nowhere
	// has none).
	Sockets     []Socket
	SocketsSeen bool
	Port        int // the port the app must listen on
	// Sources are the app's own files by relative path, when previewd has
	// them: they place a failure the output names without a line (a module
	// an ES import or INSTALLED_APPS asks for, the call that starts a
	// server on the wrong address).
	Sources map[string]string
}

// AppRoot is where the app's files are inside the container.
const AppRoot = "/app"

// Diagnose returns the cause of a failure from the app's output lines (oldest
// first, both streams) and the facts. Paths in its text are the app's own,
// relative to its root.
func Diagnose(lines []string, f Facts) Cause {
	c := diagnose(lines, f)
	c.Message = reInAppRoot.ReplaceAllString(c.Message, "$1")
	c.Hint = reInAppRoot.ReplaceAllString(c.Hint, "$1")
	return c
}

// reInAppRoot matches the container's app root at the start of a path.
var reInAppRoot = regexp.MustCompile(`(^|[\s('"\x60])(?:file://)?` + AppRoot + `/`)

func diagnose(lines []string, f Facts) Cause {
	lines = clean(lines)
	if f.Conflict != "" {
		return Cause{Kind: VersionConflict, Message: f.Conflict,
			Hint: "ask for a version one of the runtimes carries (the message lists them), or one the package index offers"}
	}
	if f.BuildFailed {
		c := buildCause(lines)
		place(&c, f.Sources)
		return c
	}
	if f.OOMKilled {
		return Cause{Kind: OOM, Message: "the app was killed for using more memory than its limit",
			Hint: "use less memory at start-up, or launch with a higher memory_mb"}
	}
	if c, ok := pidsCause(lines, f); ok {
		return c
	}
	c, found := fromOutput(lines)
	if found {
		place(&c, f.Sources)
		refineEnv(&c, lines, f.Sources)
		if f.CrashLoop {
			// The file and line still say where; the kind says that
			// restarting does not help.
			c.Kind = CrashLoop
			c.Message = fmt.Sprintf("the app kept crashing (it exited again after %d restarts): %s", f.Restarts, c.Message)
		}
		return c
	}
	switch {
	case f.TimedOut && f.ExitCode == nil:
		c := notListening(lines, f)
		place(&c, f.Sources)
		return c
	case f.CrashLoop:
		return Cause{Kind: CrashLoop, Message: fmt.Sprintf("the app kept crashing: it exited again after %d restarts", f.Restarts),
			Hint: "read the log for what the app printed before each exit"}
	case f.ExitCode != nil:
		return exitCause(lines, *f.ExitCode)
	case f.TimedOut:
		return Cause{Kind: Timeout, Message: "the app did not answer HTTP in time", Hint: "make start-up faster"}
	}
	return Cause{Kind: Exit, Message: "the app stopped", Hint: "read the log for what the app printed"}
}

// fromOutput finds a traceback or error the app printed.
func fromOutput(lines []string) (Cause, bool) {
	if c, ok := pythonCause(lines); ok {
		return c, true
	}
	if c, ok := nodeCause(lines); ok {
		return c, true
	}
	if c, ok := djangoCheckCause(lines); ok {
		return c, true
	}
	if c, ok := gunicornCause(lines); ok {
		return c, true
	}
	return Cause{}, false
}

func exitCause(lines []string, code int) Cause {
	c := Cause{Kind: Exit, Message: fmt.Sprintf("the app exited with code %d without an error trace", code),
		Hint: "the app must keep running and serve HTTP; it should not exit at start-up"}
	if code == 0 {
		c.Message = "the app exited with code 0: it finished instead of serving HTTP"
		c.Hint = "start a server that keeps running (app.listen, uvicorn.run, ...) instead of returning"
	}
	if last := lastLine(lines); last != "" {
		c.Message += "; its last line: " + last
	}
	return c
}

func buildCause(lines []string) Cause {
	text := strings.Join(lines, "\n")
	c := Cause{Kind: DependencyInstall, Message: "installing the app's dependencies failed",
		Hint: "check the package names and versions in requirements.txt or package.json"}
	for _, m := range []string{"ResolutionImpossible", "conflicting dependencies", "ERESOLVE", "Cannot install", "incompatible"} {
		if strings.Contains(text, m) {
			c.Kind = VersionConflict
			c.Message = "the app's dependencies ask for versions that cannot be installed together"
			c.Hint = "relax the version pins that conflict"
			break
		}
	}
	if m := reNoDist.FindStringSubmatch(text); m != nil {
		c.Symbol = m[1]
		c.Message = fmt.Sprintf("no version of %s could be installed", m[1])
		c.Hint = "check the package name and the version pin"
	} else if m := reNpmNotFound.FindStringSubmatch(text); m != nil {
		c.Symbol = m[1]
		c.Message = fmt.Sprintf("the package %s could not be installed", m[1])
	}
	if last := lastLine(lines); last != "" && c.Symbol == "" {
		c.Message += ": " + last
	}
	return c
}

func pidsCause(lines []string, f Facts) (Cause, bool) {
	hint := fmt.Sprintf("start fewer processes or threads (limit %d), or launch with a higher pids_limit", f.PidsLimit)
	if f.PidsRefused > 0 {
		c := Cause{Kind: PidsLimit, Message: fmt.Sprintf("the app reached its process limit (pids %d): the kernel refused it a new process or thread %d times", f.PidsLimit, f.PidsRefused),
			Hint: hint, PidsRefused: f.PidsRefused}
		placeFromTrace(&c, lines)
		return c, true
	}
	for _, l := range lines {
		if strings.Contains(l, "Resource temporarily unavailable") && (strings.Contains(l, "fork") || strings.Contains(l, "thread")) ||
			strings.Contains(l, "can't start new thread") || strings.Contains(l, "EAGAIN") && strings.Contains(l, "spawn") ||
			strings.Contains(l, shimPidsLine) {
			msg := "the app hit its process limit: " + strings.TrimSpace(l)
			if shim, ok := strings.CutPrefix(l, "previewshim: "); ok {
				msg = shim // the shim's line says it all
			}
			c := Cause{Kind: PidsLimit, Message: msg, Hint: hint}
			placeFromTrace(&c, lines)
			return c, true
		}
	}
	return Cause{}, false
}

// shimPidsLine starts the line the shim prints when the app it ran was
// refused a process or thread at the cap (cmd/previewshim pidsLimitLine).
const shimPidsLine = "previewshim: the app reached its process limit"

// placeFromTrace takes the file and line of a traceback or error stack the
// app printed: where it started the process or thread that was refused.
func placeFromTrace(c *Cause, lines []string) {
	if t, found := fromOutput(lines); found && t.File != "" {
		c.File, c.Line = t.File, t.Line
	}
}

// appPath turns a path inside the container into the app's own relative
// path, or "" when the file is not the app's (the image's, a library's).
func appPath(p string) string {
	p = strings.TrimPrefix(p, "file://")
	if !strings.HasPrefix(p, AppRoot+"/") {
		return ""
	}
	rel := strings.TrimPrefix(p, AppRoot+"/")
	for _, dir := range []string{"node_modules/", "site-packages/", ".venv/", "venv/", "__pypackages__/"} {
		if strings.HasPrefix(rel, dir) || strings.Contains(rel, "/"+dir) {
			return ""
		}
	}
	return rel
}

// clean drops blank trailing whitespace and the terminal's colour codes.
func clean(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		l = reANSI.ReplaceAllString(strings.TrimRight(l, "\r\n"), "")
		out = append(out, l)
	}
	return out
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return truncate(s, 200)
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
