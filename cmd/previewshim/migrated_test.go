package main

import (
	"archive/tar"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestMigrated: GET /migrated sends the snapshot's regular files at their
// relative paths, never a link's target, and 404 when there is none.
func TestMigrated(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sup := newSupervisor(t.TempDir(), nil)
	sup.migratedDir = filepath.Join(t.TempDir(), "migrated")
	h := newControlHandler(sup)
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/migrated", nil))
		return rec
	}
	if rec := get(); rec.Code != http.StatusNotFound {
		t.Fatalf("no snapshot: %d, want 404", rec.Code)
	}

	secret := filepath.Join(t.TempDir(), "secret")
	must(os.WriteFile(secret, []byte("host secret"), 0o600))
	must(os.MkdirAll(filepath.Join(sup.migratedDir, "data"), 0o755))
	must(os.WriteFile(filepath.Join(sup.migratedDir, "db.sqlite3"), []byte("SQLite format 3\x00main"), 0o644))
	must(os.WriteFile(filepath.Join(sup.migratedDir, "data", "other.db"), []byte("other"), 0o644))
	must(os.Symlink(secret, filepath.Join(sup.migratedDir, "link.db")))

	rec := get()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /migrated: %d %s", rec.Code, rec.Body)
	}
	got := map[string]string{}
	tr := tar.NewReader(rec.Body)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		b, err := io.ReadAll(tr)
		must(err)
		got[hdr.Name] = string(b)
	}
	want := map[string]string{"db.sqlite3": "SQLite format 3\x00main", "data/other.db": "other"}
	if len(got) != len(want) {
		t.Fatalf("sent %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("sent %q, want %q", got, want)
		}
	}
}
