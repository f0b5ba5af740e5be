package sandbox

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/previewd/previewd/db"
)

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("x", maxLogLine)
	cases := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"lines", []string{"a\nb\n"}, []string{"a", "b"}},
		{"chunks join", []string{"he", "llo\nwor", "ld\n"}, []string{"hello", "world"}},
		{"empty lines kept", []string{"a\n\nb\n"}, []string{"a", "", "b"}},
		{"crlf", []string{"a\r\nb\r\n"}, []string{"a", "b"}},
		{"partial last line flushed", []string{"a\nrest"}, []string{"a", "rest"}},
		{"exactly the limit is whole", []string{long + "\n"}, []string{long}},
		{"over the limit is cut", []string{long + "yyyy\nnext\n"}, []string{long + truncMarker, "next"}},
		{"cut across writes", []string{long[:10000], long[10000:] + "zz", "zzz\nnext\n"}, []string{long + truncMarker, "next"}},
		{"cut partial is not repeated at flush", []string{long + "tail"}, []string{long + truncMarker}},
		{"invalid utf-8 and NUL", []string{"a\xffb\x00c\n"}, []string{"a\uFFFDb\uFFFDc"}},
		{"cut keeps runes whole", []string{strings.Repeat("x", maxLogLine-1) + "é and more\n"}, []string{strings.Repeat("x", maxLogLine-1) + truncMarker}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			s := &lineSplitter{emit: func(l string) { got = append(got, l) }}
			for _, w := range tc.writes {
				if n, err := s.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			s.Flush()
			if len(got) != len(tc.want) {
				t.Fatalf("got %d lines, want %d: %q", len(got), len(tc.want), short(got))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d = %q, want %q", i, shortLine(got[i]), shortLine(tc.want[i]))
				}
			}
		})
	}
}

func short(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = shortLine(l)
	}
	return out
}

func shortLine(l string) string {
	if len(l) > 40 {
		return l[:20] + "…" + l[len(l)-20:]
	}
	return l
}

// memRecords stores log lines in memory, each append taking delay.
type memRecords struct {
	Records
	delay time.Duration
	mu    sync.Mutex
	lines []db.LogLine
	calls int
}

func (r *memRecords) AppendLogs(_ context.Context, lines []db.LogLine) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, lines...)
	r.calls++
	return nil
}

func (r *memRecords) LastLogSeq(context.Context, string) (int64, error) { return 0, nil }

func testPipeline(t *testing.T, recs *memRecords, maxLines int, last int64) (*logPipeline, *sync.WaitGroup) {
	t.Helper()
	m := &Manager{
		cfg: Config{LogMaxLines: maxLines}, records: recs, metrics: NewMetrics(prometheus.NewRegistry()),
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), base: context.Background(),
	}
	return m.newLogPipeline("p1", last), &m.wg
}

// TestLogPipelineFanout: lines are numbered from the stored last seq, stored
// in batches, and reach a fast subscriber in full; a subscriber that does not
// read is let go as lagging instead of holding ingest up.
func TestLogPipelineFanout(t *testing.T) {
	recs := &memRecords{delay: time.Millisecond}
	p, wg := testPipeline(t, recs, 0, 41)
	fast := p.subscribe()
	slow := p.subscribe()
	// Fewer lines than a subscriber's buffer: nobody can lag yet. Once the
	// fast one has read them, more lines overflow only the slow one.
	const first, n = logSubscriberBuffer - 24, logSubscriberBuffer + 76
	var got []db.LogLine
	readFirst := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for l := range fast.C {
			got = append(got, l)
			if len(got) == first {
				close(readFirst)
			}
		}
	}()
	for i := range first {
		p.add(db.StreamStdout, strings.Repeat("x", i%7))
	}
	<-readFirst
	for i := first; i < n; i++ {
		p.add(db.StreamStdout, strings.Repeat("x", i%7))
	}
	p.close()
	wg.Wait()
	<-done
	if fast.Lagging() {
		t.Fatal("a subscriber that keeps up was marked lagging")
	}
	if !slow.Lagging() {
		t.Fatal("a subscriber that never reads was not marked lagging")
	}
	if len(got) != n || len(recs.lines) != n {
		t.Fatalf("delivered %d, stored %d, want %d", len(got), len(recs.lines), n)
	}
	for i, l := range got {
		if l.Seq != int64(42+i) || recs.lines[i].Seq != l.Seq {
			t.Fatalf("line %d has seq %d (stored %d), want %d", i, l.Seq, recs.lines[i].Seq, 42+i)
		}
	}
	if recs.calls >= n/4 {
		t.Errorf("%d inserts for %d lines: not batched", recs.calls, n)
	}
	// Subscribing after the end gives a closed channel.
	if _, ok := <-p.subscribe().C; ok {
		t.Error("subscription after the end is open")
	}
}

// TestLogPipelineCap: beyond the cap, output is dropped with one system line
// saying so, and a count at the end; system lines are still stored.
func TestLogPipelineCap(t *testing.T) {
	recs := &memRecords{}
	p, wg := testPipeline(t, recs, 10, 0)
	for range 25 {
		p.add(db.StreamStdout, "x")
	}
	p.system("stopped")
	p.close()
	wg.Wait()
	var streams []string
	for _, l := range recs.lines {
		streams = append(streams, l.Stream+":"+l.Line)
	}
	if len(recs.lines) != 13 {
		t.Fatalf("stored %d lines, want 10 + cap notice + stopped + dropped count: %q", len(recs.lines), streams)
	}
	if !strings.Contains(recs.lines[10].Line, "log limit of 10 lines") || recs.lines[11].Line != "stopped" ||
		recs.lines[12].Line != "15 lines were dropped over the log limit" {
		t.Fatalf("unexpected tail: %q", streams[10:])
	}
	// Adds after close are dropped, not a panic.
	p.add(db.StreamStdout, "late")
}
