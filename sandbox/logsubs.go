package sandbox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
)

// fanout hands stored lines to subscribers without ever waiting for one: a
// subscriber whose buffer is full is marked lagging and let go, to catch up
// from the database.
func (p *logPipeline) fanout(batch []db.LogLine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for sub := range p.subs {
		for _, l := range batch {
			select {
			case sub.c <- l:
				continue
			default:
			}
			sub.lagging.Store(true)
			delete(p.subs, sub)
			close(sub.c)
			break
		}
	}
}

func (p *logPipeline) endSubscriptions() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	for sub := range p.subs {
		delete(p.subs, sub)
		close(sub.c)
	}
}

// LogSubscription receives a preview's lines as they are stored.
type LogSubscription struct {
	// C carries the lines stored after the subscription began, in seq order.
	// It is closed when the preview's log ends, or when the subscriber fell
	// behind (then Lagging is true and the rest must be read from the store).
	C       <-chan db.LogLine
	c       chan db.LogLine
	lagging atomic.Bool
	p       *logPipeline
}

// Lagging reports whether C was closed because the subscriber fell behind.
func (s *LogSubscription) Lagging() bool { return s.lagging.Load() }

// Close ends the subscription. It is safe to repeat.
func (s *LogSubscription) Close() {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if _, ok := s.p.subs[s]; ok {
		delete(s.p.subs, s)
		close(s.c)
	}
}

func (p *logPipeline) subscribe() *LogSubscription {
	c := make(chan db.LogLine, logSubscriberBuffer)
	sub := &LogSubscription{C: c, c: c, p: p}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		close(c)
		return sub
	}
	p.subs[sub] = struct{}{}
	return sub
}

// SubscribeLogs subscribes to the lines of a preview this process runs, from
// the next one stored. It returns nil when this process holds no log of the
// preview (it ended earlier, or another previewd runs it): read the store.
func (m *Manager) SubscribeLogs(previewID string) *LogSubscription {
	in := m.instance(previewID)
	if in == nil {
		return nil
	}
	p := in.logs.Load()
	if p == nil {
		return nil
	}
	return p.subscribe()
}

// endLine is the system line that records how a preview ended.
func endLine(fin db.Finish) string {
	switch fin.Status {
	case db.StatusStopped:
		return "stopped"
	case db.StatusExpired:
		return "expired: " + reasonPrefix(fin.Error)
	default:
		if fin.Error == "" {
			return "failed"
		}
		return "failed: " + fin.Error
	}
}

// output is what has been read of a container's output.
type output struct {
	stdout, stderr outputStream
}

func (o *output) newRead() {
	o.stdout.newRead()
	o.stderr.newRead()
}

// passed counts the entries passed so far: it grows while the reading advances.
func (o *output) passed() int64 { return o.stdout.passed.Load() + o.stderr.passed.Load() }

// flush emits the lines held without their newline.
func (o *output) flush() {
	o.stdout.split.Flush()
	o.stderr.split.Flush()
}

func (o *output) stream(name string) *outputStream {
	switch name {
	case db.StreamStdout:
		return &o.stdout
	case db.StreamStderr:
		return &o.stderr
	}
	return nil
}

// resume returns where a new read of the log starts: outputReorder before
// the latest entry delivered, and not before since, where the reading began.
func (o *output) resume(since time.Time) time.Time {
	last := o.stdout.at
	if o.stderr.at.After(last) {
		last = o.stderr.at
	}
	if from := last.Add(-outputReorder); !last.IsZero() && from.After(since) {
		return from
	}
	return since
}

