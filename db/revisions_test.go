package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/previewd/previewd/db"
	migrations "github.com/previewd/previewd/sql"
)

// setFile is a Change that writes one file into the current revision.
func setFile(path, content string) db.Change {
	return func(g db.Generation, cur []db.File) (db.Generation, []db.File, error) {
		out := []db.File{}
		for _, f := range cur {
			if f.Path != path {
				out = append(out, f)
			}
		}
		return g, append(out, db.File{Path: path, Content: []byte(content)}), nil
	}
}

// TestRevisionMigration applies the migrations before revisions, stores a
// generation the old way, then migrates: it becomes revision 1 with its
// files, every one of them added.
func TestRevisionMigration(t *testing.T) {
	url := newDatabase(t)
	ctx := context.Background()
	conn, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(`CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations.Migrations, "*.sql")
	for _, name := range names {
		if name >= "0006" {
			break
		}
		body, _ := fs.ReadFile(migrations.Migrations, name)
		if _, err := conn.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(`INSERT INTO schema_migrations (version) VALUES ($1)`, strings.TrimSuffix(name, ".sql")); err != nil {
			t.Fatal(err)
		}
	}
	id := uuid.NewString()
	if _, err := conn.Exec(`INSERT INTO generations (id, owner, name, framework, entrypoint, file_count, total_bytes)
		VALUES ($1, 'alice', 'old', 'fastapi', 'main:app', 2, 4)`, id); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"main.py", "b.txt"} {
		if _, err := conn.Exec(`INSERT INTO generation_files (generation_id, path, content, size, sha256) VALUES ($1, $2, 'ab', 2, 'x')`, id, p); err != nil {
			t.Fatal(err)
		}
	}

	s := openStore(t, url)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := s.Generation(ctx, "alice", id)
	if err != nil || g.Revision != 1 {
		t.Fatalf("migrated generation: %+v %v", g, err)
	}
	files, err := s.GenerationFiles(ctx, id, 1)
	if err != nil || len(files) != 2 {
		t.Fatalf("files of revision 1: %v %v", files, err)
	}
	revs, err := s.Revisions(ctx, id)
	if err != nil || len(revs) != 1 || revs[0].Revision != 1 || strings.Join(revs[0].Added, ",") != "b.txt,main.py" ||
		revs[0].FileCount != 2 || revs[0].TotalBytes != 4 {
		t.Fatalf("revisions: %+v %v", revs, err)
	}
	// And it takes patches like a new one.
	if g, _, err = s.UpdateFiles(ctx, "alice", id, 1, setFile("c.txt", "c"), db.Quota{}); err != nil || g.Revision != 2 {
		t.Fatalf("patch: %+v %v", g, err)
	}
}

// TestPruneKeepsLiveRevision makes more revisions than are kept while a
// preview runs revision 1: revision 1 stays (a restart reads its files
// again), and so do the last KeepRevisions; the rest go with their files.
func TestPruneKeepsLiveRevision(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p := newPreview(g, 41000)
	p.Revision = 1
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatal(err)
	}
	const n = db.KeepRevisions + 5
	for i := 2; i <= n; i++ {
		if _, _, err := s.UpdateFiles(ctx, "alice", g.ID, 0, setFile(fmt.Sprintf("f%d.txt", i), "x"), db.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	revs, err := s.Revisions(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range revs {
		got = append(got, r.Revision)
	}
	want := []int{}
	for r := n; r > n-db.KeepRevisions; r-- {
		want = append(want, r)
	}
	want = append(want, 1)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	if files, _ := s.GenerationFiles(ctx, g.ID, 1); len(files) != 1 {
		t.Fatalf("the live preview's revision has %d files", len(files))
	}
	if files, _ := s.GenerationFiles(ctx, g.ID, 2); len(files) != 0 {
		t.Fatalf("a pruned revision kept %d files", len(files))
	}
	// Once the preview ends, the next change prunes its revision too.
	if _, err := s.FinishPreview(ctx, p.ID, db.Finish{Status: db.StatusStopped}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpdateFiles(ctx, "alice", g.ID, 0, setFile("last.txt", "x"), db.Quota{}); err != nil {
		t.Fatal(err)
	}
	if revs, _ := s.Revisions(ctx, g.ID); len(revs) != db.KeepRevisions || revs[len(revs)-1].Revision == 1 {
		t.Fatalf("after the preview ended: %d revisions, oldest %d", len(revs), revs[len(revs)-1].Revision)
	}
}

// TestRevisionsCountAgainstQuota: earlier revisions are stored, so they
// count; a change over the quota stores nothing.
func TestRevisionsCountAgainstQuota(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice") // 3 bytes
	q := db.Quota{MaxBytes: 10}
	// Revision 2 holds 3+3 bytes: 9 stored in all.
	if _, _, err := s.UpdateFiles(ctx, "alice", g.ID, 0, setFile("b.txt", "abc"), q); err != nil {
		t.Fatal(err)
	}
	// Revision 3 would hold 7 more: 16 > 10.
	_, _, err := s.UpdateFiles(ctx, "alice", g.ID, 0, setFile("c.txt", "a"), q)
	var qe *db.QuotaError
	if !errors.As(err, &qe) || qe.Used != 9 || qe.Limit != "bytes" {
		t.Fatalf("over quota: %v", err)
	}
	if cur, _ := s.Generation(ctx, "alice", g.ID); cur.Revision != 2 {
		t.Fatalf("revision %d after a refused change", cur.Revision)
	}
	// A new generation sees the stored revisions too.
	other := db.Generation{ID: uuid.NewString(), Owner: "alice", Name: "g", Framework: "fastapi", Entrypoint: "main:app", FileCount: 1, TotalBytes: 2}
	if err := s.CreateGeneration(ctx, &other, []db.File{{Path: "main.py", Content: []byte("ab")}}, q); !errors.As(err, &qe) {
		t.Fatalf("upload over quota: %v", err)
	}
	// A stale base is a conflict and changes nothing.
	_, _, err = s.UpdateFiles(ctx, "alice", g.ID, 1, setFile("d.txt", ""), db.Quota{})
	var stale *db.StaleRevisionError
	if !errors.As(err, &stale) || !errors.Is(err, db.ErrConflict) || stale.Current != 2 {
		t.Fatalf("stale base: %v", err)
	}
	if _, _, err := s.UpdateFiles(ctx, "bob", g.ID, 0, setFile("d.txt", ""), db.Quota{}); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("another owner: %v", err)
	}
}
