package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/previewd/previewd/db"
)

const (
	// maxLogLine is the longest line stored; a longer one is cut and marked.
	maxLogLine  = 16 << 10
	truncMarker = " …[truncated]"

	// logBatchLines is the most lines one insert carries.
	logBatchLines = 500
	// logIngestBuffer is how many lines may wait for the pipeline's goroutine.
	logIngestBuffer = 1024
	// logSubscriberBuffer is how far a live subscriber may fall behind before
	// it is dropped to catch up from the database.
	logSubscriberBuffer = 1024
	// defaultLogMaxLines caps the stored lines of one preview.
	defaultLogMaxLines = 100_000
	// logReaderGrace is how long teardown waits for the container's output to
	// be read to its end.
	logReaderGrace = 5 * time.Second
)

// logPipeline numbers, stores and fans out the log lines of one preview. One
// goroutine (run) owns the seq counter: it takes lines from every producer
// (the container's stdout and stderr, the dependency build, runner events),
// stores them in batches and only then hands them to live subscribers, so
// every id a subscriber sees is durable.
type logPipeline struct {
	previewID string
	records   Records
	metrics   *Metrics
	log       *slog.Logger
	docker    *Docker
	base      context.Context
	wg        *sync.WaitGroup
	maxLines  int64

	in     chan db.LogLine
	sendMu sync.RWMutex // held for reading while sending on in, for writing to close it
	closed bool         // in is closed; guarded by sendMu
	done   chan struct{}

	mu           sync.Mutex
	subs         map[*LogSubscription]struct{}
	ended        bool
	noAttach     bool
	readerDone   chan struct{}
	readerCancel context.CancelFunc
}

// newLogPipeline starts the pipeline of a preview whose stored lines end at
// seq last. Its goroutine ends after close.
func (m *Manager) newLogPipeline(previewID string, last int64) *logPipeline {
	maxLines := int64(m.cfg.LogMaxLines)
	if maxLines <= 0 {
		maxLines = defaultLogMaxLines
	}
	p := &logPipeline{
		previewID: previewID, records: m.records, metrics: m.metrics, log: m.log, docker: m.docker,
		base: m.base, wg: &m.wg, maxLines: maxLines,
		in:   make(chan db.LogLine, logIngestBuffer),
		done: make(chan struct{}),
		subs: map[*LogSubscription]struct{}{},
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		p.run(last)
	}()
	return p
}

// add queues one line. Lines added after close are dropped: the preview has
// ended.
func (p *logPipeline) add(stream, line string) {
	if p == nil {
		return
	}
	p.sendMu.RLock()
	defer p.sendMu.RUnlock()
	if p.closed {
		return
	}
	p.in <- db.LogLine{PreviewID: p.previewID, TS: time.Now().UTC().Truncate(time.Microsecond), Stream: stream, Line: line}
}

// system adds a runner event.
func (p *logPipeline) system(format string, args ...any) {
	p.add(db.StreamSystem, fmt.Sprintf(format, args...))
}

// build adds a line of dependency-install output.
func (p *logPipeline) build(line string) { p.add(db.StreamBuild, cleanLine([]byte(line))) }

// attach follows the container's stdout and stderr (from since, or from its
// start when since is zero) into the pipeline. The reader ends when the
// container stops, when stopReader gives up waiting, or when the manager closes.
func (p *logPipeline) attach(containerID string, since time.Time) {
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
		stdout := &lineSplitter{emit: func(l string) { p.add(db.StreamStdout, l) }}
		stderr := &lineSplitter{emit: func(l string) { p.add(db.StreamStderr, l) }}
		err := p.docker.FollowLogs(ctx, containerID, since, stdout, stderr)
		if err == nil && ctx.Err() == nil {
			err = p.recoverPartial(ctx, containerID, stdout, stderr)
		}
		stdout.Flush()
		stderr.Flush()
		if err != nil && ctx.Err() == nil {
			p.log.Warn("reading preview output failed", "preview_id", p.previewID, "err", err)
			p.system("previewd could not read the rest of the app's output")
		}
	}()
}

