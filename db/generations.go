package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

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

// CreateGeneration stores a generation and its files in one transaction: either
// all of it is stored or nothing is. CreatedAt is set from the database.
func (s *Store) CreateGeneration(ctx context.Context, g *Generation, files []File) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	defer tx.Rollback()

	const insert = `INSERT INTO generations (id, owner, name, framework, entrypoint, file_count, total_bytes)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`
	err = tx.QueryRowxContext(ctx, insert, g.ID, g.Owner, g.Name, g.Framework, g.Entrypoint,
		g.FileCount, g.TotalBytes).Scan(&g.CreatedAt)
	if err != nil {
		return fmt.Errorf("create generation: %w", err)
	}

	// COPY sends every file in one stream instead of one round trip per file.
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("generation_files", "generation_id", "path", "content", "size", "sha256"))
	if err != nil {
		return fmt.Errorf("create generation files: %w", err)
	}
	for _, f := range files {
		sum := sha256.Sum256(f.Content)
		if _, err := stmt.ExecContext(ctx, g.ID, f.Path, f.Content, len(f.Content), hex.EncodeToString(sum[:])); err != nil {
			stmt.Close()
			return fmt.Errorf("create generation file %q: %w", f.Path, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return fmt.Errorf("create generation files: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return fmt.Errorf("create generation files: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create generation: %w", err)
	}
	return nil
}

const generationColumns = `id, owner, name, framework, entrypoint, file_count, total_bytes, created_at`

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

// GenerationFiles returns the files of a generation, sorted by path.
func (s *Store) GenerationFiles(ctx context.Context, id string) ([]File, error) {
	const query = `SELECT path, content FROM generation_files WHERE generation_id = $1 ORDER BY path`
	var files []File
	if err := s.db.SelectContext(ctx, &files, query, id); err != nil {
		return nil, fmt.Errorf("get files of generation %s: %w", id, err)
	}
	return files, nil
}

// GenerationFileInfos describes the files of a generation, sorted by path.
func (s *Store) GenerationFileInfos(ctx context.Context, id string) ([]FileInfo, error) {
	const query = `SELECT path, size, sha256 FROM generation_files WHERE generation_id = $1 ORDER BY path`
	infos := []FileInfo{}
	if err := s.db.SelectContext(ctx, &infos, query, id); err != nil {
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
