package sandbox

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/cause"
	"github.com/previewd/previewd/sandbox/framework"
)

// causeLines is how much of a failed app's output the diagnosis reads: more
// than the log tail it reports, so a long traceback (Django's, gunicorn's)
// is read whole.
const causeLines = 300

// maxSourceBytes bounds the app files the diagnosis may search; larger files
// are data or bundles, not code that names a module or binds a port.
const maxSourceBytes = 256 << 10

// diagnose works out why the preview failed, records it in fin and returns it.
func (m *Manager) diagnose(in *instance, fin *db.Finish, facts cause.Facts, output []string) *cause.Cause {
	facts.Port = framework.AppPort
	facts.Timeout = m.cfg.StartTimeout.String()
	facts.PidsLimit = in.rec.Pids
	c := cause.Diagnose(output, facts)
	b, err := json.Marshal(c)
	if err != nil {
		m.log.Error("encode cause", "preview_id", in.rec.ID, "err", err)
		return nil
	}
	fin.Cause = b
	return &c
}

// sources are the app's text files by path, for the diagnosis to place a
// failure the output does not.
func (p *prepared) sources() map[string]string {
	if p == nil {
		return nil
	}
	out := make(map[string]string, len(p.appFiles))
	for _, f := range p.appFiles {
		if len(f.Content) <= maxSourceBytes && utf8.Valid(f.Content) {
			out[f.Path] = string(f.Content)
		}
	}
	return out
}

// StoredCause decodes a recorded cause; nil when there is none.
func StoredCause(b []byte) *cause.Cause { return storedCause(b) }

// storedCause decodes a recorded cause; nil when there is none.
func storedCause(b []byte) *cause.Cause {
	if len(b) == 0 {
		return nil
	}
	var c cause.Cause
	if err := json.Unmarshal(b, &c); err != nil || c.Kind == "" {
		return nil
	}
	return &c
}
