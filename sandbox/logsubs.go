package sandbox

import (
	"bytes"
	"strings"
	"sync/atomic"

	"github.com/previewd/previewd/db"
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
