package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
			s := &lineSplitter{emit: func(l string, _ time.Time) { got = append(got, l) }}
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

// TestOutputDedupe: entries the engine sends again (a new read from since, a
// range repeated within one read, the stored lines replayed after a restart
// of previewd) are dropped by their time and their position among the
// entries with that time, and none is dropped twice over; lines keep the
// time of their first entry.
func TestOutputDedupe(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(us, ns int64) time.Time { return base.Add(time.Duration(us)*time.Microsecond + time.Duration(ns)) }
	type entry struct {
		us, ns int64 // the entry's time: base + us µs + ns ns
		text   string
	}
	e := func(us int64, text string) entry { return entry{us, 0, text} }
	cases := []struct {
		name  string
		skip  *db.OutputEnd // lines stored before a restart
		reads [][]entry     // each read of the log, from its since
		want  []string      // lines, "text@µs"
	}{
		{name: "overlapping re-read",
			reads: [][]entry{{e(1, "a\n"), e(2, "b\n"), e(3, "c\n")}, {e(2, "b\n"), e(3, "c\n"), e(4, "d\n")}},
			want:  []string{"a@1", "b@2", "c@3", "d@4"}},
		{name: "range repeated within a read",
			reads: [][]entry{{e(1, "a\n"), e(2, "b\n"), e(3, "c\n"), e(2, "b\n"), e(3, "c\n"), e(4, "d\n")}},
			want:  []string{"a@1", "b@2", "c@3", "d@4"}},
		{name: "equal times, by position",
			reads: [][]entry{{e(1, "a\n"), e(1, "b\n")}, {e(1, "a\n"), e(1, "b\n"), e(1, "c\n"), e(2, "d\n")}},
			want:  []string{"a@1", "b@1", "c@1", "d@2"}},
		{name: "entry sent twice in a row",
			reads: [][]entry{{e(1, "a\n"), e(2, "b\n"), e(2, "b\n"), e(3, "c\n")}, {e(2, "b\n"), e(2, "b\n"), e(3, "c\n"), e(4, "d\n")}},
			want:  []string{"a@1", "b@2", "c@3", "d@4"}},
		{name: "equal parts of a line",
			reads: [][]entry{{e(1, "LL"), e(1, "LL")}, {e(1, "LL"), e(1, "LL"), e(1, "LL"), e(1, "L\n")}, {e(1, "LL"), e(1, "LL"), e(1, "LL"), e(1, "L\n"), e(2, "x\n")}},
			want:  []string{"LLLLLLL@1", "x@2"}},
		{name: "line in parts across a re-read",
			reads: [][]entry{{e(1, "aaa")}, {e(1, "aaa"), e(1, "bbb\n"), e(2, "c\n")}},
			want:  []string{"aaabbb@1", "c@2"}},
		{name: "nothing new",
			reads: [][]entry{{e(1, "a\n")}, {e(1, "a\n")}, {}},
			want:  []string{"a@1"}},
		{name: "last line without newline",
			reads: [][]entry{{e(1, "x\n"), e(2, "tail")}, {e(2, "tail")}},
			want:  []string{"x@1", "tail@2"}},
		{name: "restart: stored lines and others in their microsecond",
			skip:  &db.OutputEnd{Stream: db.StreamStdout, TS: at(5, 0), Lines: 2},
			reads: [][]entry{{e(3, "old\n"), {5, 100, "s1\n"}, {5, 200, "s2\n"}, {5, 300, "new\n"}, e(6, "n2\n")}},
			want:  []string{"new@5", "n2@6"}},
		{name: "restart: a stored line in parts",
			skip:  &db.OutputEnd{Stream: db.StreamStdout, TS: at(5, 0), Lines: 1},
			reads: [][]entry{{{5, 7, "AAAA"}, {5, 7, "BB\n"}, e(6, "next\n")}},
			want:  []string{"next@6"}},
		{name: "restart: re-read while passing over stored lines",
			skip:  &db.OutputEnd{Stream: db.StreamStdout, TS: at(5, 0), Lines: 2},
			reads: [][]entry{{{5, 1, "s1\n"}}, {{5, 1, "s1\n"}, {5, 2, "s2\n"}, {5, 3, "new\n"}}},
			want:  []string{"new@5"}},
		{name: "restart: the stored lines are no longer in the engine",
			skip:  &db.OutputEnd{Stream: db.StreamStdout, TS: at(5, 0), Lines: 1},
			reads: [][]entry{{e(7, "later\n"), e(8, "more\n")}},
			want:  []string{"later@7", "more@8"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var o output
			o.stdout.split.emit = func(l string, ts time.Time) {
				got = append(got, fmt.Sprintf("%s@%d", l, ts.Sub(base)/time.Microsecond))
			}
			if tc.skip != nil {
				o.stdout.skipStored(*tc.skip)
			}
			for _, read := range tc.reads {
				o.newRead()
				for _, en := range read {
					b := []byte(at(en.us, en.ns).Format("2006-01-02T15:04:05.000000000Z07:00") + " " + en.text)
					if n, err := o.stdout.Write(b); n != len(b) || err != nil {
						t.Fatalf("Write = %d, %v", n, err)
					}
				}
			}
			o.flush()
			if !slices.Equal(got, tc.want) {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOutputStreamsApart: each stream has its own cursor (an entry of one
// stream may be older than the other's latest), and a new read starts
// outputReorder before the latest entry delivered, never before the first
// read's since.
func TestOutputStreamsApart(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var got []string
	var o output
	o.stdout.split.emit = func(l string, _ time.Time) { got = append(got, "out:"+l) }
	o.stderr.split.emit = func(l string, _ time.Time) { got = append(got, "err:"+l) }
	write := func(w io.Writer, ms int, text string) {
		w.Write([]byte(base.Add(time.Duration(ms)*time.Millisecond).Format(time.RFC3339Nano) + " " + text + "\n"))
	}
	since := base.Add(-time.Hour)
	if r := o.resume(since); !r.Equal(since) {
		t.Errorf("resume before any entry = %v, want since", r)
	}
	o.newRead()
	write(&o.stdout, 100, "a")
	write(&o.stderr, 99, "late but new")
	write(&o.stdout, 100, "b")
	if r, want := o.resume(since), base.Add(100*time.Millisecond-outputReorder); !r.Equal(want) {
		t.Errorf("resume = %v, want %v", r, want)
	}
	if r := o.resume(base.Add(95 * time.Millisecond)); !r.Equal(base.Add(95 * time.Millisecond)) {
		t.Errorf("resume went back before since: %v", r)
	}
	o.newRead()
	write(&o.stderr, 99, "late but new")
	write(&o.stdout, 100, "a")
	write(&o.stdout, 100, "b")
	write(&o.stdout, 101, "c")
	want := []string{"out:a", "err:late but new", "out:b", "out:c"}
	if !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
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
	delay   time.Duration
	gate    chan struct{} // when set, an append waits for it to be closed
	mu      sync.Mutex
	lines   []db.LogLine
	calls   int
	deleted int64
}

func (r *memRecords) AppendLogs(_ context.Context, lines []db.LogLine) error {
	time.Sleep(r.delay)
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, lines...)
	r.calls++
	return nil
}

func (r *memRecords) LastLogSeq(context.Context, string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) == 0 {
		return 0, nil
	}
	return r.lines[len(r.lines)-1].Seq, nil
}

func (r *memRecords) DeleteLogs(_ context.Context, _ string, through int64) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for i < len(r.lines) && r.lines[i].Seq <= through {
		i++
	}
	r.lines = r.lines[i:]
	r.deleted += int64(i)
	return int64(i), nil
}

func (r *memRecords) LogSegments(_ context.Context, _ string, width int64) ([]db.LogSegment, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var segs []db.LogSegment
	for _, l := range r.lines {
		if n := len(segs); n > 0 && segs[n-1].LastSeq/width == l.Seq/width {
			segs[n-1].LastSeq = l.Seq
			segs[n-1].Lines++
			segs[n-1].Bytes += int64(len(l.Line))
			continue
		}
		segs = append(segs, db.LogSegment{LastSeq: l.Seq, Lines: 1, Bytes: int64(len(l.Line))})
	}
	return segs, nil
}

// usage is how many lines and bytes are stored.
func (r *memRecords) usage() (lines, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		bytes += int64(len(l.Line))
	}
	return int64(len(r.lines)), bytes
}

func testPipeline(t *testing.T, recs *memRecords, maxLines int, last int64) (*logPipeline, *sync.WaitGroup) {
	t.Helper()
	return testPipelineCfg(t, recs, Config{LogMaxLines: maxLines}, last)
}

func testPipelineCfg(t *testing.T, recs *memRecords, cfg Config, last int64) (*logPipeline, *sync.WaitGroup) {
	t.Helper()
	m := &Manager{
		cfg: cfg, records: recs, metrics: NewMetrics(prometheus.NewRegistry()),
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

// TestLogPipelineCap: beyond the cap of lines, the oldest stored lines are
// deleted, a system line says so at once, and a count comes at the end;
// the newest lines and the system lines after them are kept.
func TestLogPipelineCap(t *testing.T) {
	recs := &memRecords{}
	p, wg := testPipeline(t, recs, 10, 0)
	for i := range 25 {
		p.add(db.StreamStdout, fmt.Sprint("x", i))
	}
	p.system("stopped")
	p.close()
	wg.Wait()
	var got []string
	for _, l := range recs.lines {
		got = append(got, l.Stream+":"+l.Line)
	}
	if len(recs.lines) > 10 {
		t.Fatalf("stored %d lines over a cap of 10: %q", len(recs.lines), got)
	}
	want := []string{"stdout:x23", "stdout:x24", "system:stopped",
		fmt.Sprintf("system:%d older lines were dropped over the log limit of 10 lines or 20.0 MiB", recs.deleted)}
	if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
		t.Fatalf("stored %q, want it to end with %q", got, want)
	}
	notices := 0
	for _, l := range recs.lines {
		if strings.HasPrefix(l.Line, "log limit of 10 lines or 20.0 MiB reached: ") {
			notices++
		}
	}
	// The notice came at the first drop; later ones wait logDropNotice.
	if recs.deleted < 15 || notices > 1 {
		t.Errorf("deleted %d lines, %d notices still stored: %q", recs.deleted, notices, got)
	}
	for i := 1; i < len(recs.lines); i++ {
		if recs.lines[i].Seq <= recs.lines[i-1].Seq {
			t.Fatalf("seqs out of order: %q", got)
		}
	}
	// Adds after close are dropped, not a panic.
	p.add(db.StreamStdout, "late")
}

// TestLogPipelineByteCap: a flood of long lines stays under the cap of bytes
// at every insert, keeps the newest lines, and the count of dropped lines adds
// up; the lines queued in memory never exceed logIngestBytes.
func TestLogPipelineByteCap(t *testing.T) {
	const maxBytes = 64 << 10
	recs := &memRecords{delay: 200 * time.Microsecond}
	p, wg := testPipelineCfg(t, recs, Config{LogMaxLines: 1_000_000, LogStoreBytes: maxBytes}, 0)
	var peak int64
	var peakMu sync.Mutex
	check := func() {
		_, b := recs.usage()
		peakMu.Lock()
		peak = max(peak, b)
		peakMu.Unlock()
	}
	const n = 5000
	line := strings.Repeat("y", 1000)
	for i := range n {
		p.add(db.StreamStdout, fmt.Sprintf("%05d %s", i, line))
		if i%100 == 0 {
			check()
		}
	}
	p.close()
	wg.Wait()
	check()
	lines, bytes := recs.usage()
	if peak > maxBytes || bytes > maxBytes {
		t.Errorf("stored up to %d bytes (%d at the end), cap %d", peak, bytes, maxBytes)
	}
	last := recs.lines[len(recs.lines)-2] // before the final count
	if !strings.HasPrefix(last.Line, fmt.Sprintf("%05d ", n-1)) {
		t.Errorf("the newest line is not kept: %.20q", last.Line)
	}
	final := recs.lines[len(recs.lines)-1].Line
	if want := fmt.Sprintf("%d older lines were dropped", recs.deleted); !strings.HasPrefix(final, want) {
		t.Errorf("final line %q, want %q…", final, want)
	}
	t.Logf("stored %d lines, %d bytes (peak %d, cap %d); %d dropped in %d inserts", lines, bytes, peak, maxBytes, recs.deleted, recs.calls)
}

// TestLogPipelineRestartCap: a pipeline started over a stored log counts it
// against the cap.
func TestLogPipelineRestartCap(t *testing.T) {
	recs := &memRecords{}
	p, wg := testPipeline(t, recs, 100, 0)
	for i := range 90 {
		p.add(db.StreamStdout, fmt.Sprint(i))
	}
	p.close()
	wg.Wait()
	last, _ := recs.LastLogSeq(context.Background(), "p1")
	p, wg = testPipeline(t, recs, 100, last)
	for i := range 30 {
		p.add(db.StreamStdout, fmt.Sprint(i))
	}
	p.close()
	wg.Wait()
	if lines, _ := recs.usage(); lines > 100 || recs.deleted == 0 {
		t.Errorf("stored %d lines over a cap of 100, deleted %d", lines, recs.deleted)
	}
}

// TestLogPipelineBackPressure: while the store is stuck, a producer may queue
// only logIngestBytes of lines, then waits; it goes on once the store does.
func TestLogPipelineBackPressure(t *testing.T) {
	recs := &memRecords{gate: make(chan struct{})}
	p, wg := testPipeline(t, recs, 0, 0)
	line := strings.Repeat("z", 8<<10)
	const n = 2000 // 16 MiB
	var added atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			p.add(db.StreamStdout, line)
			added.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	limit := logIngestBytes / lineCost(line)
	if got := added.Load(); got > limit || got == 0 {
		t.Errorf("%d lines of %d bytes queued while the store was stuck, want 1..%d", got, len(line), limit)
	}
	close(recs.gate)
	<-done
	p.close()
	wg.Wait()
	if lines, _ := recs.usage(); lines != n {
		t.Errorf("stored %d lines, want %d", lines, n)
	}
}

// TestLogPipelineFlush: flush returns once every line added before it is
// stored, and gives up after its timeout while the store is stuck.
func TestLogPipelineFlush(t *testing.T) {
	recs := &memRecords{delay: 20 * time.Millisecond}
	p, wg := testPipeline(t, recs, 0, 0)
	for i := range 50 {
		p.add(db.StreamStdout, fmt.Sprint("line ", i))
	}
	p.system("healthy")
	p.flush(10 * time.Second)
	if lines, _ := recs.usage(); lines != 51 {
		t.Errorf("after flush %d lines are stored, want 51", lines)
	}

	recs.mu.Lock()
	recs.gate = make(chan struct{})
	recs.mu.Unlock()
	p.system("stuck")
	start := time.Now()
	p.flush(100 * time.Millisecond)
	if waited := time.Since(start); waited < 100*time.Millisecond || waited > 5*time.Second {
		t.Errorf("flush with the store stuck returned after %v, want its timeout", waited)
	}
	close(recs.gate)
	p.close()
	wg.Wait()
	if lines, _ := recs.usage(); lines != 52 {
		t.Errorf("stored %d lines, want 52", lines)
	}
}

// BenchmarkOutputEntry measures what reading one entry of the engine's log
// costs previewd: its time parsed, the cursor checked, the line split off.
func BenchmarkOutputEntry(b *testing.B) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entries := make([][]byte, 1000)
	for i := range entries {
		entries[i] = []byte(base.Add(time.Duration(i)*time.Microsecond).Format("2006-01-02T15:04:05.000000000Z07:00") +
			fmt.Sprintf(" flood n=%d %s\n", i, strings.Repeat("x", 180)))
	}
	var s outputStream
	s.split.emit = func(string, time.Time) {}
	b.ReportAllocs()
	for i := range b.N {
		if i%len(entries) == 0 {
			s.newRead() // read the same entries again: all but new ones are dropped
			s.at, s.done = time.Time{}, 0
		}
		s.Write(entries[i%len(entries)])
	}
}
