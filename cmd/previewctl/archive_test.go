package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/previewd/previewd/server/upload"
)

// writeTree creates files (path → content) below dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readArchive returns the members of a tar.gz: name → content.
func readArchive(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: type %q, want a regular file", hdr.Name, hdr.Typeflag)
		}
		c, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = string(c)
	}
}

func TestBuildArchive(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"main.py":                          "print('hi')\n",
		"requirements.txt":                 "fastapi\n",
		"app/__init__.py":                  "",
		"app/routers/items.py":             "x = 1\n",
		"static/logo.bin":                  "\x00\x01\xff",
		".env.example":                     "A=1\n",
		".git/HEAD":                        "ref: refs/heads/main\n",
		"node_modules/express/index.js":    "module.exports = 1\n",
		"app/__pycache__/main.cpython.pyc": "junk",
		".venv/bin/python":                 "junk",
		"web/node_modules/x/y.js":          "nested, skipped too",
	})
	// A link to a file inside is stored as the file; a link to a directory
	// inside is left out.
	if err := os.Symlink("main.py", filepath.Join(dir, "alias.py")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app", filepath.Join(dir, "app-link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st, err := buildArchive(dir, &buf)
	if err != nil {
		t.Fatal(err)
	}
	got := readArchive(t, buf.Bytes())
	want := map[string]string{
		"main.py":              "print('hi')\n",
		"alias.py":             "print('hi')\n",
		"requirements.txt":     "fastapi\n",
		"app/__init__.py":      "",
		"app/routers/items.py": "x = 1\n",
		"static/logo.bin":      "\x00\x01\xff",
		".env.example":         "A=1\n",
	}
	if len(got) != len(want) {
		t.Errorf("members %v, want %v", keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if st.Files != len(want) {
		t.Errorf("Files = %d, want %d", st.Files, len(want))
	}
	wantSkipped := []string{".git/", ".venv/", "app-link (a link to a directory)", "app/__pycache__/", "node_modules/", "web/node_modules/"}
	slices.Sort(st.Skipped)
	if !slices.Equal(st.Skipped, wantSkipped) {
		t.Errorf("Skipped = %q, want %q", st.Skipped, wantSkipped)
	}

	// The server's own upload code accepts the archive as it is.
	files, err := upload.FromArchive(bytes.NewReader(buf.Bytes()), "application/gzip", upload.Limits{})
	if err != nil {
		t.Fatalf("server refuses the archive: %v", err)
	}
	if len(files) != len(want) {
		t.Errorf("server read %d files, want %d", len(files), len(want))
	}
}

func TestBuildArchiveRefuses(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret.txt": "s3cret"})
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"link to a file outside", func(t *testing.T, dir string) {
			os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "leak.txt"))
		}, "leak.txt is a symbolic link to " + outside},
		{"relative link escaping", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
			os.Symlink("../../../../../../etc/passwd", filepath.Join(dir, "sub", "passwd"))
		}, "sub/passwd is a symbolic link to /etc/passwd, outside the uploaded folder"},
		{"link to a directory outside", func(t *testing.T, dir string) {
			os.Symlink(outside, filepath.Join(dir, "out"))
		}, "out is a symbolic link to " + outside + ", outside"},
		{"dangling link", func(t *testing.T, dir string) {
			os.Symlink("nowhere.py", filepath.Join(dir, "gone.py"))
		}, "gone.py is a symbolic link to nowhere.py, which does not exist"},
		{"empty folder", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "main.py"))
			os.MkdirAll(filepath.Join(dir, ".git", "objects"), 0o755)
			writeTree(t, dir, map[string]string{".git/HEAD": "x"})
		}, "has no files to upload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"main.py": "x"})
			tt.setup(t, dir)
			_, err := buildArchive(dir, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}

	if _, err := buildArchive(filepath.Join(outside, "missing"), io.Discard); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := buildArchive(filepath.Join(outside, "secret.txt"), io.Discard); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a file: %v", err)
	}
}

// TestBuildArchiveThroughLinkedRoot uploads a folder reached through a
// symbolic link: links inside it are judged against the real folder.
func TestBuildArchiveThroughLinkedRoot(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	writeTree(t, real, map[string]string{"main.py": "x", "lib/util.py": "y"})
	os.Symlink(filepath.Join(real, "lib", "util.py"), filepath.Join(real, "util.py"))
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buildArchive(link, &buf); err != nil {
		t.Fatal(err)
	}
	if got := readArchive(t, buf.Bytes()); got["util.py"] != "y" || len(got) != 3 {
		t.Errorf("got %v", got)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
