package db

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Preview statuses.
const (
	StatusStarting = "starting"
	StatusRunning  = "running"
	StatusStopped  = "stopped"
	StatusFailed   = "failed"
	StatusExpired  = "expired"
)

// ErrPortTaken means another live preview holds the port (possibly one started
// by another previewd process).
var ErrPortTaken = errors.New("port held by another live preview")

// Timings are the milliseconds a launch spent in each phase.
type Timings map[string]int64

// Value stores Timings as jsonb.
func (t Timings) Value() (driver.Value, error) {
	if t == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]int64(t))
}

// Scan reads Timings from jsonb.
func (t *Timings) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("timings: unexpected %T", src)
	}
	return json.Unmarshal(b, (*map[string]int64)(t))
}

// Runtime is what a preview runs on: its runtime image as users see it
// ("runtime-python-trixie", never a dependency image's internal name) and
// the version of each package it names, the framework's and every one
// installed for the app.
type Runtime struct {
	Image    string            `json:"image"`
	Packages map[string]string `json:"packages"`
}

// Value stores a Runtime as jsonb, or NULL when it is not known.
func (r Runtime) Value() (driver.Value, error) {
	if r.Image == "" {
		return nil, nil
	}
	if r.Packages == nil {
		r.Packages = map[string]string{}
	}
	return json.Marshal(r)
}

// Scan reads a Runtime from jsonb; NULL is the zero Runtime.
func (r *Runtime) Scan(src any) error {
	if src == nil {
		*r = Runtime{}
		return nil
	}
	b, ok := src.([]byte)
	if !ok {
		return fmt.Errorf("runtime: unexpected %T", src)
	}
	return json.Unmarshal(b, r)
}

// Preview is one launch of a generation.
type Preview struct {
	ID           string         `db:"id"`
	GenerationID string         `db:"generation_id"`
	Owner        string         `db:"owner"`
	RunnerID     string         `db:"runner_id"`
	Status       string         `db:"status"`
	ContainerID  string         `db:"container_id"`
	Port         int            `db:"port"`
	Image        string         `db:"image"`
	MemoryMB     int            `db:"memory_mb"`
	CPUs         float64        `db:"cpus"`
	Pids         int            `db:"pids"`
	CreatedAt    time.Time      `db:"created_at"`
	StartedAt    *time.Time     `db:"started_at"`
	StoppedAt    *time.Time     `db:"stopped_at"`
	ExpiresAt    time.Time      `db:"expires_at"`
	LastActiveAt time.Time      `db:"last_active_at"`
	ExitCode     *int           `db:"exit_code"`
	OOMKilled    bool           `db:"oom_killed"`
	Error        string         `db:"error"`
	LogTail      pq.StringArray `db:"log_tail"`
	Timings      Timings        `db:"timings"`
	Warm         bool           `db:"warm"`        // launched into a warm container
	RestartMax   int            `db:"restart_max"` // restarts allowed after a crash
	Restarts     int            `db:"restarts"`
	OOMKills     int            `db:"oom_kills"` // processes killed for memory while it ran
	Cause        []byte         `db:"cause"`     // JSON of why it failed, or nil
	Revision     int            `db:"revision"`  // the generation's revision it runs
	Runtime      Runtime        `db:"runtime"`   // zero until its image is resolved
	// ReloadingRevision is the revision an update in progress moves it
	// to; FailedRevision the last one that failed to, and why.
	ReloadingRevision *int   `db:"reloading_revision"`
	FailedRevision    *int   `db:"failed_revision"`
	FailedError       string `db:"failed_error"`
	FailedExitCode    *int   `db:"failed_exit_code"`
	FailedCause       []byte `db:"failed_cause"`
}

// Live reports whether the preview is starting or running.
func (p Preview) Live() bool { return p.Status == StatusStarting || p.Status == StatusRunning }

// Session is a preview session token, stored as its hash.
type Session struct {
	TokenHash []byte    `db:"token_hash"`
	PreviewID string    `db:"preview_id"`
	ExpiresAt time.Time `db:"expires_at"`
}

