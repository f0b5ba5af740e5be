package db_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/db"
)

// TestLogs stores batches, pages through them by seq, finds the last seq,
// refuses an unknown stream and a repeated seq, and drops a preview's lines
// with the preview.
func TestLogs(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p := newPreview(g, 4100)
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatal(err)
	}
	if last, err := s.LastLogSeq(ctx, p.ID); err != nil || last != 0 {
		t.Fatalf("last seq of an empty log = %d, %v", last, err)
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	var batch []db.LogLine
	for i := 1; i <= 1200; i++ {
		stream := []string{db.StreamStdout, db.StreamStderr, db.StreamBuild, db.StreamSystem}[i%4]
		batch = append(batch, db.LogLine{PreviewID: p.ID, Seq: int64(i), TS: ts.Add(time.Duration(i) * time.Millisecond),
			Stream: stream, Line: fmt.Sprintf("line %d 'quoted' \"double\" {braces}, commas é", i)})
	}
	batch[5].Line = strings.Repeat("y", 16<<10)
	batch[6].Line = ""
	if err := s.AppendLogs(ctx, batch[:700]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLogs(ctx, batch[700:]); err != nil {
		t.Fatal(err)
	}
	var got []db.LogLine
	for since := int64(0); ; {
		page, err := s.Logs(ctx, p.ID, since, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		since = page[len(page)-1].Seq
	}
	if len(got) != len(batch) {
		t.Fatalf("read %d lines, want %d", len(got), len(batch))
	}
	for i, l := range got {
		w := batch[i]
		if l.Seq != w.Seq || l.Stream != w.Stream || l.Line != w.Line || !l.TS.Equal(w.TS) || l.PreviewID != p.ID {
			t.Fatalf("line %d = %+v, want %+v", i, l, w)
		}
	}
	if last, err := s.LastLogSeq(ctx, p.ID); err != nil || last != 1200 {
		t.Fatalf("last seq = %d, %v; want 1200", last, err)
	}
	bad := db.LogLine{PreviewID: p.ID, Seq: 1201, TS: ts, Stream: "stdin", Line: "x"}
	if err := s.AppendLogs(ctx, []db.LogLine{bad}); err == nil {
		t.Fatal("an unknown stream was stored")
	}
	dup := db.LogLine{PreviewID: p.ID, Seq: 1200, TS: ts, Stream: db.StreamStdout, Line: "again"}
	if err := s.AppendLogs(ctx, []db.LogLine{dup}); err == nil {
		t.Fatal("a repeated seq was stored")
	}
	if _, err := s.FinishPreview(ctx, p.ID, db.Finish{Status: db.StatusStopped}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGeneration(ctx, "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	if lines, err := s.Logs(ctx, p.ID, 0, 10); err != nil || len(lines) != 0 {
		t.Fatalf("after deleting the generation: %d lines, %v", len(lines), err)
	}
	// Output of a preview whose record is gone is refused as not found, which
	// the log pipeline takes as the end of storing, not as a failure to retry.
	late := db.LogLine{PreviewID: p.ID, Seq: 1201, TS: ts, Stream: db.StreamStdout, Line: "late"}
	if err := s.AppendLogs(ctx, []db.LogLine{late}); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("lines of a deleted preview: %v, want ErrNotFound", err)
	}
}

// TestOutputEnds: for stdout and stderr apart, the time of the last stored
// line and how many stored lines of that stream have it; build and system
// lines do not count, nor other previews, and a stream without lines is
// absent.
func TestOutputEnds(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p := newPreview(g, 4300)
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatal(err)
	}
	if ends, err := s.OutputEnds(ctx, p.ID); err != nil || len(ends) != 0 {
		t.Fatalf("ends of an empty log = %+v, %v", ends, err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	us := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }
	lines := []struct {
		ts     time.Time
		stream string
	}{
		{us(0), db.StreamStdout}, {us(1), db.StreamStdout}, {us(1), db.StreamStderr},
		{us(2), db.StreamStdout}, {us(2), db.StreamStdout}, {us(2), db.StreamStdout},
		{us(3), db.StreamSystem}, {us(0), db.StreamStderr}, {us(9), db.StreamBuild},
	}
	var batch []db.LogLine
	for i, l := range lines {
		batch = append(batch, db.LogLine{PreviewID: p.ID, Seq: int64(i + 1), TS: l.ts, Stream: l.stream, Line: fmt.Sprint(i)})
	}
	if err := s.AppendLogs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	ends, err := s.OutputEnds(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]db.OutputEnd{}
	for _, e := range ends {
		got[e.Stream] = e
	}
	// stderr's last line is older than another of its lines: the last one
	// stored counts.
	want := map[string]db.OutputEnd{
		db.StreamStdout: {Stream: db.StreamStdout, TS: us(2), Lines: 3},
		db.StreamStderr: {Stream: db.StreamStderr, TS: us(0), Lines: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("ends %+v, want %+v", ends, want)
	}
	for stream, w := range want {
		if g := got[stream]; !g.TS.Equal(w.TS) || g.Lines != w.Lines {
			t.Errorf("%s ends %+v, want %+v", stream, g, w)
		}
	}
}
