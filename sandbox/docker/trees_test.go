package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

type tarEntry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func tarOfEntries(t *testing.T, entries []tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)),
			ModTime: time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC)}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestUntarTree(t *testing.T) {
	dst := t.TempDir()
	err := untarTree(tarOfEntries(t, []tarEntry{
		{name: "usr/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/su", typ: tar.TypeReg, mode: 0o4755, body: "setuid"},
		{name: "usr/bin/python3.11", typ: tar.TypeReg, mode: 0o755, body: "python"},
		{name: "usr/bin/python3", typ: tar.TypeSymlink, link: "python3.11", mode: 0o777},
		{name: "usr/bin/py", typ: tar.TypeLink, link: "usr/bin/python3.11"},
		{name: "usr/lib/x/mod.py", typ: tar.TypeReg, mode: 0o666, body: "print()"}, // parents not listed
		{name: "usr/lib/null", typ: tar.TypeChar, mode: 0o666},
		{name: "usr/sbin/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/lib64", typ: tar.TypeSymlink, link: "lib", mode: 0o777},
	}), dst)
	if err != nil {
		t.Fatal(err)
	}
	mode := func(p string) os.FileMode {
		info, err := os.Lstat(filepath.Join(dst, p))
		if err != nil {
			t.Fatal(err)
		}
		return info.Mode()
	}
	if m := mode("usr/bin/su"); m != 0o755 {
		t.Errorf("su: mode %v, want setuid dropped", m)
	}
	if m := mode("usr/lib/x/mod.py"); m != 0o644 {
		t.Errorf("mod.py: mode %v, want no write by others", m)
	}
	info, _ := os.Stat(filepath.Join(dst, "usr/lib/x/mod.py"))
	if want := time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC); !info.ModTime().Equal(want) {
		t.Errorf("mod.py: mtime %v, want %v (bytecode is checked against it)", info.ModTime(), want)
	}
	if link, _ := os.Readlink(filepath.Join(dst, "usr/bin/python3")); link != "python3.11" {
		t.Errorf("python3 links to %q", link)
	}
	a, _ := os.Stat(filepath.Join(dst, "usr/bin/py"))
	b, _ := os.Stat(filepath.Join(dst, "usr/bin/python3.11"))
	if !os.SameFile(a, b) {
		t.Error("the hard link is not the same file")
	}
	if _, err := os.Lstat(filepath.Join(dst, "usr/lib/null")); !os.IsNotExist(err) {
		t.Errorf("a device was made: %v", err)
	}

	binds, err := treeBinds(dst)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dst + "/usr/bin:/usr/bin:ro", dst + "/usr/lib:/usr/lib:ro"}
	if !slices.Equal(binds, want) {
		t.Errorf("binds %q, want %q (no sbin, no links)", binds, want)
	}
}

func TestUntarTreeRefusesEscapes(t *testing.T) {
	outside := t.TempDir()
	for name, entries := range map[string][]tarEntry{
		"dot-dot": {{name: "usr/../../escape", typ: tar.TypeReg, mode: 0o644, body: "x"}},
		"through a link": {
			{name: "usr/lib", typ: tar.TypeSymlink, link: outside},
			{name: "usr/lib/escape", typ: tar.TypeReg, mode: 0o644, body: "x"},
		},
		"dir through a link": {
			{name: "usr/lib", typ: tar.TypeSymlink, link: outside},
			{name: "usr/lib/sub/", typ: tar.TypeDir, mode: 0o755},
		},
		"hard link outside": {{name: "usr/passwd", typ: tar.TypeLink, link: "../../etc/passwd"}},
		"file twice":        {{name: "usr/a", typ: tar.TypeReg, body: "1"}, {name: "usr/a", typ: tar.TypeReg, body: "2"}},
	} {
		t.Run(name, func(t *testing.T) {
			dst := t.TempDir()
			if err := untarTree(tarOfEntries(t, entries), dst); err == nil {
				t.Error("unpacked")
			}
			if left, _ := os.ReadDir(outside); len(left) != 0 {
				t.Errorf("wrote outside the tree: %v", left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dst), "escape")); err == nil {
				t.Error("wrote next to the tree")
			}
		})
	}
}

func TestTreeUnpackFailureNotRetriedAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tr := newTrees(filepath.Join(file, "trees"), nil, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if err := tr.prepare(ctx, "sha256:abc"); err == nil {
		t.Fatal("a tree was unpacked under a file")
	}
	if err := tr.prepare(ctx, "sha256:abc"); err != nil {
		t.Fatalf("the unpack was tried again at once: %v", err)
	}
	if b := tr.binds("sha256:abc"); b != nil {
		t.Fatalf("binds %q for a tree that failed", b)
	}
}
