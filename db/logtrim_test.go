package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/previewd/previewd/db"
)

// TestLogTrim: the stored log sums up in segments of seqs, and deleting
// through a seq removes exactly the oldest lines of that preview alone.
func TestLogTrim(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p, other := newPreview(g, 4200), newPreview(g, 4201)
	for _, pr := range []*db.Preview{p, other} {
		if err := s.InsertPreview(ctx, pr, session(pr)); err != nil {
			t.Fatal(err)
		}
		// Only one preview of a generation may be live.
		if _, err := s.FinishPreview(ctx, pr.ID, db.Finish{Status: db.StatusStopped}); err != nil {
			t.Fatal(err)
		}
	}
	ts := time.Now().UTC().Truncate(time.Microsecond)
	for _, pr := range []*db.Preview{p, other} {
		var batch []db.LogLine
		for i := 1; i <= 25; i++ {
			batch = append(batch, db.LogLine{PreviewID: pr.ID, Seq: int64(i), TS: ts, Stream: db.StreamStdout, Line: strings.Repeat("é", i)})
		}
		if err := s.AppendLogs(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := s.LogSegments(ctx, p.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	// seq/10 groups 1..9, 10..19, 20..25; "é" is two bytes.
	want := []db.LogSegment{{9, 9, 2 * 45}, {19, 10, 2 * 145}, {25, 6, 2 * 135}}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v, want %+v", segs, want)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Fatalf("segments %+v, want %+v", segs, want)
		}
	}
	if n, err := s.DeleteLogs(ctx, p.ID, 19); err != nil || n != 19 {
		t.Fatalf("deleted %d, %v; want 19", n, err)
	}
	if lines, err := s.Logs(ctx, p.ID, 0, 100); err != nil || len(lines) != 6 || lines[0].Seq != 20 {
		t.Fatalf("after the delete: %d lines from %v, %v", len(lines), lines[:min(1, len(lines))], err)
	}
	if lines, err := s.Logs(ctx, other.ID, 0, 100); err != nil || len(lines) != 25 {
		t.Fatalf("the other preview kept %d lines, %v", len(lines), err)
	}
}
