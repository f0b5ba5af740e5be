package sandbox

import (
	"context"
	"errors"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// attach follows the container's stdout and stderr (from since, or from its
// start when since is zero) into the pipeline. The reader ends when the
// container stops, when stopReader gives up waiting, or when the manager closes.
func (p *logPipeline) attach(h backend.Handle, since time.Time) {
	p.startReader(func(ctx context.Context) error {
		return p.readOutput(ctx, h, since)
	})
}

// takeOver follows a running container that a previous previewd followed,
// from where the stored output ends: what the app printed while no previewd
// read it is stored, once, after a system line that says previewd took the
// preview over and, when the engine no longer keeps all of it, that some may
// be missing.
func (p *logPipeline) takeOver(h backend.Handle) {
	p.startReader(func(ctx context.Context) error {
		since, err := p.resumeStored(ctx, h)
		if err != nil {
			p.log.Warn("find where the stored output ends; what the app printed while previewd was down is not read",
				"preview_id", p.previewID, "err", err)
			p.system("previewd restarted and took the preview over; output printed while it was down is not in this log")
			since = time.Now()
		}
		return p.readOutput(ctx, h, since)
	})
}

// startReader runs read in the pipeline's one reader goroutine, unless one
// runs or stopReader was called.
func (p *logPipeline) startReader(read func(ctx context.Context) error) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.noAttach || p.readerDone != nil {
		return
	}
	ctx, cancel := context.WithCancel(p.base)
	done := make(chan struct{})
	p.readerDone, p.readerCancel = done, cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		defer cancel()
		err := read(ctx)
		if p.base.Err() == nil {
			// At a shutdown a line without its newline yet is left for the
			// next previewd, which reads it whole.
			p.out.flush()
		}
		if err != nil && ctx.Err() == nil {
			p.log.Warn("reading preview output failed", "preview_id", p.previewID, "err", err)
			p.system("previewd could not read the rest of the app's output")
		}
	}()
}

// readOutput reads the container's output into the pipeline, from since,
// until the container stops or ctx ends. When the engine ends the follow
// stream while the container runs (Docker 20.10 may at a rotation of its
// log), or the stream fails, it follows again from the latest entry
// delivered. Once the container has stopped it reads once more, without
// following, what the stream missed at its end: the engine writes a last
// line without newline as the container stops, and the stream may end before
// sending it. The output streams drop what is read twice.
func (p *logPipeline) readOutput(ctx context.Context, h backend.Handle, since time.Time) error {
	var wait time.Duration
	for {
		p.out.newRead()
		before := p.out.passed()
		err := p.followWatched(ctx, h, since)
		if ctx.Err() != nil {
			return nil
		}
		since = p.out.resume(since)
		st, stErr := p.backend.State(ctx, h)
		switch {
		case errors.Is(stErr, backend.ErrNotFound):
			return nil
		case stErr != nil && !errors.Is(stErr, backend.ErrEngineUnavailable):
			return errors.Join(err, stErr)
		case stErr == nil && !st.Running:
			p.out.newRead()
			err := p.backend.Logs(ctx, h, backend.LogOptions{Since: since, Timestamps: true}, &p.out.stdout, &p.out.stderr)
			if errors.Is(err, backend.ErrNotFound) {
				return nil // removed meanwhile
			}
			return err
		}
		// Running, or the engine is out of reach for now: follow again, at
		// once after a stream that delivered, else after a growing pause so
		// that an engine that ends streams at once does not make this spin.
		if err = errors.Join(err, stErr); err == nil && p.out.passed() > before {
			wait = 0
			continue
		}
		if err != nil && wait == 0 {
			p.log.Warn("following preview output failed; following it again", "preview_id", p.previewID, "err", err)
		}
		wait = min(max(2*wait, 50*time.Millisecond), 2*time.Second)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
	}
}

// resumeStored sets the output streams to pass over the lines stored before
// previewd restarted, adds the system line that says previewd took the
// preview over, and returns where to read the engine's log from.
func (p *logPipeline) resumeStored(ctx context.Context, h backend.Handle) (time.Time, error) {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ends, err := p.records.OutputEnds(qctx, p.previewID)
	cancel()
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, end := range ends {
		if s := p.out.stream(end.Stream); s != nil {
			s.skipStored(end)
			if end.TS.After(last) {
				last = end.TS
			}
		}
	}
	if last.IsZero() {
		// No output stored: all the engine keeps is new.
		p.system("previewd restarted and took the preview over")
		return time.Time{}, nil
	}
	oldest, err := p.oldestOutput(ctx, h)
	switch {
	case err != nil:
		p.log.Warn("find the oldest output the engine keeps", "preview_id", p.previewID, "err", err)
		p.system("previewd restarted and took the preview over")
	case oldest.Truncate(time.Microsecond).After(last):
		p.system("previewd restarted and took the preview over; some output printed while it was down may be missing: the engine no longer kept it")
	default:
		p.system("previewd restarted and took the preview over")
	}
	return last.Add(-outputReorder), nil
}

// stopReader waits up to grace for the container's output to be read to its
// end (the container has stopped), then stops reading. No reader starts after.
func (p *logPipeline) stopReader(grace time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.noAttach = true
	done, cancel := p.readerDone, p.readerCancel
	p.mu.Unlock()
	if done == nil {
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		cancel()
		<-done
	}
}

// reattach follows a container again after it was restarted: once the
// previous reader has read to the end of the previous run, a new one starts
// from since.
func (p *logPipeline) reattach(h backend.Handle, since time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	done := p.readerDone
	p.mu.Unlock()
	if done != nil {
		<-done
	}
	p.mu.Lock()
	if p.readerDone == done {
		p.readerDone, p.readerCancel = nil, nil
	}
	p.mu.Unlock()
	p.attach(h, since)
}
