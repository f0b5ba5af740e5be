package server

import (
	"testing"

	"github.com/previewd/previewd/db"
)

func TestRevisionEvent(t *testing.T) {
	n := func(v int) *int { return &v }
	serving2 := revisionState{serving: 2}
	tests := []struct {
		name   string
		prev   revisionState
		p      db.Preview
		status string
		rev    int
	}{
		{"nothing changed", serving2, db.Preview{Revision: 2}, "", 0},
		{"an update starts", serving2, db.Preview{Revision: 2, ReloadingRevision: n(3)}, "reloading", 3},
		{"it serves", revisionState{serving: 2, reloading: 3}, db.Preview{Revision: 3}, "running", 3},
		{"it failed", revisionState{serving: 2, reloading: 3}, db.Preview{Revision: 2, FailedRevision: n(3), FailedError: "boom"}, "failed", 3},
		{"the failure stays", revisionState{serving: 2, failed: 3}, db.Preview{Revision: 2, FailedRevision: n(3)}, "", 0},
		{"the next one starts after a failure", revisionState{serving: 2, failed: 3}, db.Preview{Revision: 2, FailedRevision: n(3), ReloadingRevision: n(4)}, "reloading", 4},
	}
	for _, tt := range tests {
		ev, ok := revisionEvent(tt.prev, tt.p)
		if ok != (tt.status != "") || (ok && (ev["status"] != tt.status || ev["revision"] != tt.rev)) {
			t.Errorf("%s: revisionEvent = %v, %v; want %q of %d", tt.name, ev, ok, tt.status, tt.rev)
		}
	}
}
