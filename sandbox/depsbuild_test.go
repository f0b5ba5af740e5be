package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWriteDepsContext: the installed tree goes into the image owned by
// root, readable by every uid, without setuid bits; links stay links (never
// followed out of the tree) and fifos are left out, so that packing cannot
// block.
func TestWriteDepsContext(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "pkg", "bin"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "pkg", "__init__.py"), []byte("x = 1\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "pkg", "bin", "tool"), []byte("#!/bin/sh\n"), 0o4755))
	must(os.Chmod(filepath.Join(dir, "pkg", "bin", "tool"), 0o4755)) // past the umask
	must(os.Symlink("/etc/shadow", filepath.Join(dir, "pkg", "shadow")))
	must(syscall.Mkfifo(filepath.Join(dir, "pkg", "fifo"), 0o644))

	var buf bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- writeDepsContext(&buf, "FROM x\n", dir) }()
	select {
	case err := <-done:
		must(err)
	case <-time.After(10 * time.Second):
		t.Fatal("packing blocked (on the fifo?)")
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(err)
		got[h.Name] = h
	}
	want := map[string]struct {
		typ  byte
		mode int64
	}{
		"Dockerfile": {tar.TypeReg, 0o644}, "deps/": {tar.TypeDir, 0o755}, "deps/pkg/": {tar.TypeDir, 0o755},
		"deps/pkg/bin/": {tar.TypeDir, 0o755}, "deps/pkg/__init__.py": {tar.TypeReg, 0o644},
		"deps/pkg/bin/tool": {tar.TypeReg, 0o755}, "deps/pkg/shadow": {tar.TypeSymlink, 0o777},
	}
	for name, w := range want {
		h, ok := got[name]
		if !ok {
			t.Errorf("%s missing from the context", name)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: type %c mode %o owner %d:%d; want type %c mode %o owner 0:0", name, h.Typeflag, h.Mode, h.Uid, h.Gid, w.typ, w.mode)
		}
	}
	if h := got["deps/pkg/shadow"]; h != nil && (h.Linkname != "/etc/shadow" || h.Size != 0) {
		t.Errorf("the link was followed: %+v", h)
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected entry %s", name)
		}
	}
}

// TestListInstalled: the packages an install left are read from pip's
// dist-info directories and npm's package.json files, scoped ones
// included, never through a link the install made, and listed in the
// tree; a list the install itself left is replaced, not written through.
func TestListInstalled(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "secret.json")
	must(os.WriteFile(outside, []byte(`{"version": "6.6.6"}`), 0o644))

	py := t.TempDir()
	for _, d := range []string{"Flask_Login-0.6.3.dist-info", "pydantic_core-2.27.2.dist-info", "flask_login", "notes.dist-info"} {
		must(os.Mkdir(filepath.Join(py, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(py, "stray-1.0.dist-info"), nil, 0o644)) // a file, not a dist-info directory
	victim := filepath.Join(t.TempDir(), "victim")
	must(os.WriteFile(victim, []byte("keep"), 0o644))
	must(os.Symlink(victim, filepath.Join(py, addedFile)))

	node := t.TempDir()
	nm := filepath.Join(node, "node_modules")
	for _, d := range []string{"express", "@scope/pkg", "linked", ".bin"} {
		must(os.MkdirAll(filepath.Join(nm, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(nm, "express", "package.json"), []byte(`{"name": "express", "version": "5.1.0"}`), 0o644))
	must(os.WriteFile(filepath.Join(nm, "@scope", "pkg", "package.json"), []byte(`{"version": "1.2.3"}`), 0o644))
	must(os.Symlink(outside, filepath.Join(nm, "linked", "package.json")))

	for _, c := range []struct {
		runtime, dir string
		want         map[string]string
		text         string
	}{
		{"python", py, map[string]string{"flask-login": "0.6.3", "pydantic-core": "2.27.2"}, "flask-login==0.6.3\npydantic-core==2.27.2\n"},
		{"node", node, map[string]string{"express": "5.1.0", "@scope/pkg": "1.2.3"}, "@scope/pkg==1.2.3\nexpress==5.1.0\n"},
	} {
		got, err := listInstalled(c.runtime, c.dir)
		must(err)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.runtime, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %v, want %v", c.runtime, got, c.want)
			}
		}
		list, err := os.Lstat(filepath.Join(c.dir, addedFile))
		must(err)
		text, err := os.ReadFile(filepath.Join(c.dir, addedFile))
		must(err)
		if !list.Mode().IsRegular() || string(text) != c.text {
			t.Errorf("%s: %s is %v %q, want a file with %q", c.runtime, addedFile, list.Mode(), text, c.text)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the list was written through the install's link: %q", b)
	}
}
