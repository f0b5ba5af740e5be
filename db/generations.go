package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Generation is an uploaded app: its metadata, without the files.
type Generation struct {
	ID         string    `db:"id"`
	Owner      string    `db:"owner"`
	Name       string    `db:"name"`
	Framework  string    `db:"framework"`
	Entrypoint string    `db:"entrypoint"`
	FileCount  int       `db:"file_count"`
	TotalBytes int64     `db:"total_bytes"`
	CreatedAt  time.Time `db:"created_at"`
	// Revision is the current revision: the fields above describe its
	// files (see UpdateFiles).
	Revision int `db:"revision"`
}

// File is one source file of a generation.
type File struct {
	Path    string `db:"path"`
	Content []byte `db:"content"`
}

// FileInfo describes a stored file without its content.
type FileInfo struct {
	Path   string `db:"path"`
	Size   int64  `db:"size"`
	SHA256 string `db:"sha256"`
}

// Cursor marks a position in an owner's generation list (newest first).
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Quota is what one owner may store; a zero field is no limit.
type Quota struct {
	MaxGenerations int
	MaxBytes       int64 // the sum of total_bytes of every stored revision
}

// ErrQuota is an owner's quota that a new generation would exceed.
var ErrQuota = errors.New("quota exceeded")

// QuotaError says which limit of a Quota a generation would exceed; it
// matches ErrQuota.
type QuotaError struct {
	Limit string // "generations" or "bytes"
	Max   int64
	Used  int64 // what the owner has stored already
}

func (e *QuotaError) Error() string {
	if e.Limit == "bytes" {
		return fmt.Sprintf("storage quota exceeded: %d of %d bytes used; delete generations to make room", e.Used, e.Max)
	}
	return fmt.Sprintf("generation quota exceeded: %d of %d generations stored; delete some first", e.Used, e.Max)
}

func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// CreateGeneration stores a generation and its files, as its revision 1, in
// one transaction: either all of it is stored or nothing is. CreatedAt is set
// from the database. A generation that would take the owner past q is refused
// with a *QuotaError.
func (s *Store) CreateGeneration(ctx context.Context, g *Generation, files []File, q Quota) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	defer tx.Rollback()
	if err := checkQuota(ctx, tx, g, q); err != nil {
		return fmt.Errorf("create generation: %w", err)
	}

	g.Revision = 1
	const insert = `INSERT INTO generations (id, owner, name, framework, entrypoint, file_count, total_bytes, revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`
	err = tx.QueryRowxContext(ctx, insert, g.ID, g.Owner, g.Name, g.Framework, g.Entrypoint,
		g.FileCount, g.TotalBytes, g.Revision).Scan(&g.CreatedAt)
	if err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	rev := Revision{Revision: 1, CreatedAt: g.CreatedAt, Added: paths}
	if err := insertRevision(ctx, tx, g, &rev, files); err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	return nil
}

