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
