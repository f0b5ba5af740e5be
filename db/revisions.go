package db

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// KeepRevisions is how many of a generation's latest revisions are kept
// when a new one is made; older ones are pruned, except those a live preview
// runs.
const KeepRevisions = 10

// Revision is one numbered version of a generation's files and what changed
// from the one before it.
type Revision struct {
	Revision   int            `db:"revision"`
	CreatedAt  time.Time      `db:"created_at"`
	Framework  string         `db:"framework"`
	Entrypoint string         `db:"entrypoint"`
	FileCount  int            `db:"file_count"`
	TotalBytes int64          `db:"total_bytes"`
	Added      pq.StringArray `db:"added"`
	Modified   pq.StringArray `db:"modified"`
	Deleted    pq.StringArray `db:"deleted"`
}

// StaleRevisionError refuses a change made against a revision that is no
// longer the current one. It matches ErrConflict.
type StaleRevisionError struct {
	Base, Current int
}

func (e *StaleRevisionError) Error() string {
	return fmt.Sprintf("the generation is at revision %d, not %d: fetch it and apply the change again", e.Current, e.Base)
}

func (e *StaleRevisionError) Is(target error) bool { return target == ErrConflict }

// Change makes a revision's files from the current revision's: it returns
// the generation with its new Framework and Entrypoint, and every file of
// the new revision (sorted by path). An error stores nothing and is
// returned by UpdateFiles as it is.
type Change func(g Generation, current []File) (Generation, []File, error)

// UpdateFiles makes the next revision of the owner's generation id from
// change, all in one transaction: the generation's row is locked first, so
// concurrent updates (and deletes, and launches inserting a preview) take
// turns and each builds on the revision the one before it made. base, when
// not 0, is the revision the caller's change was made against; another
// current revision fails with a *StaleRevisionError. Revisions beyond the
// last KeepRevisions are pruned unless a live preview runs them, and the
// owner's quota q counts every stored revision.
func (s *Store) UpdateFiles(ctx context.Context, owner, id string, base int, change Change, q Quota) (Generation, Revision, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, err)
	}
	defer tx.Rollback()
	const lock = `SELECT ` + generationColumns + ` FROM generations WHERE id = $1 AND owner = $2 FOR UPDATE`
	var g Generation
	if err := tx.GetContext(ctx, &g, lock, id, owner); err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, notFound(err))
	}
	if base != 0 && base != g.Revision {
		return Generation{}, Revision{}, &StaleRevisionError{Base: base, Current: g.Revision}
	}
	const current = `SELECT path, content FROM generation_files WHERE generation_id = $1 AND revision = $2 ORDER BY path`
	var old []File
	if err := tx.SelectContext(ctx, &old, current, id, g.Revision); err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, err)
	}
	next, files, err := change(g, old)
	if err != nil {
		return Generation{}, Revision{}, err
	}

	rev := diff(old, files)
	rev.Revision = g.Revision + 1
	g.Framework, g.Entrypoint, g.Revision = next.Framework, next.Entrypoint, rev.Revision
	g.FileCount, g.TotalBytes = len(files), 0
	for _, f := range files {
		g.TotalBytes += int64(len(f.Content))
	}
	var before int64
	if q.MaxBytes > 0 {
		// Taken as CreateGeneration's checkQuota takes it, so an upload
		// and an update of one owner cannot both fit in the last space.
		const quotaLock = `SELECT pg_advisory_xact_lock(hashtext('previewd.quota'), hashtext($1))`
		if _, err := tx.ExecContext(ctx, quotaLock, owner); err != nil {
			return Generation{}, Revision{}, fmt.Errorf("lock quota of %s: %w", owner, err)
		}
		if _, before, err = usage(ctx, tx, owner); err != nil {
			return Generation{}, Revision{}, err
		}
	}
	const update = `UPDATE generations SET framework = $2, entrypoint = $3, file_count = $4, total_bytes = $5, revision = $6
		WHERE id = $1`
	if _, err := tx.ExecContext(ctx, update, id, g.Framework, g.Entrypoint, g.FileCount, g.TotalBytes, g.Revision); err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, err)
	}
	if err := insertRevision(ctx, tx, &g, &rev, files); err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, err)
	}
	pruned, err := prune(ctx, tx, id, rev.Revision-KeepRevisions)
	if err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, err)
	}
	if q.MaxBytes > 0 && before+g.TotalBytes-pruned > q.MaxBytes {
		return Generation{}, Revision{}, &QuotaError{Limit: "bytes", Max: q.MaxBytes, Used: before}
	}
	if err := tx.Commit(); err != nil {
		return Generation{}, Revision{}, fmt.Errorf("update files of %s: %w", id, err)
	}
	return g, rev, nil
}

