package docker

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// RunInstall runs the install of spec to its end, calling line with each
// line of its output, and removes its container. ctx's end stops it.
func (d *Backend) RunInstall(ctx context.Context, spec backend.InstallSpec, line func(string)) error {
	cfg, host, err := installContainerSpec(spec)
	if err != nil {
		return err
	}
	id, err := d.create(ctx, "", cfg, host)
	if err != nil {
		return fmt.Errorf("create install container: %w", err)
	}
	defer d.Teardown(context.WithoutCancel(ctx), id, 0)

	if err := d.start(ctx, id); err != nil {
		return fmt.Errorf("start install container: %w", err)
	}
	// Not before the start: a created container counts as not running.
	exited, waitErr := d.waitContainer(ctx, id)
	out := &installOutput{line: line}
	logsDone := make(chan struct{})
	logCtx, stopLogs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLogs()
	go func() {
		defer close(logsDone)
		// Ends when the container stops (or stopLogs on a timeout).
		d.logs(logCtx, id, backend.LogOptions{Follow: true, Timestamps: true}, out, out)
	}()
	select {
	case res := <-exited:
		select {
		case <-logsDone:
		case <-time.After(5 * time.Second):
			stopLogs()
			<-logsDone
		}
		out.flush()
		if res.StatusCode != 0 {
			st, _ := d.inspect(context.WithoutCancel(ctx), id)
			return &backend.InstallExitError{Status: int(res.StatusCode), OOM: st.OOMKilled}
		}
		return nil
	case err := <-waitErr:
		stopLogs()
		<-logsDone
		out.flush()
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", backend.ErrInstallFailed, ctx.Err())
		}
		return fmt.Errorf("wait for install container: %w", engineErr(err))
	}
}

// installOutput turns log entries ("<time> <text>", see backend.Backend.Logs)
// into whole lines; the caller cleans them.
type installOutput struct {
	mu   sync.Mutex
	line func(string)
	part []byte
}

func (s *installOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	if _, text, ok := bytes.Cut(p, []byte(" ")); ok {
		p = text
	}
	s.part = append(s.part, p...)
	for {
		i := bytes.IndexByte(s.part, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.part[:i]))
		s.part = s.part[i+1:]
	}
	return n, nil
}

func (s *installOutput) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := strings.TrimSpace(string(s.part)); l != "" {
		s.line(l)
	}
	s.part = nil
}