// recoverPartial adds a last line without newline that the follow stream
// missed: the engine writes it when the container stops, and its follow
// stream may end before sending it. A stream whose splitter holds a partial
// line did receive it; for the others, the stored log's last entry tells.
func (p *logPipeline) recoverPartial(ctx context.Context, containerID string, stdout, stderr *lineSplitter) error {
	if stdout.pending() && stderr.pending() {
		return nil
	}
	out, errOut, err := p.docker.Output(ctx, containerID, 200)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		split *lineSplitter
		tail  []byte
	}{{stdout, out}, {stderr, errOut}} {
		if s.split.pending() || len(s.tail) == 0 || s.tail[len(s.tail)-1] == '\n' {
			continue
		}
		s.split.Write(s.tail[bytes.LastIndexByte(s.tail, '\n')+1:])
	}
	return nil
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

// close stores what is queued, ends every subscription and waits for the
// pipeline's goroutine to end. It is safe to repeat.
func (p *logPipeline) close() {
	if p == nil {
		return
	}
	p.sendMu.Lock()
	if !p.closed {
		p.closed = true
		close(p.in)
	}
	p.sendMu.Unlock()
	<-p.done
}

// shutdown stops reading and closes, for a manager that is closing while the
// preview keeps running.
func (p *logPipeline) shutdown() {
	p.stopReader(0)
	p.close()
}

// run owns the seq counter. It stores as soon as nothing more is queued (or a
// batch is full): one line alone is stored at once, and while an insert runs
// the next batch gathers, so a flood is stored in big batches without a
// timer adding latency to a quiet app.
func (p *logPipeline) run(last int64) {
	defer close(p.done)
	defer p.endSubscriptions()
	batch := make([]db.LogLine, 0, logBatchLines)
	next := last
	var dropped int64
	take := func(l db.LogLine) {
		if next >= p.maxLines && l.Stream != db.StreamSystem {
			if dropped == 0 {
				next++
				batch = append(batch, db.LogLine{PreviewID: p.previewID, Seq: next, TS: l.TS, Stream: db.StreamSystem,
					Line: fmt.Sprintf("log limit of %d lines reached: further output is not stored", p.maxLines)})
			}
			dropped++
			return
		}
		next++
		l.Seq = next
		batch = append(batch, l)
	}
	for {
		l, ok := <-p.in
		if !ok {
			break
		}
		take(l)
	drain:
		for len(batch) < logBatchLines {
			select {
			case l, ok := <-p.in:
				if !ok {
					break drain
				}
				take(l)
			default:
				break drain
			}
		}
		batch = p.flush(batch)
	}
	if dropped > 0 {
		next++
		batch = append(batch, db.LogLine{PreviewID: p.previewID, Seq: next, TS: time.Now().UTC(), Stream: db.StreamSystem,
			Line: fmt.Sprintf("%d lines were dropped over the log limit", dropped)})
	}
	p.flush(batch)
}

// flush stores a batch, retrying briefly, then fans it out. A batch that
// cannot be stored is logged and not sent: a subscriber only sees durable ids.
func (p *logPipeline) flush(batch []db.LogLine) []db.LogLine {
	if len(batch) == 0 {
		return batch
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = p.records.AppendLogs(ctx, batch)
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		p.log.Error("store preview log lines", "preview_id", p.previewID, "lines", len(batch), "err", err)
		return batch[:0]
	}
	for _, l := range batch {
		p.metrics.logLine(l.Stream)
	}
	p.fanout(batch)
	return batch[:0]
}

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

// lineSplitter is an io.Writer that cuts output into lines. A line longer
// than maxLogLine is cut there and marked, and the rest of it is skipped.
type lineSplitter struct {
	emit func(string)
	buf  []byte
	cut  bool // the current line was emitted cut: skip to its end
}

func (s *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.append(p)
			break
		}
		s.append(p[:i])
		if !s.cut {
			s.emit(cleanLine(s.buf))
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
		s.emit(cleanLine(trimPartialRune(s.buf)) + truncMarker)
		s.buf, s.cut = s.buf[:0], true
		return
	}
	s.buf = append(s.buf, b...)
}

// pending reports whether a line without its newline is held.
func (s *lineSplitter) pending() bool { return len(s.buf) > 0 || s.cut }

// Flush emits a last line that has no newline (the output ended).
func (s *lineSplitter) Flush() {
	if !s.cut && len(s.buf) > 0 {
		s.emit(cleanLine(s.buf))
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