const previewColumns = `id, generation_id, owner, runner_id, status, COALESCE(container_id, '') AS container_id,
	port, image, memory_mb, cpus, pids, created_at, started_at, stopped_at, expires_at, last_active_at,
	exit_code, oom_killed, error, log_tail, timings, warm, restart_max, restarts, oom_kills, cause, revision,
	reloading_revision, failed_revision, failed_error, failed_exit_code, failed_cause, runtime`

// InsertPreview records a new starting preview and its first session in one
// transaction. It fails with ErrConflict when the generation already has a live
// preview, with ErrPortTaken when another live preview holds the port, and
// with ErrNotFound when the generation has been deleted.
func (s *Store) InsertPreview(ctx context.Context, p *Preview, session Session) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert preview: %w", err)
	}
	defer tx.Rollback()
	// The generation's row stays locked until the commit, so a delete of
	// it (which locks it for update, see DeleteGeneration) either comes
	// first and this finds no generation, or comes after and finds this
	// preview live: it never deletes a preview whose launch goes on.
	const lock = `SELECT id FROM generations WHERE id = $1 FOR KEY SHARE`
	var id string
	if err := tx.GetContext(ctx, &id, lock, p.GenerationID); err != nil {
		return fmt.Errorf("insert preview of generation %s: %w", p.GenerationID, notFound(err))
	}
	const insert = `INSERT INTO previews (id, generation_id, owner, runner_id, status, port, image,
		memory_mb, cpus, pids, expires_at, warm, restart_max, revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		RETURNING created_at, last_active_at`
	err = tx.QueryRowxContext(ctx, insert, p.ID, p.GenerationID, p.Owner, p.RunnerID, p.Status, p.Port,
		p.Image, p.MemoryMB, p.CPUs, p.Pids, p.ExpiresAt, p.Warm, p.RestartMax, p.Revision).Scan(&p.CreatedAt, &p.LastActiveAt)
	if err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23505" {
			if pqErr.Constraint == "previews_live_port" {
				return fmt.Errorf("insert preview: %w", ErrPortTaken)
			}
			return fmt.Errorf("insert preview: %w", ErrConflict)
		}
		return fmt.Errorf("insert preview: %w", referenceGone(err))
	}
	if err := insertSession(ctx, tx, session); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert preview: %w", err)
	}
	return nil
}

// MissingPreviews returns those of ids that no preview has.
func (s *Store) MissingPreviews(ctx context.Context, ids []string) ([]string, error) {
	const query = `SELECT id FROM unnest($1::uuid[]) AS ids (id)
		WHERE NOT EXISTS (SELECT 1 FROM previews p WHERE p.id = ids.id)`
	missing := []string{}
	if err := s.db.SelectContext(ctx, &missing, query, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("look for missing previews: %w", err)
	}
	return missing, nil
}

// Preview returns the preview with this id.
func (s *Store) Preview(ctx context.Context, id string) (Preview, error) {
	const query = `SELECT ` + previewColumns + ` FROM previews WHERE id = $1`
	var p Preview
	if err := s.db.GetContext(ctx, &p, query, id); err != nil {
		return Preview{}, fmt.Errorf("get preview %s: %w", id, notFound(err))
	}
	return p, nil
}

// LivePreview returns the generation's starting or running preview.
func (s *Store) LivePreview(ctx context.Context, generationID string) (Preview, error) {
	const query = `SELECT ` + previewColumns + ` FROM previews
		WHERE generation_id = $1 AND status IN ('starting', 'running')`
	var p Preview
	if err := s.db.GetContext(ctx, &p, query, generationID); err != nil {
		return Preview{}, fmt.Errorf("get live preview of %s: %w", generationID, notFound(err))
	}
	return p, nil
}

// LatestPreview returns the generation's most recent preview, live or not.
func (s *Store) LatestPreview(ctx context.Context, generationID string) (Preview, error) {
	const query = `SELECT ` + previewColumns + ` FROM previews
		WHERE generation_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`
	var p Preview
	if err := s.db.GetContext(ctx, &p, query, generationID); err != nil {
		return Preview{}, fmt.Errorf("get latest preview of %s: %w", generationID, notFound(err))
	}
	return p, nil
}

