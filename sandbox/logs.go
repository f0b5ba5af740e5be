package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/backend"
)

const (
	// maxLogLine is the longest line stored; a longer one is cut and marked.
	maxLogLine  = 16 << 10
	truncMarker = " …[truncated]"

	// logBatchLines and logBatchBytes bound one insert. They are large so
	// that a flood is stored in few round trips and the engine's log is read
	// as fast as it can be (what the reader falls behind by is lost when the
	// engine rotates its file); a quiet app's lines are stored one by one.
	logBatchLines = 2000
	logBatchBytes = 1 << 20
	// logIngestBuffer is how many lines may wait for the pipeline's goroutine.
	logIngestBuffer = 2048
	// logIngestBytes bounds the memory of the lines queued and being stored,
	// per preview: past it, the reader waits, and the engine keeps the rest
	// on its disk. Each line counts logLineOverhead on top of its text.
	logIngestBytes  = 4 << 20
	logLineOverhead = 128
	// logSubscriberBuffer is how far a live subscriber may fall behind before
	// it is dropped to catch up from the database.
	logSubscriberBuffer = 1024
	// defaultLogMaxLines and defaultLogMaxBytes cap the stored log of one
	// preview (its lines' text).
	defaultLogMaxLines = 100_000
	defaultLogMaxBytes = 20 << 20
	// logDropNotice is how often a system line tells how many lines were
	// dropped, while a log over its cap keeps dropping.
	logDropNotice = 5 * time.Second
	// logReaderGrace is how long teardown waits for the container's output to
	// be read to its end.
	logReaderGrace = 5 * time.Second
	// logFlushWait bounds how long a launch waits for its "healthy" line to
	// be stored: under a flood the line waits behind what the app printed.
	logFlushWait = 2 * time.Second
	// outputReorder is how far back a new read of a container's log starts
	// before the latest entry delivered: the engine stamps an entry before it
	// takes the log's lock to write it, so an entry of the other stream may
	// follow one up to about that much younger.
	outputReorder = 10 * time.Millisecond
	// followCheck is how long a follow stream may deliver nothing before
	// the reader checks that it has not stalled; the checks then space out
	// to followCheckMax while nothing comes.
	followCheck    = time.Second
	followCheckMax = 8 * time.Second
)

// logPipeline numbers, stores and fans out the log lines of one preview. One
// goroutine (run) owns the seq counter: it takes lines from every producer
// (the container's stdout and stderr, the dependency build, runner events),
// stores them in batches and only then hands them to live subscribers, so
// every id a subscriber sees is durable.
//
// The stored log keeps the newest lines: before a batch would take it over
// its cap of lines or bytes, the oldest stored lines are deleted, an eighth
// of the cap at a time, and system lines say how many were dropped.
type logPipeline struct {
	previewID string
	records   Records
	metrics   *Metrics
	log       *slog.Logger
	backend   backend.Backend
	base      context.Context
	wg        *sync.WaitGroup

	maxLines, maxBytes     int64 // the stored log's cap
	batchLines, batchBytes int64 // the most one insert carries: at most an eighth of the cap

	in     chan db.LogLine
	budget byteBudget   // bounds the bytes of lines in `in` and in the batch being stored
	sendMu sync.RWMutex // held for reading while sending on in, for writing to close it
	closed bool         // in is closed; guarded by sendMu
	done   chan struct{}

	// queued counts the lines sent on in, handled those of them that run has
	// stored (or given up storing); progress is closed and replaced each time
	// handled grows. They let flush wait for the lines queued before it.
	queued     atomic.Int64
	handled    atomic.Int64
	progressMu sync.Mutex
	progress   chan struct{}

	// Owned by run.
	stored   logWindow
	dropped  int64 // lines deleted to stay under the cap
	reported int64 // dropped, as last told in a system line
	told     time.Time
	gone     bool // the preview's record was deleted: nothing can be stored any more

	out output // owned by the reader goroutine; one runs at a time

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
	maxLines, maxBytes := int64(m.cfg.LogMaxLines), m.cfg.LogStoreBytes
	if maxLines <= 0 {
		maxLines = defaultLogMaxLines
	}
	if maxBytes <= 0 {
		maxBytes = defaultLogMaxBytes
	}
	p := &logPipeline{
		previewID: previewID, records: m.records, metrics: m.metrics, log: m.log, backend: m.backend,
		base: m.base, wg: &m.wg, maxLines: maxLines, maxBytes: maxBytes,
		batchLines: max(1, min(logBatchLines, maxLines/8)),
		batchBytes: max(1, min(logBatchBytes, maxBytes/8)),
		in:         make(chan db.LogLine, logIngestBuffer),
		budget:     byteBudget{free: logIngestBytes},
		done:       make(chan struct{}),
		progress:   make(chan struct{}),
		subs:       map[*LogSubscription]struct{}{},
	}
	p.budget.cond.L = &p.budget.mu
	p.out.stdout.split.emit = func(l string, ts time.Time) { p.addAt(db.StreamStdout, l, ts) }
	p.out.stderr.split.emit = func(l string, ts time.Time) { p.addAt(db.StreamStderr, l, ts) }
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		p.run(last)
	}()
	return p
}