// outputStream turns one stream (stdout or stderr) of a container's log,
// read with the engine's times, into lines. Each Write is one entry of the
// engine's log, "<time> <text>" (see backend.Backend.Logs).
//
// An entry is known by its time and its position among the stream's entries
// with that time: the parts of a line the engine cut at 16 KiB share the time
// of the first. The engine may send entries again: Docker 20.10's follow
// stream repeats a range around a rotation of its log, and a new read from
// `since` begins with entries already delivered. A stream's times rise in its
// log, so only an entry past the last one delivered passes; a repeat is
// recognised when the time steps back, or by its position.
type outputStream struct {
	split lineSplitter

	at    time.Time // time of the last entry delivered
	done  int       // entries delivered with time at
	ended bool      // the last entry delivered ended a line: its text is in last
	last  []byte

	// The current read: the time of its latest entry and how many entries
	// before that one had the same time.
	readAt  time.Time
	readPos int

	// After a restart of previewd, the entries of lines stored before it are
	// passed over: those before skipTo (microseconds, as stored), and the
	// first skipLines lines at skipTo.
	skipping  bool
	skipTo    time.Time
	skipLines int64

	// For a watcher of the reader: how many entries were passed (delivered,
	// or known stored) ever, and the time of the last one (unix nanoseconds).
	passed atomic.Int64
	latest atomic.Int64
}

// newRead starts counting positions afresh, for a new read of the log.
func (s *outputStream) newRead() { s.readAt, s.readPos = time.Time{}, 0 }

// skipStored passes over the entries of the lines stored up to end.
func (s *outputStream) skipStored(end db.OutputEnd) {
	s.skipping, s.skipTo, s.skipLines = true, end.TS, end.Lines
}

func (s *outputStream) Write(b []byte) (int, error) {
	n := len(b)
	ts, text, ok := splitEntry(b)
	if !ok {
		// Not an entry with a time: no known engine sends that. Keep the
		// text rather than stop reading on it.
		s.split.at = time.Now()
		s.split.Write(b)
		return n, nil
	}
	if !s.fresh(ts, text) || s.stored(ts, text) {
		return n, nil
	}
	s.split.at = ts
	s.split.Write(text)
	return n, nil
}

// fresh reports whether an entry comes after the last one delivered, and
// then moves past it.
func (s *outputStream) fresh(ts time.Time, text []byte) bool {
	if ts.Equal(s.readAt) {
		s.readPos++
	} else {
		s.readAt, s.readPos = ts, 0
	}
	switch {
	case ts.Before(s.at):
		return false
	case ts.Equal(s.at):
		// At some rotations the engine sends an entry twice in a row. Only
		// the parts of a line share a time, and a part that ends the line
		// is the last of them.
		if s.readPos < s.done || s.ended && bytes.Equal(text, s.last) {
			return false
		}
	}
	s.at, s.done = ts, s.readPos+1
	if s.ended = bytes.HasSuffix(text, []byte("\n")); s.ended {
		s.last = append(s.last[:0], text...)
	}
	s.passed.Add(1)
	s.latest.Store(ts.UnixNano())
	return true
}

// stored reports whether an entry belongs to a line stored before previewd
// restarted.
func (s *outputStream) stored(ts time.Time, text []byte) bool {
	if !s.skipping {
		return false
	}
	switch us := ts.Truncate(time.Microsecond); {
	case us.Before(s.skipTo):
		return true
	case us.Equal(s.skipTo) && s.skipLines > 0:
		if bytes.HasSuffix(text, []byte("\n")) {
			s.skipLines--
		}
		return true
	}
	s.skipping = false
	return false
}

// splitEntry splits an entry of the engine's log into its time and text.
func splitEntry(b []byte) (time.Time, []byte, bool) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return time.Time{}, nil, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return time.Time{}, nil, false
	}
	return ts, b[i+1:], true
}

// followWatched follows the container's output from since until the engine
// ends the stream, or ctx ends. Docker 20.10's follow stream may stall for
// good: when the log rotates while the stream still reads the entries the
// log had when it began, it waits for writes to the new file while reading
// the old one. So while nothing arrives, the newest entry of the log is
// looked at now and then, and a stream that stays behind it is ended.
func (p *logPipeline) followWatched(ctx context.Context, h backend.Handle, since time.Time) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan struct{})
	go func() { // ends with the stream, by the cancel below at the latest
		defer close(watched)
		if p.watchFollow(ctx, h, since) {
			p.log.Debug("the engine's follow stream stalled; following again", "preview_id", p.previewID)
			cancel()
		}
	}()
	err := p.backend.Logs(ctx, h, backend.LogOptions{Since: since, Follow: true, Timestamps: true}, &p.out.stdout, &p.out.stderr)
	cancel()
	<-watched
	return err
}

