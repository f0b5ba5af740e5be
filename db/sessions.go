package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

func insertSession(ctx context.Context, tx *sqlx.Tx, session Session) error {
	const insert = `INSERT INTO preview_sessions (token_hash, preview_id, expires_at) VALUES ($1, $2, $3)`
	if _, err := tx.ExecContext(ctx, insert, session.TokenHash, session.PreviewID, session.ExpiresAt); err != nil {
		return fmt.Errorf("create session: %w", referenceGone(err))
	}
	return nil
}

// CreateSession stores another session for a preview. It returns
// ErrNotFound when the preview is gone (its generation was deleted).
func (s *Store) CreateSession(ctx context.Context, session Session) error {
	const insert = `INSERT INTO preview_sessions (token_hash, preview_id, expires_at) VALUES ($1, $2, $3)`
	if _, err := s.db.ExecContext(ctx, insert, session.TokenHash, session.PreviewID, session.ExpiresAt); err != nil {
		return fmt.Errorf("create session: %w", referenceGone(err))
	}
	return nil
}

// SessionPreview returns the preview of the session with this token hash,
// whatever the preview's status. It returns ErrNotFound when there is no such
// session or it has expired.
func (s *Store) SessionPreview(ctx context.Context, tokenHash []byte) (Preview, error) {
	const query = `SELECT ` + previewColumns + ` FROM previews
		WHERE id = (SELECT preview_id FROM preview_sessions WHERE token_hash = $1 AND expires_at > now())`
	var p Preview
	if err := s.db.GetContext(ctx, &p, query, tokenHash); err != nil {
		return Preview{}, fmt.Errorf("get preview of session: %w", notFound(err))
	}
	return p, nil
}

// TouchPreview records proxied traffic: the preview's last_active_at becomes
// now and the session, unless it has already expired, lasts sessionTimeout
// from now.
func (s *Store) TouchPreview(ctx context.Context, previewID string, tokenHash []byte, sessionTimeout time.Duration) error {
	const update = `WITH session AS (
			UPDATE preview_sessions SET expires_at = now() + make_interval(secs => $3)
			WHERE token_hash = $2 AND preview_id = $1 AND expires_at > now()
		)
		UPDATE previews SET last_active_at = now() WHERE id = $1 AND status IN ('starting', 'running')`
	if _, err := s.db.ExecContext(ctx, update, previewID, tokenHash, sessionTimeout.Seconds()); err != nil {
		return fmt.Errorf("touch preview %s: %w", previewID, err)
	}
	return nil
}
