package db_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/db/localpg"
)

var (
	cluster    *localpg.Cluster
	clusterErr error
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cluster, clusterErr = localpg.Start(ctx, localpg.Options{Throwaway: true})
	cancel()
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

// newDatabase returns the URL of a fresh database, or skips (fails in CI)
// without PostgreSQL.
func newDatabase(t *testing.T) string {
	t.Helper()
	if clusterErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL: %v", clusterErr)
		}
		t.Skipf("no PostgreSQL: %v", clusterErr)
	}
	url, err := cluster.CreateDatabase(context.Background(), "t_"+strings.ReplaceAll(uuid.NewString()[:18], "-", "_"))
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func openStore(t *testing.T, url string) *db.Store {
	t.Helper()
	s, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConcurrentMigrations starts several stores at once on one empty
// database: the advisory lock must let each migration apply exactly once.
func TestConcurrentMigrations(t *testing.T) {
	url := newDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := db.Open(context.Background(), url)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start-up %d: %v", i, err)
		}
	}
	// And once more, on an up-to-date schema.
	if err := openStore(t, url).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func migrated(t *testing.T) *db.Store {
	s := openStore(t, newDatabase(t))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func newGeneration(t *testing.T, s *db.Store, owner string) db.Generation {
	t.Helper()
	g := db.Generation{ID: uuid.NewString(), Owner: owner, Name: "g", Framework: "fastapi", Entrypoint: "main:app", FileCount: 1, TotalBytes: 3}
	if err := s.CreateGeneration(context.Background(), &g, []db.File{{Path: "main.py", Content: []byte("x=1")}}, db.Quota{}); err != nil {
		t.Fatal(err)
	}
	return g
}

func newPreview(g db.Generation, port int) *db.Preview {
	return &db.Preview{ID: uuid.NewString(), GenerationID: g.ID, Owner: g.Owner, RunnerID: "r", Status: db.StatusStarting,
		Port: port, MemoryMB: 256, CPUs: 0.5, Pids: 256, ExpiresAt: time.Now().Add(time.Hour)}
}

func session(p *db.Preview) db.Session {
	return db.Session{TokenHash: []byte(uuid.NewString()), PreviewID: p.ID, ExpiresAt: time.Now().Add(time.Hour)}
}

// TestOneLivePreviewPerGeneration checks the schema's guarantees: one live
// preview per generation, one live preview per port, even when racing.
func TestOneLivePreviewPerGeneration(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")

	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPreview(g, 4000+i)
			results[i] = s.InsertPreview(ctx, p, session(p))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, db.ErrConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d live previews inserted for one generation, want 1", won)
	}

	live, err := s.LivePreview(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Another generation cannot take the same port while it is live.
	other := newGeneration(t, s, "alice")
	p := newPreview(other, live.Port)
	if err := s.InsertPreview(ctx, p, session(p)); !errors.Is(err, db.ErrPortTaken) {
		t.Fatalf("same port: %v, want ErrPortTaken", err)
	}
	// Finishing is won once; afterwards port and generation are free again.
	if ok, err := s.FinishPreview(ctx, live.ID, db.Finish{Status: db.StatusStopped}); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if ok, _ := s.FinishPreview(ctx, live.ID, db.Finish{Status: db.StatusFailed}); ok {
		t.Fatal("a finished preview was finished again")
	}
	p = newPreview(g, live.Port)
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatalf("relaunch after stop: %v", err)
	}
	if _, err := s.MarkPreviewRunning(ctx, p.ID, db.Timings{"total": 5}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestPreview(ctx, g.ID)
	if err != nil || got.ID != p.ID || got.Status != db.StatusRunning || got.Timings["total"] != 5 {
		t.Fatalf("latest: %+v %v", got, err)
	}
}

func TestGenerationOwnership(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	if _, err := s.Generation(ctx, "bob", g.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("another owner: %v, want ErrNotFound", err)
	}
	if err := s.DeleteGeneration(ctx, "bob", g.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("delete by another owner: %v", err)
	}
	infos, err := s.GenerationFileInfos(ctx, g.ID, 1)
	if err != nil || len(infos) != 1 || infos[0].Size != 3 || len(infos[0].SHA256) != 64 {
		t.Fatalf("file infos: %+v %v", infos, err)
	}
	if err := s.DeleteGeneration(ctx, "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	if files, _ := s.GenerationFiles(ctx, g.ID, 1); len(files) != 0 {
		t.Fatalf("%d files left after delete", len(files))
	}
}

// TestDeleteGenerationAgainstLaunch: a generation with a live preview is not
// deleted (its container would outlive its record); a launch after the
// delete finds no generation, and a session for a preview deleted with its
// generation is refused as not found, never with a foreign-key error. Both
// orders hold with the two racing.
func TestDeleteGenerationAgainstLaunch(t *testing.T) {
	s := migrated(t)
	ctx := context.Background()
	g := newGeneration(t, s, "alice")
	p := newPreview(g, 4500)
	if err := s.InsertPreview(ctx, p, session(p)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGeneration(ctx, "alice", g.ID); !errors.Is(err, db.ErrLivePreview) || !errors.Is(err, db.ErrConflict) {
		t.Fatalf("delete with a live preview: %v, want ErrLivePreview", err)
	}
	if _, err := s.Generation(ctx, "alice", g.ID); err != nil {
		t.Fatalf("the refused delete deleted: %v", err)
	}
	if _, err := s.FinishPreview(ctx, p.ID, db.Finish{Status: db.StatusStopped}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGeneration(ctx, "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	late := newPreview(g, 4501)
	if err := s.InsertPreview(ctx, late, session(late)); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("launch after the delete: %v, want ErrNotFound", err)
	}
	if err := s.CreateSession(ctx, session(p)); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("session for a deleted preview: %v, want ErrNotFound", err)
	}

	for i := range 20 {
		g := newGeneration(t, s, "alice")
		p := newPreview(g, 4600+i)
		var insertErr, deleteErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); insertErr = s.InsertPreview(ctx, p, session(p)) }()
		go func() { defer wg.Done(); deleteErr = s.DeleteGeneration(ctx, "alice", g.ID) }()
		wg.Wait()
		switch {
		case insertErr == nil && errors.Is(deleteErr, db.ErrLivePreview):
			// The launch came first: the delete must stop it and retry.
		case errors.Is(insertErr, db.ErrNotFound) && deleteErr == nil:
			// The delete came first.
		default:
			t.Fatalf("round %d: insert %v, delete %v", i, insertErr, deleteErr)
		}
	}
}