// insertFiles stores the files of one revision of generation id.
func insertFiles(ctx context.Context, tx *sqlx.Tx, id string, revision int, files []File) error {
	// COPY sends every file in one stream instead of one round trip per file.
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("generation_files", "generation_id", "revision", "path", "content", "size", "sha256"))
	if err != nil {
		return fmt.Errorf("store files: %w", err)
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Content)
		if _, err := stmt.ExecContext(ctx, id, revision, f.Path, f.Content, len(f.Content), hex.EncodeToString(sum[:])); err != nil {
			stmt.Close()
			return fmt.Errorf("store file %q: %w", f.Path, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("store files: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("store files: %w", err)
	}
	return nil
}

// checkQuota refuses g if it takes its owner past q. The owner's advisory
// lock, held until tx ends, makes concurrent uploads of one owner take turns,
// so two of them cannot both fit in the last free space.
func checkQuota(ctx context.Context, tx *sqlx.Tx, g *Generation, q Quota) error {
	if q.MaxGenerations <= 0 && q.MaxBytes <= 0 {
		return nil
	}
	const lock = `SELECT pg_advisory_xact_lock(hashtext('previewd.quota'), hashtext($1))`
	if _, err := tx.ExecContext(ctx, lock, g.Owner); err != nil {
		return fmt.Errorf("lock quota of %s: %w", g.Owner, err)
	}
	count, bytes, err := usage(ctx, tx, g.Owner)
	if err != nil {
		return err
	}
	if q.MaxGenerations > 0 && count+1 > int64(q.MaxGenerations) {
		return &QuotaError{Limit: "generations", Max: int64(q.MaxGenerations), Used: count}
	}
	if q.MaxBytes > 0 && bytes+g.TotalBytes > q.MaxBytes {
		return &QuotaError{Limit: "bytes", Max: q.MaxBytes, Used: bytes}
	}
	return nil
}

// usage is what an owner stores: generations, and the bytes of every stored
// revision of them (earlier revisions are kept, so they count).
func usage(ctx context.Context, tx *sqlx.Tx, owner string) (count, bytes int64, err error) {
	const query = `SELECT (SELECT count(*) FROM generations WHERE owner = $1),
		(SELECT coalesce(sum(r.total_bytes), 0) FROM generation_revisions r
			JOIN generations g ON g.id = r.generation_id WHERE g.owner = $1)`
	if err := tx.QueryRowxContext(ctx, query, owner).Scan(&count, &bytes); err != nil {
		return 0, 0, fmt.Errorf("quota usage of %s: %w", owner, err)
	}
	return count, bytes, nil
}

const generationColumns = `id, owner, name, framework, entrypoint, file_count, total_bytes, created_at, revision`

// Generation returns the owner's generation with this id, or ErrNotFound.
func (s *Store) Generation(ctx context.Context, owner, id string) (Generation, error) {
	const query = `SELECT ` + generationColumns + ` FROM generations WHERE id = $1 AND owner = $2`
	var g Generation
	if err := s.db.GetContext(ctx, &g, query, id, owner); err != nil {
		return Generation{}, fmt.Errorf("get generation %s: %w", id, notFound(err))
	}
	return g, nil
}

// Generations lists the owner's generations, newest first, starting after the
// cursor when it is not nil.
func (s *Store) Generations(ctx context.Context, owner string, after *Cursor, limit int) ([]Generation, error) {
	const first = `SELECT ` + generationColumns + ` FROM generations WHERE owner = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`
	const next = `SELECT ` + generationColumns + ` FROM generations WHERE owner = $1
		AND (created_at, id) < ($3, $4)
		ORDER BY created_at DESC, id DESC LIMIT $2`
	gens := []Generation{}
	var err error
	if after == nil {
		err = s.db.SelectContext(ctx, &gens, first, owner, limit)
	} else {
		err = s.db.SelectContext(ctx, &gens, next, owner, limit, after.CreatedAt, after.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	return gens, nil
}

// GenerationFiles returns the files of a revision of a generation, sorted by
// path; none when the revision is not stored (any more).
func (s *Store) GenerationFiles(ctx context.Context, id string, revision int) ([]File, error) {
	const query = `SELECT path, content FROM generation_files WHERE generation_id = $1 AND revision = $2 ORDER BY path`
	var files []File
	if err := s.db.SelectContext(ctx, &files, query, id, revision); err != nil {
		return nil, fmt.Errorf("get files of generation %s: %w", id, err)
	}
	return files, nil
}

// GenerationFileInfos describes the files of a revision of a generation,
// sorted by path.
func (s *Store) GenerationFileInfos(ctx context.Context, id string, revision int) ([]FileInfo, error) {
	const query = `SELECT path, size, sha256 FROM generation_files WHERE generation_id = $1 AND revision = $2 ORDER BY path`
	infos := []FileInfo{}
	if err := s.db.SelectContext(ctx, &infos, query, id, revision); err != nil {
		return nil, fmt.Errorf("describe files of generation %s: %w", id, err)
	}
	return infos, nil
}

// DeleteGeneration deletes the owner's generation with its files and
// previews. It fails with ErrLivePreview, deleting nothing, when the
// generation has a live preview: that preview's container would outlive its
// record. The generation's row is locked first, so a launch inserting a
// preview (see InsertPreview) either commits before and is seen here, or
// waits and then finds no generation.
func (s *Store) DeleteGeneration(ctx context.Context, owner, id string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete generation %s: %w", id, err)
	}
	defer tx.Rollback()
	const lock = `SELECT id FROM generations WHERE id = $1 AND owner = $2 FOR UPDATE`
	var locked string
	if err := tx.GetContext(ctx, &locked, lock, id, owner); err != nil {
		return fmt.Errorf("delete generation %s: %w", id, notFound(err))
	}
	const live = `SELECT EXISTS (SELECT 1 FROM previews WHERE generation_id = $1 AND status IN ('starting', 'running'))`
	var hasLive bool
	if err := tx.GetContext(ctx, &hasLive, live, id); err != nil {
		return fmt.Errorf("delete generation %s: %w", id, err)
	}
	if hasLive {
		return fmt.Errorf("delete generation %s: %w", id, ErrLivePreview)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM generations WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete generation %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete generation %s: %w", id, err)
	}
	return nil
}