// LivePreviews returns every starting or running preview of a runner.
func (s *Store) LivePreviews(ctx context.Context, runnerID string) ([]Preview, error) {
	const query = `SELECT ` + previewColumns + ` FROM previews
		WHERE runner_id = $1 AND status IN ('starting', 'running') ORDER BY created_at`
	var ps []Preview
	if err := s.db.SelectContext(ctx, &ps, query, runnerID); err != nil {
		return nil, fmt.Errorf("list live previews: %w", err)
	}
	return ps, nil
}

// SetPreviewContainer records the container of a starting preview, the
// image it was created from and the runtime that image is.
func (s *Store) SetPreviewContainer(ctx context.Context, id, containerID, image string, rt Runtime) error {
	const update = `UPDATE previews SET container_id = $2, image = $3, runtime = $4 WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, update, id, containerID, image, rt); err != nil {
		return fmt.Errorf("set container of preview %s: %w", id, err)
	}
	return nil
}

// MarkPreviewRunning moves a starting preview to running. It returns
// ErrNotFound when the preview is no longer starting (it was stopped meanwhile).
func (s *Store) MarkPreviewRunning(ctx context.Context, id string, timings Timings) (Preview, error) {
	const update = `UPDATE previews SET status = 'running', started_at = now(), last_active_at = now(), timings = $2
		WHERE id = $1 AND status = 'starting' RETURNING ` + previewColumns
	var p Preview
	if err := s.db.GetContext(ctx, &p, update, id, timings); err != nil {
		return Preview{}, fmt.Errorf("mark preview %s running: %w", id, notFound(err))
	}
	return p, nil
}

// RecordRestart counts a restart of a running preview's app and returns the
// new count.
func (s *Store) RecordRestart(ctx context.Context, id string) (int, error) {
	const update = `UPDATE previews SET restarts = restarts + 1 WHERE id = $1 RETURNING restarts`
	var n int
	if err := s.db.GetContext(ctx, &n, update, id); err != nil {
		return 0, fmt.Errorf("count restart of preview %s: %w", id, notFound(err))
	}
	return n, nil
}

// SetOOMKills records how many processes of a running preview were killed
// for memory; the count never goes down.
func (s *Store) SetOOMKills(ctx context.Context, id string, n int) error {
	const update = `UPDATE previews SET oom_kills = GREATEST(oom_kills, $2) WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, update, id, n); err != nil {
		return fmt.Errorf("count out-of-memory kills of preview %s: %w", id, err)
	}
	return nil
}

// Finish is how a preview ended.
type Finish struct {
	Status    string
	ExitCode  *int
	OOMKilled bool
	Error     string
	LogTail   []string
	Timings   Timings // nil keeps the recorded timings
	Cause     []byte  // JSON of why it failed, or nil
}

// FinishPreview ends a live preview. It reports false when the preview had
// already ended, so that exactly one of several racing enders wins.
func (s *Store) FinishPreview(ctx context.Context, id string, f Finish) (bool, error) {
	const update = `UPDATE previews SET status = $2, exit_code = $3, oom_killed = $4, error = $5,
		log_tail = $6, timings = COALESCE($7, timings), cause = $8::jsonb, stopped_at = now()
		WHERE id = $1 AND status IN ('starting', 'running')`
	var timings any
	if f.Timings != nil {
		timings = f.Timings
	}
	tail := f.LogTail
	if tail == nil {
		tail = []string{}
	}
	var cause any // text, not bytea: the column is jsonb
	if f.Cause != nil {
		cause = string(f.Cause)
	}
	res, err := s.db.ExecContext(ctx, update, id, f.Status, f.ExitCode, f.OOMKilled, f.Error, pq.StringArray(tail), timings, cause)
	if err != nil {
		return false, fmt.Errorf("finish preview %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("finish preview %s: %w", id, err)
	}
	return n == 1, nil
}
