package sandbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/previewd/previewd/db"
)

// capText describes the stored-log cap for system lines.
func (p *logPipeline) capText() string {
	return fmt.Sprintf("%d lines or %.1f MiB", p.maxLines, float64(p.maxBytes)/(1<<20))
}

// makeRoom deletes the oldest stored lines when adding lines and bytes would
// go over the cap: down to seven eighths of it, so that not every batch of a
// flood costs a delete.
func (p *logPipeline) makeRoom(lines, bytes int64) {
	if p.stored.lines+lines > p.maxLines || p.stored.bytes+bytes > p.maxBytes {
		p.trim(p.maxLines-p.maxLines/8-lines, p.maxBytes-p.maxBytes/8-bytes)
	}
}

// trim deletes the oldest stored lines, whole segments at a time, until at
// most keepLines lines and keepBytes bytes are stored.
func (p *logPipeline) trim(keepLines, keepBytes int64) {
	w := p.stored
	var through int64
	for len(w.segs) > 0 && (w.lines > keepLines || w.bytes > keepBytes) {
		through = w.segs[0].LastSeq
		w.lines -= w.segs[0].Lines
		w.bytes -= w.segs[0].Bytes
		w.segs = w.segs[1:]
	}
	if through == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := p.records.DeleteLogs(ctx, p.previewID, through)
	if err != nil {
		// Kept over the cap until the next batch tries again.
		p.log.Error("drop old preview log lines", "preview_id", p.previewID, "err", err)
		return
	}
	p.stored = w
	p.dropped += n
}

// storedWindow sums up the lines a previous previewd stored, so that the cap
// holds across a restart.
func (p *logPipeline) storedWindow(last int64) logWindow {
	if last == 0 {
		return logWindow{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	segs, err := p.records.LogSegments(ctx, p.previewID, p.batchLines)
	if err != nil {
		p.log.Warn("read the stored log's size; the cap counts only new lines", "preview_id", p.previewID, "err", err)
		return logWindow{}
	}
	var w logWindow
	for _, s := range segs {
		w.push(s, 0, 0)
	}
	return w
}

// logWindow is what is stored of a log, in segments of consecutive lines,
// oldest first.
type logWindow struct {
	segs         []db.LogSegment
	lines, bytes int64
}

// push adds the newest lines, merged into the newest segment while that
// stays within maxLines and maxBytes, so that a quiet app's single lines do
// not each take a segment.
func (w *logWindow) push(s db.LogSegment, maxLines, maxBytes int64) {
	w.lines += s.Lines
	w.bytes += s.Bytes
	if n := len(w.segs); n > 0 && w.segs[n-1].Lines+s.Lines <= maxLines && w.segs[n-1].Bytes+s.Bytes <= maxBytes {
		w.segs[n-1].LastSeq = s.LastSeq
		w.segs[n-1].Lines += s.Lines
		w.segs[n-1].Bytes += s.Bytes
		return
	}
	w.segs = append(w.segs, s)
}

func lineCost(line string) int64 { return min(int64(len(line))+logLineOverhead, logIngestBytes) }

// byteBudget is a counting semaphore of bytes.
type byteBudget struct {
	mu   sync.Mutex
	cond sync.Cond
	free int64
}

func (b *byteBudget) take(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.free < n {
		b.cond.Wait()
	}
	b.free -= n
}

func (b *byteBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}
