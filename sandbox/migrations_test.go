package sandbox

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMigrationKey: any change to what a migrate's result depends on — a
// file's content or path, the image, the environment, the owner — is a
// new key; the order files come in is not.
func TestMigrationKey(t *testing.T) {
	files := []File{{Path: "manage.py", Content: []byte("x")}, {Path: "polls/models.py", Content: []byte("y")}}
	env := map[string]string{"DJANGO_SETTINGS_MODULE": "mysite.settings"}
	base := migrationKey("alice", "sha256:1", files, env)
	if got := migrationKey("alice", "sha256:1", []File{files[1], files[0]}, env); got != base {
		t.Errorf("the files' order changed the key")
	}
	for name, key := range map[string]string{
		"a file's content": migrationKey("alice", "sha256:1", []File{files[0], {Path: "polls/models.py", Content: []byte("z")}}, env),
		"a file's path":    migrationKey("alice", "sha256:1", []File{files[0], {Path: "polls/model.py", Content: []byte("y")}}, env),
		"a file added":     migrationKey("alice", "sha256:1", append(append([]File(nil), files...), File{Path: "a.py"}), env),
		"the image":        migrationKey("alice", "sha256:2", files, env),
		"the environment":  migrationKey("alice", "sha256:1", files, map[string]string{"DJANGO_SETTINGS_MODULE": "other"}),
		"the owner":        migrationKey("bob", "sha256:1", files, env),
		"a field boundary": migrationKey("alic", "esha256:1", files, env),
	} {
		if key == base {
			t.Errorf("%s did not change the key", name)
		}
	}
}

func tarOf(t *testing.T, entries ...tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		body := []byte("content of " + h.Name)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	return &buf
}

// TestMigrationCache: what is put is got back at its paths; an archive
// with a name that leaves the entry, or anything but regular files, keeps
// nothing; the least recently used entries go when the cache is over its
// size.
func TestMigrationCache(t *testing.T) {
	c := newMigrationCache(t.TempDir())
	if _, ok := c.get("k1"); ok {
		t.Fatal("an empty cache had k1")
	}
	if err := c.put("k1", tarOf(t, tar.Header{Name: "db.sqlite3", Typeflag: tar.TypeReg}, tar.Header{Name: "data/other.db", Typeflag: tar.TypeReg})); err != nil {
		t.Fatal(err)
	}
	files, ok := c.get("k1")
	if !ok || len(files) != 2 {
		t.Fatalf("get k1: %v %v", files, ok)
	}
	for _, f := range files {
		if string(f.Content) != "content of "+f.Path {
			t.Errorf("%s: %q", f.Path, f.Content)
		}
	}
	for name, bad := range map[string]*bytes.Buffer{
		"parent":   tarOf(t, tar.Header{Name: "../escape", Typeflag: tar.TypeReg}),
		"absolute": tarOf(t, tar.Header{Name: "/etc/x", Typeflag: tar.TypeReg}),
		"unclean":  tarOf(t, tar.Header{Name: "a/../../b", Typeflag: tar.TypeReg}),
		"symlink":  tarOf(t, tar.Header{Name: "db.sqlite3", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}),
		"empty":    tarOf(t),
	} {
		if err := c.put("bad-"+name, bad); err == nil {
			t.Errorf("%s: kept", name)
		}
		if _, ok := c.get("bad-" + name); ok {
			t.Errorf("%s: got back", name)
		}
	}
	if entries, _ := os.ReadDir(c.dir); len(entries) != 1 {
		t.Errorf("cache directory holds %d entries, want only k1's", len(entries))
	}

	// k1 is used after k2 was put: over the limit, k2 goes first.
	if err := c.put("k2", tarOf(t, tar.Header{Name: "db.sqlite3", Typeflag: tar.TypeReg})); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(c.dir, "k1"), old, old)
	os.Chtimes(filepath.Join(c.dir, "k2"), old.Add(time.Minute), old.Add(time.Minute))
	c.get("k1")
	c.mu.Lock()
	err := c.evict(50)
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get("k2"); ok {
		t.Error("k2, the least recently used, was kept")
	}
	if _, ok := c.get("k1"); !ok {
		t.Error("k1, used last, was evicted")
	}
}

// TestWithFiles: the kept database replaces an uploaded file of the same
// path rather than adding a second one.
func TestWithFiles(t *testing.T) {
	got := withFiles([]File{{Path: "manage.py"}, {Path: "db.sqlite3", Content: []byte("old")}}, []File{{Path: "db.sqlite3", Content: []byte("new")}})
	if len(got) != 2 || got[1].Path != "db.sqlite3" || string(got[1].Content) != "new" {
		t.Errorf("withFiles: %+v", got)
	}
}
