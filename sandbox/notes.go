package sandbox

import "time"

// noteFlushWait bounds how long Note waits for its line to be stored.
const noteFlushWait = 2 * time.Second

// Note adds a runner event (a system line) to the log of a preview this
// process runs, and waits until it is stored, so that a reader of the log
// that reacts to it finds what it announces. It reports false when this
// process holds no log of the preview.
func (m *Manager) Note(previewID, text string) bool {
	in := m.instance(previewID)
	if in == nil {
		return false
	}
	p := in.logs.Load()
	if p == nil {
		return false
	}
	p.system("%s", text)
	p.flush(noteFlushWait)
	return true
}
