package db

import (
	"context"
	"fmt"
)

// ReloadFailure is why an update of a running preview to a revision failed.
type ReloadFailure struct {
	Revision int
	Error    string
	ExitCode *int
	Cause    []byte // JSON, or nil
}

// SetPreviewReloading records that a running preview is being updated to
// revision rev. It returns ErrNotFound when the preview is not running.
func (s *Store) SetPreviewReloading(ctx context.Context, id string, rev int) error {
	const update = `UPDATE previews SET reloading_revision = $2 WHERE id = $1 AND status = 'running'`
	res, err := s.db.ExecContext(ctx, update, id, rev)
	if err != nil {
		return fmt.Errorf("mark preview %s reloading: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark preview %s reloading: %w", id, ErrNotFound)
	}
	return nil
}

// RecordReload records that a running preview now serves revision rev; an
// earlier failed revision is forgotten.
func (s *Store) RecordReload(ctx context.Context, id string, rev int) error {
	const update = `UPDATE previews SET revision = $2, reloading_revision = NULL, failed_revision = NULL,
		failed_error = '', failed_exit_code = NULL, failed_cause = NULL WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, update, id, rev); err != nil {
		return fmt.Errorf("record reload of preview %s: %w", id, err)
	}
	return nil
}

// RecordReloadFailure records that updating a running preview to f.Revision
// failed; the revision it serves is unchanged.
func (s *Store) RecordReloadFailure(ctx context.Context, id string, f ReloadFailure) error {
	const update = `UPDATE previews SET reloading_revision = NULL, failed_revision = $2, failed_error = $3,
		failed_exit_code = $4, failed_cause = $5::jsonb WHERE id = $1`
	var cause any // text, not bytea: the column is jsonb
	if f.Cause != nil {
		cause = string(f.Cause)
	}
	if _, err := s.db.ExecContext(ctx, update, id, f.Revision, f.Error, f.ExitCode, cause); err != nil {
		return fmt.Errorf("record failed reload of preview %s: %w", id, err)
	}
	return nil
}

// EndReload clears a preview's reloading mark after an update that was not
// tried to the end (the preview stopped, or previewd is shutting down).
func (s *Store) EndReload(ctx context.Context, id string) error {
	const update = `UPDATE previews SET reloading_revision = NULL WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, update, id); err != nil {
		return fmt.Errorf("end reload of preview %s: %w", id, err)
	}
	return nil
}
