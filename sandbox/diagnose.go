package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
	"github.com/previewd/previewd/sandbox/cause"
	"github.com/previewd/previewd/sandbox/framework"
)

// causeLines is how much of a failed app's output the diagnosis reads: more
// than the log tail it reports, so a long traceback (Django's, gunicorn's)
// is read whole.
const causeLines = 300

// maxSourceBytes bounds the app files the diagnosis may search; larger files
// are data or bundles, not code that names a module or binds a port.
const maxSourceBytes = 256 << 10

// diagnose works out why the preview failed, records it in fin and returns it.
func (m *Manager) diagnose(in *instance, fin *db.Finish, facts cause.Facts, output []string) *cause.Cause {
	facts.Port = framework.AppPort
	facts.Timeout = m.cfg.StartTimeout.String()
	facts.PidsLimit = in.rec.Pids
	c := cause.Diagnose(output, facts)
	if len(c.MissingEnv) > 0 {
		fin.Error += ": " + cause.EnvMessage(c.MissingEnv)
	}
	b, err := json.Marshal(c)
	if err != nil {
		m.log.Error("encode cause", "preview_id", in.rec.ID, "err", err)
		return nil
	}
	fin.Cause = b
	return &c
}

// sources are the app's text files by path, for the diagnosis to place a
// failure the output does not.
func (p *prepared) sources() map[string]string {
	if p == nil {
		return nil
	}
	out := make(map[string]string, len(p.appFiles))
	for _, f := range p.appFiles {
		if len(f.Content) <= maxSourceBytes && utf8.Valid(f.Content) {
			out[f.Path] = string(f.Content)
		}
	}
	return out
}

// StoredCause decodes a recorded cause; nil when there is none.
func StoredCause(b []byte) *cause.Cause { return storedCause(b) }

// storedCause decodes a recorded cause; nil when there is none.
func storedCause(b []byte) *cause.Cause {
	if len(b) == 0 {
		return nil
	}
	var c cause.Cause
	if err := json.Unmarshal(b, &c); err != nil || c.Kind == "" {
		return nil
	}
	return &c
}

// failLaunch records a failed launch and tears it down.
func (m *Manager) failLaunch(in *instance, err error, timings db.Timings, prep *prepared) error {
	if in.stopping.Load() {
		m.metrics.launchFinished(in.framework, "stopped")
		m.endWith(in, db.Finish{Status: db.StatusStopped, Timings: timings})
		return ErrStoppedWhileStarting
	}
	var le *LaunchError
	if !errors.As(err, &le) {
		// Not the app's fault: an engine or database problem. Still tear down
		// and record it, but report the error itself to the caller.
		m.log.Error("launch failed", "preview_id", in.rec.ID, "generation_id", in.rec.GenerationID, "err", err)
		m.metrics.launchFinished(in.framework, "error")
		m.endWith(in, db.Finish{Status: db.StatusFailed, Error: "internal error while launching", Timings: timings})
		return err
	}
	le.PreviewID = in.rec.ID
	facts := cause.Facts{TimedOut: le.timedOut, BuildFailed: le.build, Sources: prep.sources()}
	if le.conflict {
		facts.Conflict = le.Reason
	}
	fin, why := m.exitFinishFacts(in, le.Reason, facts, le.LogTail)
	fin.Timings = timings
	if len(le.LogTail) > 0 && len(fin.LogTail) == 0 {
		fin.LogTail = le.LogTail
	}
	m.metrics.launchFinished(in.framework, launchResult(fin))
	m.endWith(in, fin)
	le.Reason, le.ExitCode, le.OOMKilled, le.LogTail, le.Cause = fin.Error, fin.ExitCode, fin.OOMKilled, fin.LogTail, why
	return le
}

func launchResult(f db.Finish) string {
	switch {
	case f.OOMKilled:
		return "oom"
	case f.ExitCode != nil:
		return "crash"
	default:
		return "timeout"
	}
}

// exitFinish describes how the container ended, with its last output.
func (m *Manager) exitFinish(in *instance, reason string) db.Finish {
	n := int(in.restarts.Load())
	fin, _ := m.exitFinishFacts(in, reason, cause.Facts{Restarts: n, CrashLoop: n > 0}, nil)
	return fin
}

// exitFinishFacts is exitFinish with what previewd knows of the failure
// besides the container's state, and its cause. output stands in for the
// container's when there is no container (a failed dependency build).
func (m *Manager) exitFinishFacts(in *instance, reason string, facts cause.Facts, output []string) (db.Finish, *cause.Cause) {
	fin := db.Finish{Status: db.StatusFailed, Error: reason, LogTail: []string{}}
	id := in.container()
	if id == "" {
		return fin, m.diagnose(in, &fin, facts, output)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if tail, err := m.logTail(ctx, in.handle(), causeLines); err == nil {
		output = tail
		fin.LogTail = tail[max(0, len(tail)-logTailLines):]
	}
	st, err := m.backend.State(ctx, in.handle())
	if err != nil || st.Running {
		m.inspectFacts(ctx, in, &facts)
		return fin, m.diagnose(in, &fin, facts, output)
	}
	code := st.ExitCode
	fin.ExitCode = &code
	fin.OOMKilled = st.OOMKilled
	facts.ExitCode, facts.OOMKilled = &code, st.OOMKilled
	switch {
	case st.OOMKilled:
		fin.Error = fmt.Sprintf("the app was killed: out of memory (limit %d MiB)", in.rec.MemoryMB)
	default:
		fin.Error = fmt.Sprintf("%s with code %d", reasonPrefix(reason), code)
	}
	return fin, m.diagnose(in, &fin, facts, output)
}

// inspectFacts adds what the shim sees of an app that still runs: the
// sockets it listens on and its pids cgroup. A shim that does not answer
// (an image from before /inspect, a container that just ended) leaves the
// facts as they were; the output alone then tells.
func (m *Manager) inspectFacts(ctx context.Context, in *instance, facts *cause.Facts) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	seen, err := m.shim(in).inspect(ctx)
	if err != nil {
		m.log.Warn("ask the shim what the app listens on", "preview_id", in.rec.ID, "err", err)
		return
	}
	facts.Sockets, facts.SocketsSeen = seen.Sockets, seen.Sockets != nil
	if seen.Pids != nil {
		facts.PidsRefused = seen.Pids.Refused
	}
}

func reasonPrefix(reason string) string {
	if reason == "" {
		return "the app exited"
	}
	return reason
}

// logTail returns the last n lines the sandbox printed, stdout and stderr
// interleaved as the engine stored them.
func (m *Manager) logTail(ctx context.Context, h backend.Handle, n int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var buf bytes.Buffer
	// Both streams go into one buffer: a log tail reads best in printed
	// order. The backend writes them from one goroutine.
	if err := m.backend.Logs(ctx, h, backend.LogOptions{Tail: n}, &buf, &buf); err != nil {
		return nil, err
	}
	return lastLines(buf.String(), n), nil
}

// lastLines returns up to n last lines of text, without a trailing empty line.
func lastLines(text string, n int) []string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return []string{}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
