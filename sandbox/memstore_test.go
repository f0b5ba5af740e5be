package sandbox

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/previewd/previewd/db"
)

// memStore is the whole of Records in memory, with the store's rules the
// lifecycle relies on: one live preview per generation and per port, a
// preview ends once, and a generation with a live preview is not deleted.
type memStore struct {
	mu       sync.Mutex
	files    map[string][]db.File // by generation id
	previews map[string]*db.Preview
	sessions []db.Session
	logs     map[string][]db.LogLine // by preview id
}

var _ Records = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{files: map[string][]db.File{}, previews: map[string]*db.Preview{}, logs: map[string][]db.LogLine{}}
}

// generation stores the files of a new generation and returns it.
func (s *memStore) generation(id string, files ...db.File) db.Generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[id] = files
	return db.Generation{ID: id, Owner: "alice", Framework: "auto", Revision: 1}
}

func (s *memStore) GenerationFiles(_ context.Context, id string, _ int) ([]db.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		return nil, db.ErrNotFound
	}
	return f, nil
}

func (s *memStore) InsertPreview(_ context.Context, p *db.Preview, session db.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.previews {
		switch {
		case q.Live() && q.GenerationID == p.GenerationID:
			return db.ErrConflict
		case q.Live() && q.Port == p.Port:
			return db.ErrPortTaken
		}
	}
	p.CreatedAt, p.LastActiveAt = time.Now(), time.Now()
	rec := *p
	s.previews[p.ID] = &rec
	s.sessions = append(s.sessions, session)
	return nil
}

func (s *memStore) CreateSession(_ context.Context, session db.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = append(s.sessions, session)
	return nil
}

func (s *memStore) Preview(_ context.Context, id string) (db.Preview, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.previews[id]
	if !ok {
		return db.Preview{}, db.ErrNotFound
	}
	return *p, nil
}

func (s *memStore) LivePreview(_ context.Context, generationID string) (db.Preview, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.previews {
		if p.Live() && p.GenerationID == generationID {
			return *p, nil
		}
	}
	return db.Preview{}, db.ErrNotFound
}

func (s *memStore) LivePreviews(_ context.Context, runnerID string) ([]db.Preview, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []db.Preview
	for _, p := range s.previews {
		if p.Live() && p.RunnerID == runnerID {
			out = append(out, *p)
		}
	}
	return out, nil
}

// update runs f on preview id's record, when it exists.
func (s *memStore) update(id string, f func(p *db.Preview) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.previews[id]
	if !ok {
		return db.ErrNotFound
	}
	return f(p)
}

func (s *memStore) SetPreviewContainer(_ context.Context, id, containerID, image string, rt db.Runtime) error {
	return s.update(id, func(p *db.Preview) error {
		p.ContainerID, p.Image, p.Runtime = containerID, image, rt
		return nil
	})
}

func (s *memStore) MarkPreviewRunning(_ context.Context, id string, timings db.Timings) (db.Preview, error) {
	var out db.Preview
	err := s.update(id, func(p *db.Preview) error {
		if p.Status != db.StatusStarting {
			return db.ErrNotFound
		}
		now := time.Now()
		p.Status, p.Timings, p.StartedAt = db.StatusRunning, timings, &now
		out = *p
		return nil
	})
	return out, err
}

func (s *memStore) RecordRestart(_ context.Context, id string) (int, error) {
	var n int
	err := s.update(id, func(p *db.Preview) error {
		p.Restarts++
		n = p.Restarts
		return nil
	})
	return n, err
}

func (s *memStore) SetOOMKills(_ context.Context, id string, n int) error {
	return s.update(id, func(p *db.Preview) error {
		p.OOMKills = n
		return nil
	})
}

