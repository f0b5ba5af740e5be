// Package db stores generations, their files and previews in PostgreSQL.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	migrations "github.com/previewd/previewd/sql"
)

// ErrNotFound means the row does not exist, or belongs to another owner.
var ErrNotFound = errors.New("not found")

// ErrSuperseded means a write was refused because a newer one (a later
// revision's) is already stored.
var ErrSuperseded = errors.New("superseded by a newer revision")

// ErrConflict means a uniqueness rule of the schema refused the write.
var ErrConflict = errors.New("conflict")

// ErrLivePreview means a generation cannot be deleted yet: it has a live
// preview. It is an ErrConflict.
var ErrLivePreview = fmt.Errorf("the generation has a live preview: %w", ErrConflict)

// Store is previewd's PostgreSQL store.
type Store struct {
	db *sqlx.DB
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	conn, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	conn.SetMaxOpenConns(32)
	conn.SetMaxIdleConns(16)
	conn.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.PingContext(pingCtx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{db: conn}, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// migrationLock is the advisory lock key that serialises migrations across
// previewd processes starting at the same time ("previewd" in ASCII).
const migrationLock = 0x7072657669657764

// Migrate applies the embedded migrations that have not been applied yet, each in
// its own transaction, while holding an advisory lock so that concurrent start-ups
// do not race.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	// Unlock on a fresh context: the caller's may be done, and a lock left on a
	// pooled connection would block every later start-up.
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLock)

	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`
	if _, err := conn.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations.Migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := applyMigration(ctx, conn, name); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sqlx.Conn, name string) error {
	version := strings.TrimSuffix(name, ".sql")
	var applied bool
	const exists = `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`
	if err := conn.GetContext(ctx, &applied, exists, version); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if applied {
		return nil
	}
	body, err := fs.ReadFile(migrations.Migrations, name)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return nil
}

// Unavailable reports whether err means PostgreSQL cannot serve requests
// now: a connection failure, or the server shutting down or starting up.
func Unavailable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		class := pqErr.Code.Class()
		return class == "08" || class == "57" // connection exception, operator intervention
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF)
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// referenceGone turns a foreign-key violation (the row referred to was
// deleted meanwhile) into ErrNotFound.
func referenceGone(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23503" {
		return ErrNotFound
	}
	return err
}
