package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A preview's run directory is on the host's disk, bind-mounted into its
// container, and the shim creates its two sockets there. The container may
// write to it only while the shim starts: previewd opens it to the preview's
// uid before the container (re)starts, waits for the shim to answer (by
// then both sockets exist, and no code of the app has run), and then seals
// it, before any file of the app reaches the container. Sealed, the
// directory is previewd's and closed to everyone else, so the kernel
// refuses every new entry the app might try: open, O_TMPFILE, mkdir,
// mknod, rename and link all need write permission on the directory, and
// the preview has no capability that would bypass it. Nothing in it can
// grow then: its only files are the two sockets, which store no data.

// makeRunDir creates dir if need be and lets the preview's uid create its
// sockets in it. When previewd is not root it cannot chown, and the
// directory is opened up to everyone instead; its parent keeps other host
// users out.
func makeRunDir(dir string, uid int) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create run directory: %w", err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		if err := os.Chmod(dir, 0o777); err != nil {
			return fmt.Errorf("open run directory: %w", err)
		}
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("open run directory: %w", err)
	}
	return nil
}

// sealRunDir makes dir previewd's own and closed to the preview, once its
// shim has made both sockets, and checks that it is: a launch does not go on
// with a directory the app could fill.
func sealRunDir(dir string, uid int) error {
	for _, name := range []string{controlSocket, appSocket} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("seal run directory: %w", err)
		}
		if fi.Mode()&fs.ModeSocket == 0 {
			return fmt.Errorf("seal run directory: %s is not a socket", name)
		}
	}
	// The owner first: the preview's uid could chmod its own directory
	// back. A previewd that is not root owns the directory already (see
	// makeRunDir), and chowning to itself is allowed.
	if err := os.Chown(dir, os.Geteuid(), os.Getegid()); err != nil {
		return fmt.Errorf("seal run directory: %w", err)
	}
	// 0500: previewd connects to the sockets through the path; the shim
	// holds its listeners already, and neither it nor the app needs the
	// directory again (nor do other users of the host).
	if err := os.Chmod(dir, 0o500); err != nil {
		return fmt.Errorf("seal run directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("seal run directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == uid || fi.Mode().Perm() != 0o500 {
		return fmt.Errorf("seal run directory: %s is still open to the preview (mode %v)", dir, fi.Mode())
	}
	return nil
}

// removeRunDir removes a preview's run directory. A sealed one is made
// writable first: a previewd that is not root could not unlink the sockets
// in it otherwise.
func removeRunDir(dir string) {
	os.Chmod(dir, 0o700)
	os.RemoveAll(dir)
}
