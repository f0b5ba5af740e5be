package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

type entry struct {
	name     string
	typeflag byte
	body     string
	mode     int64
	linkname string
}

func makeTar(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o600
		}
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: mode, Linkname: e.linkname, Size: int64(len(e.body))}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestExtractTarWritesFilesWithFixedModes(t *testing.T) {
	dir := t.TempDir()
	// An older file with other permissions must end up 0644 too.
	if err := os.WriteFile(filepath.Join(dir, "main.py"), []byte("old"), 0o700); err != nil {
		t.Fatal(err)
	}
	tr := makeTar(t,
		entry{name: "./", typeflag: tar.TypeDir},
		entry{name: "./main.py", typeflag: tar.TypeReg, body: "print('hi')\n", mode: 0o4777},
		entry{name: "pkg/", typeflag: tar.TypeDir, mode: 0o777},
		entry{name: "deep/er/file.txt", typeflag: tar.TypeReg, body: "x"}, // parents not in the archive
		entry{name: "empty", typeflag: tar.TypeReg},
	)
	if err := extractTar(tr, dir); err != nil {
		t.Fatalf("extractTar: %v", err)
	}

	want := map[string]fs.FileMode{
		"main.py":          0o644,
		"empty":            0o644,
		"deep/er/file.txt": 0o644,
		"pkg":              fs.ModeDir | 0o755,
		"deep":             fs.ModeDir | 0o755,
		"deep/er":          fs.ModeDir | 0o755,
	}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), mode)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "main.py"))
	if err != nil || string(got) != "print('hi')\n" {
		t.Errorf("main.py = %q, %v", got, err)
	}
}

func TestExtractTarRejectsBadEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry entry
	}{
		{"absolute", entry{name: "/etc/passwd", typeflag: tar.TypeReg, body: "x"}},
		{"dotdot", entry{name: "../escape", typeflag: tar.TypeReg, body: "x"}},
		{"inner dotdot", entry{name: "a/../../escape", typeflag: tar.TypeReg, body: "x"}},
		{"harmless dotdot", entry{name: "a/../b", typeflag: tar.TypeReg, body: "x"}},
		{"dotdot dir", entry{name: "a/../", typeflag: tar.TypeDir}},
		{"symlink", entry{name: "link", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}},
		{"hardlink", entry{name: "hard", typeflag: tar.TypeLink, linkname: "main.py"}},
		{"char device", entry{name: "null", typeflag: tar.TypeChar}},
		{"block device", entry{name: "sda", typeflag: tar.TypeBlock}},
		{"fifo", entry{name: "fifo", typeflag: tar.TypeFifo}},
		{"file as root", entry{name: ".", typeflag: tar.TypeReg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "app")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			err := extractTar(makeTar(t, tt.entry), dir)
			var bad *rejectError
			if !errors.As(err, &bad) {
				t.Fatalf("extractTar = %v, want a rejectError", err)
			}
			for _, d := range []string{parent, dir} {
				names, err := os.ReadDir(d)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[string]int{parent: 1, dir: 0}[d]; len(names) != want {
					t.Errorf("%s holds %d entries, want %d", d, len(names), want)
				}
			}
		})
	}
}

func TestExtractTarRejectsTruncatedStream(t *testing.T) {
	full := makeTar(t, entry{name: "big", typeflag: tar.TypeReg, body: string(make([]byte, 4096))})
	truncated := bytes.NewReader(full.Bytes()[:1024])
	err := extractTar(truncated, t.TempDir())
	var bad *rejectError
	if !errors.As(err, &bad) {
		t.Fatalf("extractTar = %v, want a rejectError", err)
	}
}

func TestExtractTarDoesNotFollowSymlinksOut(t *testing.T) {
	// The running app may plant a symlink in its own dir; a later upload
	// must not write through it.
	parent := t.TempDir()
	dir := filepath.Join(parent, "app")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	err := extractTar(makeTar(t, entry{name: "sub/x", typeflag: tar.TypeReg, body: "x"}), dir)
	if err == nil {
		t.Fatal("extractTar wrote through a symlink")
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
		t.Fatal("file created outside the app dir")
	}
}
