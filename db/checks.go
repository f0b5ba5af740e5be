package db

import (
	"context"
	"fmt"
	"time"
)

// States of a preview's checks.
const (
	ChecksRunning = "running"
	ChecksDone    = "done"
	ChecksSkipped = "skipped"
)

// Checks are the results of a preview's endpoint and browser checks.
// Endpoints and Browser are JSON documents that the server shapes.
type Checks struct {
	PreviewID string     `db:"preview_id"`
	Revision  int        `db:"revision"`
	State     string     `db:"state"`
	CheckedAt *time.Time `db:"checked_at"`
	Endpoints []byte     `db:"endpoints"`
	Browser   []byte     `db:"browser"` // nil before the browser check ran
}

// SaveChecks stores a preview's checks, replacing what it held before, with
// the screenshots of the pages rendered (page index → PNG); the old
// screenshots go. It is one transaction: a reader sees the old checks or the
// new ones. A preview deleted meanwhile is ErrNotFound; checks of a revision
// older than the one stored are ErrSuperseded and change nothing (the checks
// after a reload may finish before those of the revision it replaced).
func (s *Store) SaveChecks(ctx context.Context, c Checks, screenshots map[int][]byte) error {
	const upsert = `INSERT INTO preview_checks (preview_id, revision, state, checked_at, endpoints, browser)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (preview_id) DO UPDATE SET revision = EXCLUDED.revision, state = EXCLUDED.state,
			checked_at = EXCLUDED.checked_at, endpoints = EXCLUDED.endpoints, browser = EXCLUDED.browser
		WHERE preview_checks.revision <= EXCLUDED.revision`
	const clear = `DELETE FROM preview_screenshots WHERE preview_id = $1`
	const insertShot = `INSERT INTO preview_screenshots (preview_id, page, png) VALUES ($1, $2, $3)`
	endpoints := c.Endpoints
	if len(endpoints) == 0 {
		endpoints = []byte("[]")
	}
	var browser any
	if len(c.Browser) > 0 {
		browser = c.Browser
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save checks of preview %s: %w", c.PreviewID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, upsert, c.PreviewID, c.Revision, c.State, c.CheckedAt, endpoints, browser)
	if err != nil {
		return fmt.Errorf("save checks of preview %s: %w", c.PreviewID, referenceGone(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("save checks of preview %s: %w", c.PreviewID, err)
	} else if n == 0 {
		return fmt.Errorf("save checks of preview %s revision %d: %w", c.PreviewID, c.Revision, ErrSuperseded)
	}
	if _, err := tx.ExecContext(ctx, clear, c.PreviewID); err != nil {
		return fmt.Errorf("save checks of preview %s: %w", c.PreviewID, err)
	}
	for page, png := range screenshots {
		if _, err := tx.ExecContext(ctx, insertShot, c.PreviewID, page, png); err != nil {
			return fmt.Errorf("save screenshot of preview %s: %w", c.PreviewID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save checks of preview %s: %w", c.PreviewID, err)
	}
	return nil
}

// PreviewChecks returns a preview's checks; ErrNotFound when none were
// stored.
func (s *Store) PreviewChecks(ctx context.Context, previewID string) (Checks, error) {
	const query = `SELECT preview_id, revision, state, checked_at, endpoints, browser
		FROM preview_checks WHERE preview_id = $1`
	var c Checks
	if err := s.db.GetContext(ctx, &c, query, previewID); err != nil {
		return Checks{}, fmt.Errorf("checks of preview %s: %w", previewID, notFound(err))
	}
	return c, nil
}

// Screenshot returns the PNG of a page the browser check of a preview
// rendered; ErrNotFound when there is none.
func (s *Store) Screenshot(ctx context.Context, previewID string, page int) ([]byte, error) {
	const query = `SELECT png FROM preview_screenshots WHERE preview_id = $1 AND page = $2`
	var png []byte
	if err := s.db.GetContext(ctx, &png, query, previewID, page); err != nil {
		return nil, fmt.Errorf("screenshot %d of preview %s: %w", page, previewID, notFound(err))
	}
	return png, nil
}