func (s *memStore) FinishPreview(_ context.Context, id string, f db.Finish) (bool, error) {
	ended := false
	err := s.update(id, func(p *db.Preview) error {
		if !p.Live() {
			return nil
		}
		ended = true
		now := time.Now()
		p.Status, p.ExitCode, p.OOMKilled, p.Error, p.LogTail, p.Cause, p.StoppedAt = f.Status, f.ExitCode, f.OOMKilled, f.Error, f.LogTail, f.Cause, &now
		if f.Timings != nil {
			p.Timings = f.Timings
		}
		return nil
	})
	return ended, err
}

func (s *memStore) MissingPreviews(_ context.Context, ids []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range ids {
		if _, ok := s.previews[id]; !ok {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *memStore) DeleteGeneration(_ context.Context, _, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.files[id]; !ok {
		return db.ErrNotFound
	}
	for pid, p := range s.previews {
		if p.GenerationID != id {
			continue
		}
		if p.Live() {
			return db.ErrLivePreview
		}
		delete(s.previews, pid)
		delete(s.logs, pid)
	}
	delete(s.files, id)
	return nil
}

func (s *memStore) AppendLogs(_ context.Context, lines []db.LogLine) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		if _, ok := s.previews[l.PreviewID]; !ok {
			return db.ErrNotFound
		}
	}
	for _, l := range lines {
		s.logs[l.PreviewID] = append(s.logs[l.PreviewID], l)
	}
	return nil
}

func (s *memStore) LastLogSeq(_ context.Context, previewID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[previewID]
	if len(l) == 0 {
		return 0, nil
	}
	return l[len(l)-1].Seq, nil
}

func (s *memStore) DeleteLogs(_ context.Context, previewID string, through int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[previewID]
	i := 0
	for i < len(l) && l[i].Seq <= through {
		i++
	}
	s.logs[previewID] = l[i:]
	return int64(i), nil
}

func (s *memStore) LogSegments(_ context.Context, previewID string, width int64) ([]db.LogSegment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var segs []db.LogSegment
	for _, l := range s.logs[previewID] {
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

func (s *memStore) OutputEnds(_ context.Context, previewID string) ([]db.OutputEnd, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []db.OutputEnd
	for _, stream := range []string{db.StreamStdout, db.StreamStderr} {
		var end db.OutputEnd
		for _, l := range s.logs[previewID] {
			switch {
			case l.Stream != stream:
			case l.TS.After(end.TS):
				end = db.OutputEnd{Stream: stream, TS: l.TS, Lines: 1}
			case l.TS.Equal(end.TS):
				end.Lines++
			}
		}
		if end.Stream != "" {
			out = append(out, end)
		}
	}
	return out, nil
}

// lines returns the stored log of a preview, as text by stream.
func (s *memStore) lines(previewID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.logs[previewID] {
		out = append(out, l.Stream+": "+l.Line)
	}
	return slices.Clip(out)
}

func (s *memStore) SetPreviewReloading(_ context.Context, id string, rev int) error {
	return s.update(id, func(p *db.Preview) error {
		if p.Status != db.StatusRunning {
			return db.ErrNotFound
		}
		p.ReloadingRevision = &rev
		return nil
	})
}

func (s *memStore) RecordReload(_ context.Context, id string, rev int) error {
	return s.update(id, func(p *db.Preview) error {
		p.Revision, p.ReloadingRevision, p.FailedRevision = rev, nil, nil
		p.FailedError, p.FailedExitCode, p.FailedCause = "", nil, nil
		return nil
	})
}

func (s *memStore) RecordReloadFailure(_ context.Context, id string, f db.ReloadFailure) error {
	return s.update(id, func(p *db.Preview) error {
		rev := f.Revision
		p.ReloadingRevision, p.FailedRevision = nil, &rev
		p.FailedError, p.FailedExitCode, p.FailedCause = f.Error, f.ExitCode, f.Cause
		return nil
	})
}

func (s *memStore) EndReload(_ context.Context, id string) error {
	return s.update(id, func(p *db.Preview) error {
		p.ReloadingRevision = nil
		return nil
	})
}
