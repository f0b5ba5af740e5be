package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/previewd/previewd/db"
)

// TestReloadRecords: an update is marked on a running preview only; a
// failure keeps the serving revision and names the failed one; a success
// moves the revision and forgets the failure.
func TestReloadRecords(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p := newPreview(g, 4200)
	p.Revision = 1
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPreviewReloading(ctx, p.ID, 2); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("reloading a starting preview: %v, want ErrNotFound", err)
	}
	if _, err := s.MarkPreviewRunning(ctx, p.ID, db.Timings{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPreviewReloading(ctx, p.ID, 2); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Preview(ctx, p.ID)
	if got.ReloadingRevision == nil || *got.ReloadingRevision != 2 || got.Revision != 1 {
		t.Fatalf("while reloading: %+v", got)
	}
	code := 3
	if err := s.RecordReloadFailure(ctx, p.ID, db.ReloadFailure{Revision: 2, Error: "boom", ExitCode: &code, Cause: []byte(`{"kind":"exit"}`)}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Preview(ctx, p.ID)
	if got.Revision != 1 || got.ReloadingRevision != nil || got.FailedRevision == nil || *got.FailedRevision != 2 ||
		got.FailedError != "boom" || got.FailedExitCode == nil || *got.FailedExitCode != 3 || len(got.FailedCause) == 0 {
		t.Fatalf("after a failed update: %+v", got)
	}
	if err := s.RecordReload(ctx, p.ID, 3); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Preview(ctx, p.ID)
	if got.Revision != 3 || got.FailedRevision != nil || got.FailedError != "" || got.FailedExitCode != nil || got.FailedCause != nil {
		t.Fatalf("after a good update: %+v", got)
	}
}
