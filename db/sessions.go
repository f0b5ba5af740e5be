package db

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

func insertSession(ctx context.Context, tx *sqlx.Tx, session Session) error {
	const insert = `INSERT INTO preview_sessions (token_hash, preview_id, expires_at) VALUES ($1, $2, $3)`
	if _, err := tx.ExecContext(ctx, insert, session.TokenHash, session.PreviewID, session.ExpiresAt); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// CreateSession stores another session for a preview.
func (s *Store) CreateSession(ctx context.Context, session Session) error {
	const insert = `INSERT INTO preview_sessions (token_hash, preview_id, expires_at) VALUES ($1, $2, $3)`
	if _, err := s.db.ExecContext(ctx, insert, session.TokenHash, session.PreviewID, session.ExpiresAt); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}