// add queues one line, waiting while the lines queued hold logIngestBytes.
// Lines added after close are dropped: the preview has ended.
func (p *logPipeline) add(stream, line string) { p.addAt(stream, line, time.Now()) }

// addAt is add for a line printed at ts.
func (p *logPipeline) addAt(stream, line string, ts time.Time) {
	if p == nil {
		return
	}
	p.sendMu.RLock()
	defer p.sendMu.RUnlock()
	if p.closed {
		return
	}
	p.budget.take(lineCost(line))
	p.in <- db.LogLine{PreviewID: p.previewID, TS: ts.UTC().Truncate(time.Microsecond), Stream: stream, Line: line}
	p.queued.Add(1)
}

// flush waits, up to timeout, until every line added before it is stored, so
// that a reader of the stored log sees them; a runner event that ends a
// request (the launch's "healthy") is flushed before the request answers.
func (p *logPipeline) flush(timeout time.Duration) {
	if p == nil {
		return
	}
	want := p.queued.Load()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		p.progressMu.Lock()
		progress := p.progress
		p.progressMu.Unlock()
		if p.handled.Load() >= want {
			return
		}
		select {
		case <-progress:
		case <-p.done:
			return
		case <-t.C:
			return
		}
	}
}

// advance records that n more queued lines were handled and wakes flush.
func (p *logPipeline) advance(n int64) {
	p.handled.Add(n)
	p.progressMu.Lock()
	close(p.progress)
	p.progress = make(chan struct{})
	p.progressMu.Unlock()
}

// system adds a runner event.
func (p *logPipeline) system(format string, args ...any) {
	p.add(db.StreamSystem, fmt.Sprintf(format, args...))
}

// build adds a line of dependency-install output.
func (p *logPipeline) build(line string) { p.add(db.StreamBuild, cleanLine([]byte(line))) }

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
	p.stored = p.storedWindow(last)
	batch := make([]db.LogLine, 0, p.batchLines)
	next := last
	var bytes, cost, queued int64 // of the batch: its text, what it holds of the budget, its lines from in
	take := func(l db.LogLine, fromIn bool) {
		next++
		l.Seq = next
		batch = append(batch, l)
		bytes += int64(len(l.Line))
		if fromIn {
			cost += lineCost(l.Line)
			queued++
		}
	}
	// notice fires when dropped lines are due to be told.
	notice := time.NewTimer(time.Hour)
	notice.Stop()
	defer notice.Stop()
	var noticeC <-chan time.Time
	for {
		select {
		case l, ok := <-p.in:
			if !ok {
				if p.dropped > 0 {
					p.makeRoom(1, 128) // first, so that the count includes what this line pushes out
					take(p.systemLine(fmt.Sprintf("%d older lines were dropped over the log limit of %s", p.dropped, p.capText())), false)
				}
				p.store(batch, bytes)
				return
			}
			take(l, true)
		drain:
			for int64(len(batch)) < p.batchLines && bytes < p.batchBytes {
				select {
				case l, ok := <-p.in:
					if !ok {
						break drain // the next round stores the last line
					}
					take(l, true)
				default:
					break drain
				}
			}
		case <-noticeC:
			noticeC = nil
		}
		if p.dropped > p.reported && noticeC == nil {
			if wait := logDropNotice - time.Since(p.told); wait > 0 {
				notice.Reset(wait)
				noticeC = notice.C
			} else {
				p.reported, p.told = p.dropped, time.Now()
				take(p.systemLine(fmt.Sprintf("log limit of %s reached: %d older lines dropped so far", p.capText(), p.dropped)), false)
			}
		}
		p.store(batch, bytes)
		p.budget.give(cost)
		p.advance(queued)
		batch, bytes, cost, queued = batch[:0], 0, 0, 0
	}
}

func (p *logPipeline) systemLine(text string) db.LogLine {
	return db.LogLine{PreviewID: p.previewID, TS: time.Now().UTC().Truncate(time.Microsecond), Stream: db.StreamSystem, Line: text}
}

// store makes room under the cap, then stores a batch, retrying briefly, and
// fans it out. A batch that cannot be stored is logged and not sent: a
// subscriber only sees durable ids.
func (p *logPipeline) store(batch []db.LogLine, bytes int64) {
	if len(batch) == 0 || p.gone {
		return
	}
	lines := int64(len(batch))
	p.makeRoom(lines, bytes)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = p.records.AppendLogs(ctx, batch)
		cancel()
		if err == nil || errors.Is(err, db.ErrNotFound) {
			break
		}
	}
	if errors.Is(err, db.ErrNotFound) {
		// Its generation was deleted while it ran; the sweep or the delete
		// stops it. Say so once rather than once a batch.
		p.gone = true
		p.log.Info("preview record gone; its output is no longer stored", "preview_id", p.previewID)
		return
	}
	if err != nil {
		p.log.Error("store preview log lines", "preview_id", p.previewID, "lines", len(batch), "err", err)
		return
	}
	p.stored.push(db.LogSegment{LastSeq: batch[len(batch)-1].Seq, Lines: lines, Bytes: bytes}, p.batchLines, p.batchBytes)
	for _, l := range batch {
		p.metrics.logLine(l.Stream)
	}
	p.fanout(batch)
}
