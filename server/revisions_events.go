package server

import (
	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox"
)

// failedRevisionJSON is why the preview's last update failed, or nil.
func failedRevisionJSON(p db.Preview) any {
	if p.FailedRevision == nil {
		return nil
	}
	return map[string]any{"message": p.FailedError, "exit_code": p.FailedExitCode, "cause": sandbox.StoredCause(p.FailedCause)}
}

// revisionState is what the log stream reports of a preview's updates.
type revisionState struct {
	serving, reloading, failed int
}

func revisionStateOf(p db.Preview) revisionState {
	st := revisionState{serving: p.Revision}
	if p.ReloadingRevision != nil {
		st.reloading = *p.ReloadingRevision
	}
	if p.FailedRevision != nil {
		st.failed = *p.FailedRevision
	}
	return st
}

// revisionEvent is the `event: revision` that the change from prev to p
// makes, if any: an update that started ("reloading"), succeeded
// ("running") or failed ("failed").
func revisionEvent(prev revisionState, p db.Preview) (map[string]any, bool) {
	cur := revisionStateOf(p)
	switch {
	case cur == prev:
		return nil, false
	case cur.serving != prev.serving:
		return map[string]any{"revision": cur.serving, "status": "running"}, true
	case cur.failed != 0 && cur.failed != prev.failed:
		return map[string]any{"revision": cur.failed, "status": "failed", "error": p.FailedError}, true
	case cur.reloading != 0 && cur.reloading != prev.reloading:
		return map[string]any{"revision": cur.reloading, "status": "reloading"}, true
	}
	return nil, false
}