// insertRevision stores revision rev of g, with its files; rev's
// CreatedAt is set from the database and its counts from g.
func insertRevision(ctx context.Context, tx *sqlx.Tx, g *Generation, rev *Revision, files []File) error {
	rev.Framework, rev.Entrypoint, rev.FileCount, rev.TotalBytes = g.Framework, g.Entrypoint, g.FileCount, g.TotalBytes
	for _, l := range []*pq.StringArray{&rev.Added, &rev.Modified, &rev.Deleted} {
		if *l == nil {
			*l = pq.StringArray{}
		}
	}
	const insert = `INSERT INTO generation_revisions (generation_id, revision, framework, entrypoint,
		file_count, total_bytes, added, modified, deleted)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING created_at`
	err := tx.QueryRowxContext(ctx, insert, g.ID, rev.Revision, rev.Framework, rev.Entrypoint,
		rev.FileCount, rev.TotalBytes, rev.Added, rev.Modified, rev.Deleted).Scan(&rev.CreatedAt)
	if err != nil {
		return fmt.Errorf("store revision %d: %w", rev.Revision, err)
	}
	return insertFiles(ctx, tx, g.ID, rev.Revision, files)
}

// prune deletes the revisions of generation id up to through, with their
// files, except those a live preview runs (a restart of it reads them
// again). It returns the bytes freed.
func prune(ctx context.Context, tx *sqlx.Tx, id string, through int) (int64, error) {
	if through < 1 {
		return 0, nil
	}
	const del = `WITH gone AS (
			DELETE FROM generation_revisions r WHERE r.generation_id = $1 AND r.revision <= $2
			AND NOT EXISTS (SELECT 1 FROM previews p WHERE p.generation_id = r.generation_id
				AND p.revision = r.revision AND p.status IN ('starting', 'running'))
			RETURNING total_bytes)
		SELECT coalesce(sum(total_bytes), 0) FROM gone`
	var freed int64
	if err := tx.GetContext(ctx, &freed, del, id, through); err != nil {
		return 0, fmt.Errorf("prune revisions: %w", err)
	}
	return freed, nil
}

// diff says which paths were added, modified and deleted from old to next
// (both sorted by path).
func diff(old, next []File) Revision {
	var r Revision
	before := make(map[string][]byte, len(old))
	for _, f := range old {
		before[f.Path] = f.Content
	}
	for _, f := range next {
		prev, ok := before[f.Path]
		switch {
		case !ok:
			r.Added = append(r.Added, f.Path)
		case !bytes.Equal(prev, f.Content):
			r.Modified = append(r.Modified, f.Path)
		}
		delete(before, f.Path)
	}
	for p := range before {
		r.Deleted = append(r.Deleted, p)
	}
	slices.Sort(r.Deleted)
	return r
}

// Revisions lists the stored revisions of generation id, newest first.
func (s *Store) Revisions(ctx context.Context, id string) ([]Revision, error) {
	const query = `SELECT revision, created_at, framework, entrypoint, file_count, total_bytes, added, modified, deleted
		FROM generation_revisions WHERE generation_id = $1 ORDER BY revision DESC`
	revs := []Revision{}
	if err := s.db.SelectContext(ctx, &revs, query, id); err != nil {
		return nil, fmt.Errorf("list revisions of %s: %w", id, err)
	}
	return revs, nil
}
