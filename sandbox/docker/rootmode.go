package docker

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// On an engine whose storage driver is fuse-overlayfs, the kernel asks the
// FUSE daemon for the ACL of a container's root directory on every absolute
// path that a process other than the directory's owner resolves, and does not
// keep the answer: about 30 µs a lookup. Measured in a container running as
// a non-root uid, 20,000 stats of /usr/bin/true took 720 ms; as root, or with
// the group bits of the root directory cleared, 170–190 ms. A Python app's
// imports resolve thousands of paths.
//
// The kernel consults a directory's ACL only when its mode has group bits,
// and the root directory's mode is that of the container's writable layer,
// which the engine creates 0755. So, when previewd can reach the engine's
// storage (it runs as root on the engine's host), it makes that directory
// 0705 after creating a container and before starting it. The preview's uid
// is neither the owner nor in group root, so it keeps exactly the access it
// had: read and search through the "other" bits.
const fuseOverlayfs = "fuse-overlayfs"

// rootModes clears the group bits of new containers' root directories while
// that is possible and useful.
type rootModes struct {
	on       atomic.Bool
	detected atomic.Bool
	warn     sync.Once
}

// detect turns the change on when the engine's storage driver is
// fuse-overlayfs; on any other driver the root directory costs nothing.
// Once it has asked the engine, it does nothing.
func (r *rootModes) detect(ctx context.Context, docker *Backend) error {
	if r.detected.Load() {
		return nil
	}
	driver, err := docker.StorageDriver(ctx)
	if err != nil {
		return err
	}
	if r.detected.CompareAndSwap(false, true) {
		r.on.Store(driver == fuseOverlayfs)
	}
	return nil
}

// clearGroupBits makes created container id's root directory 0705 (from
// 0755). A failure costs only speed, not the launch: a directory previewd
// cannot change (it is not root, or the engine's storage is not on its
// host) is reported once and not tried again.
func (r *rootModes) clearGroupBits(ctx context.Context, docker *Backend, id string, log *slog.Logger) {
	if !r.on.Load() {
		return
	}
	driver, upper, err := docker.WritableLayer(ctx, id)
	if err != nil {
		log.Warn("could not find a container's writable layer; its path lookups are slower", "container", id, "err", err)
		return
	}
	if driver != fuseOverlayfs || upper == "" {
		return
	}
	if err := clearGroupBits(upper); err != nil {
		r.on.Store(false)
		r.warn.Do(func() {
			log.Warn("cannot change the root directory of containers on this fuse-overlayfs engine, so path lookups in previews are slower; previewd needs to run as root with the engine's storage directory at the same path (under compose, mount it)", "dir", filepath.Dir(filepath.Dir(upper)), "err", err)
		})
	}
}

func clearGroupBits(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	return os.Chmod(dir, st.Mode().Perm()&^0o070)
}
