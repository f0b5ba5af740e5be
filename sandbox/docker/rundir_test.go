package docker

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/previewd/previewd/sandbox/backend"
)

// TestSealRunDir opens a run directory to a preview's uid, lets "the shim"
// make its sockets as that uid, seals it, and checks that the uid can then
// create nothing in it and that previewd can still remove it.
func TestSealRunDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as the preview's uid")
	}
	if _, err := os.Stat(systemPython); err != nil {
		t.Skipf("acts as the preview's uid through %s: %v", systemPython, err)
	}
	uid := backend.SandboxUID(1)
	// t.TempDir's parent is closed to other users.
	root, err := os.MkdirTemp("", "rundir")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o711); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "preview")
	if err := makeRunDir(dir, uid); err != nil {
		t.Fatal(err)
	}
	if err := sealRunDir(dir, uid); err == nil {
		t.Fatal("sealed a run directory without the shim's sockets")
	}
	for _, name := range []string{controlSocket, appSocket} {
		if err := asUID(uid, "import socket; socket.socket(socket.AF_UNIX).bind('"+filepath.Join(dir, name)+"')"); err != nil {
			t.Fatalf("the preview's uid cannot make its socket in the open directory: %v", err)
		}
	}
	if err := sealRunDir(dir, uid); err != nil {
		t.Fatal(err)
	}
	for _, attempt := range []string{
		"open('" + dir + "/f', 'w')",
		"import os; os.open('" + dir + "', os.O_TMPFILE | os.O_WRONLY)",
		"import os; os.mkdir('" + dir + "/d')",
		"import os; os.link('" + dir + "/app.sock', '" + dir + "/l')",
		"import os; os.unlink('" + dir + "/app.sock')",
		"import os; os.chmod('" + dir + "', 0o777)",
	} {
		if err := asUID(uid, attempt); err == nil {
			t.Errorf("the preview's uid could %s in the sealed directory", attempt)
		}
	}
	// A restart opens it again for a new shim.
	if err := makeRunDir(dir, uid); err != nil {
		t.Fatal(err)
	}
	if err := asUID(uid, "import os; os.unlink('"+filepath.Join(dir, appSocket)+"')"); err != nil {
		t.Errorf("the reopened directory refuses the new shim: %v", err)
	}
	removeRunDir(dir)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the run directory is still there: %v", err)
	}
}

// systemPython is a Python any uid may run (one under root's home is not).
const systemPython = "/usr/bin/python3"

// asUID runs a line of Python as uid, with no capabilities.
func asUID(uid int, code string) error {
	cmd := exec.Command(systemPython, "-c", code)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
