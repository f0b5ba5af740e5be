package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/previewd/previewd/db"
)

// A preview's run directory is on the host's disk and the container can
// write to it: its shim creates its two sockets there. An app writing
// anything else there could fill the host's disk, so previewd watches the
// directory and stops a preview that does.

// guardRunDir watches dir until it is removed or ctx ends, and calls
// intrusion (once) with the name of the first entry in it that is not one of
// the shim's sockets.
func guardRunDir(ctx context.Context, dir string, intrusion func(name string)) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("watch run directory: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_DELETE_SELF); err != nil {
		unix.Close(fd)
		return fmt.Errorf("watch run directory: %w", err)
	}
	// A non-blocking descriptor in an *os.File is read through the runtime's
	// poller, so closing the file ends a Read in progress.
	f := os.NewFile(uintptr(fd), "inotify:"+dir)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			f.Close()
		case <-done:
		}
	}()
	go func() {
		defer close(done)
		defer f.Close()
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := cString(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)])
				off += unix.SizeofInotifyEvent + int(ev.Len)
				switch {
				case ev.Mask&(unix.IN_DELETE_SELF|unix.IN_IGNORED) != 0:
					return // the directory is gone: the preview ended
				case !shimSocket(dir, name, ev.Mask):
					intrusion(name)
					return
				}
			}
		}
	}()
	return nil
}

// shimSocket reports whether a new entry is one of the shim's sockets.
func shimSocket(dir, name string, mask uint32) bool {
	if mask&unix.IN_ISDIR != 0 || (name != controlSocket && name != appSocket) {
		return false
	}
	fi, err := os.Lstat(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return true // replaced or removed meanwhile; a later event tells
	}
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// guard starts watching in's run directory (see guardRunDir). An intrusion
// stops the preview as failed, or removes a pooled container.
func (m *Manager) guard(in *instance) {
	err := guardRunDir(m.base, in.runDir, func(name string) {
		m.log.Warn("app wrote into its run directory", "preview_id", in.rec.ID, "name", name)
		if wm := m.pooledMember(in.rec.ID); wm != nil {
			m.removeWarm(wm)
			return
		}
		if m.instance(in.rec.ID) == nil || !in.stopping.CompareAndSwap(false, true) {
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.end(in, db.StatusFailed, fmt.Sprintf("the app wrote %q into %s, which holds previewd's sockets and is not the app's to write; the preview was stopped", name, RunDirInContainer))
		}()
	})
	if err != nil {
		m.log.Warn("cannot watch run directory", "preview_id", in.rec.ID, "err", err)
	}
}
