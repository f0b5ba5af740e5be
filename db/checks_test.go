package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/previewd/previewd/db"
)

// TestChecksOfOlderRevision: the checks after a reload replace those of the
// revision before, with their screenshots; checks of an older revision that
// finish later are refused and change nothing.
func TestChecksOfOlderRevision(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p := newPreview(g, 4201)
	p.Revision = 1
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatal(err)
	}
	save := func(rev int, state string, shot string) error {
		return s.SaveChecks(ctx, db.Checks{PreviewID: p.ID, Revision: rev, State: state}, map[int][]byte{0: []byte(shot)})
	}
	if err := save(1, db.ChecksDone, "one"); err != nil {
		t.Fatal(err)
	}
	if err := save(2, db.ChecksDone, "two"); err != nil {
		t.Fatal(err)
	}
	if err := save(1, db.ChecksRunning, "late"); !errors.Is(err, db.ErrSuperseded) {
		t.Fatalf("checks of revision 1 after those of 2: %v, want ErrSuperseded", err)
	}
	got, err := s.PreviewChecks(ctx, p.ID)
	if err != nil || got.Revision != 2 || got.State != db.ChecksDone {
		t.Fatalf("stored checks %+v, %v; want revision 2 done", got, err)
	}
	if png, err := s.Screenshot(ctx, p.ID, 0); err != nil || string(png) != "two" {
		t.Fatalf("screenshot %q, %v; want revision 2's", png, err)
	}
	if err := save(2, db.ChecksDone, "again"); err != nil {
		t.Fatalf("the same revision checked again: %v", err)
	}
}