// watchFollow reports a stalled follow stream: nothing delivered for a while
// though the log has a newer entry than those delivered. It looks
// followCheck after the last delivery, then less and less often.
func (p *logPipeline) watchFollow(ctx context.Context, h backend.Handle, since time.Time) bool {
	wait := followCheck
	t := time.NewTimer(wait)
	defer t.Stop()
	last := p.out.passed()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if n := p.out.passed(); n != last {
			last, wait = n, followCheck
		} else if p.behind(ctx, h, since) {
			return true
		} else {
			wait = min(2*wait, followCheckMax)
		}
		t.Reset(wait)
	}
}

// behind reports whether the newest entry of the container's log is newer
// than the last one delivered of its stream, and than since.
func (p *logPipeline) behind(ctx context.Context, h backend.Handle, since time.Time) bool {
	var stream *outputStream
	var ts time.Time
	probe := func(s *outputStream) entryFunc {
		return func(b []byte) (int, error) {
			stream = s
			ts, _, _ = splitEntry(b)
			return len(b), nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, shortCall)
	defer cancel()
	if err := p.backend.Logs(ctx, h, backend.LogOptions{Tail: 1, Timestamps: true}, probe(&p.out.stdout), probe(&p.out.stderr)); err != nil || stream == nil {
		return false
	}
	return ts.After(since) && ts.UnixNano() > stream.latest.Load()
}

// errEnough ends a read of the engine's log early.
var errEnough = errors.New("read enough")

// oldestOutput returns the time of the oldest entry the engine keeps of the
// container's log, zero when it keeps none.
func (p *logPipeline) oldestOutput(ctx context.Context, h backend.Handle) (time.Time, error) {
	var oldest time.Time
	first := entryFunc(func(b []byte) (int, error) {
		oldest, _, _ = splitEntry(b)
		return 0, errEnough
	})
	if err := p.backend.Logs(ctx, h, backend.LogOptions{Timestamps: true}, first, first); err != nil && !errors.Is(err, errEnough) {
		return time.Time{}, err
	}
	return oldest, nil
}

type entryFunc func([]byte) (int, error)

func (f entryFunc) Write(b []byte) (int, error) { return f(b) }

// lineSplitter is an io.Writer that cuts output into lines. A line longer
// than maxLogLine is cut there and marked, and the rest of it is skipped. A
// line's time is the value of at when its first byte was written.
type lineSplitter struct {
	emit  func(line string, ts time.Time)
	at    time.Time
	start time.Time // of the line in buf
	buf   []byte
	cut   bool // the current line was emitted cut: skip to its end
}

func (s *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(s.buf) == 0 && !s.cut {
			s.start = s.at
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.append(p)
			break
		}
		s.append(p[:i])
		if !s.cut {
			s.emit(cleanLine(s.buf), s.start)
		}
		s.buf, s.cut = s.buf[:0], false
		p = p[i+1:]
	}
	return n, nil
}

func (s *lineSplitter) append(b []byte) {
	if s.cut {
		return
	}
	if room := maxLogLine - len(s.buf); len(b) > room {
		s.buf = append(s.buf, b[:room]...)
		s.emit(cleanLine(trimPartialRune(s.buf))+truncMarker, s.start)
		s.buf, s.cut = s.buf[:0], true
		return
	}
	s.buf = append(s.buf, b...)
}

// Flush emits a last line that has no newline (the output ended).
func (s *lineSplitter) Flush() {
	if !s.cut && len(s.buf) > 0 {
		s.emit(cleanLine(s.buf), s.start)
	}
	s.buf, s.cut = s.buf[:0], false
}

// cleanLine makes output storable as PostgreSQL text: valid UTF-8, no NUL,
// no carriage return at the end.
func cleanLine(b []byte) string {
	b = bytes.TrimSuffix(b, []byte("\r"))
	line := strings.ToValidUTF8(string(b), "\uFFFD")
	if strings.IndexByte(line, 0) >= 0 {
		line = strings.ReplaceAll(line, "\x00", "\uFFFD")
	}
	return line
}

// trimPartialRune drops an incomplete UTF-8 sequence that a cut left at the end.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return b // ASCII: the end is whole
		}
		if c >= 0xC0 { // a lead byte: whole if its sequence fits
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if need > i {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}
