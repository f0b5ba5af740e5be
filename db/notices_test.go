package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/previewd/previewd/db"
)

// TestLogNotices: a stored batch wakes the waiters of its preview and no
// other, through a listener on its own connection as another previewd
// would have it; a batch that fails to store wakes nobody.
func TestLogNotices(t *testing.T) {
	url := newDatabase(t)
	s := openStore(t, url)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, q := newPreview(newGeneration(t, s, "alice"), 4100), newPreview(newGeneration(t, s, "alice"), 4101)
	for _, pr := range []*db.Preview{p, q} {
		if err := s.InsertPreview(ctx, pr, session(pr)); err != nil {
			t.Fatal(err)
		}
	}
	notices, err := db.ListenLogs(url)
	if err != nil {
		t.Fatal(err)
	}
	defer notices.Close()
	pWake, stopP := notices.Wait(p.ID)
	defer stopP()
	qWake, stopQ := notices.Wait(q.ID)
	defer stopQ()
	// A second waiter on p, stopped before anything is stored.
	_, stopOther := notices.Wait(p.ID)
	stopOther()

	line := func(pr *db.Preview, seq int64) db.LogLine {
		return db.LogLine{PreviewID: pr.ID, Seq: seq, TS: time.Now(), Stream: db.StreamStdout, Line: "x"}
	}
	woken := func(name string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no notice of its stored lines", name)
		}
	}
	quiet := func(name string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
			t.Fatalf("%s woken by lines of another preview or lines never stored", name)
		default:
		}
	}

	if err := s.AppendLogs(ctx, []db.LogLine{line(p, 1), line(p, 2)}); err != nil {
		t.Fatal(err)
	}
	woken("p", pWake)
	// Notices arrive in commit order: once q's arrives, one for p's
	// failed batch (a repeated seq) would have arrived before it.
	if err := s.AppendLogs(ctx, []db.LogLine{line(p, 2)}); err == nil {
		t.Fatal("a repeated seq was stored")
	}
	if err := s.AppendLogs(ctx, []db.LogLine{line(q, 1)}); err != nil {
		t.Fatal(err)
	}
	woken("q", qWake)
	quiet("p", pWake)
	quiet("q", qWake)
}
