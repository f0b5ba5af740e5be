package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/previewd/previewd/sandbox/backend"
)

// A preview reads its runtime (the interpreter, the standard library, the
// frameworks) from its container's root filesystem, through the engine's
// storage driver. With fuse-overlayfs, the driver of rootless and of some
// virtualised engines, every open, stat and directory read there crosses a
// FUSE daemon: importing FastAPI took 60% longer in a container than in a
// chroot of the same files. So previewd unpacks the /usr of each runtime
// image once onto the host (a tree) and bind-mounts its directories read-only
// into that image's containers: the same files, served by the host's own
// filesystem and page cache.
//
// /usr/sbin stays the image's: the engine mounts its init at
// /sbin/docker-init, which resolves into /usr/sbin, before it mounts binds,
// so a bind over /usr/sbin would hide the init.
const treeKeepInImage = "sbin"

// staleUnpack is how old an unfinished unpack directory must be before it
// is taken for the leftover of a crash (another previewd sharing the
// directory may be unpacking right now).
const staleUnpack = 10 * time.Minute

// trees unpacks runtime images' /usr under root and hands out the bind
// mounts that use them.
type trees struct {
	root   string
	docker *Backend
	log    *slog.Logger

	mu     sync.Mutex
	ready  map[string][]string  // image id → its bind mounts
	busy   map[string]bool      // image ids being unpacked
	failed map[string]time.Time // image ids whose unpack failed, and when
}

// retryUnpack is how long after a failed unpack launches of that image go
// without its tree before another is tried: an unpack costs seconds of CPU.
const retryUnpack = 10 * time.Minute

func newTrees(root string, docker *Backend, log *slog.Logger) *trees {
	return &trees{root: root, docker: docker, log: log, ready: map[string][]string{}, busy: map[string]bool{}, failed: map[string]time.Time{}}
}

// binds returns the bind mounts that give a container of imageID the
// unpacked /usr, or nil while its tree is not unpacked; the container then
// reads the image's own files, which are the same, only slower.
func (t *trees) binds(imageID string) []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ready[imageID]
}

// prepare makes the tree of imageID ready, unpacking it unless an earlier
// run (or another previewd sharing root) already did.
func (t *trees) prepare(ctx context.Context, imageID string) error {
	t.mu.Lock()
	if t.ready[imageID] != nil || t.busy[imageID] || time.Since(t.failed[imageID]) < retryUnpack {
		t.mu.Unlock()
		return nil
	}
	t.busy[imageID] = true
	t.mu.Unlock()

	binds, err := t.unpack(ctx, imageID)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.busy, imageID)
	if err != nil {
		if ctx.Err() == nil {
			t.failed[imageID] = time.Now()
		}
		return err
	}
	t.ready[imageID] = binds
	return nil
}

func (t *trees) dir(imageID string) string {
	return filepath.Join(t.root, strings.TrimPrefix(imageID, "sha256:"))
}

// unpack unpacks the /usr of imageID into its tree, unless it is there, and
// returns the tree's bind mounts. A tree appears complete or not at all: it
// is unpacked beside and renamed into place.
func (t *trees) unpack(ctx context.Context, imageID string) ([]string, error) {
	dir := t.dir(imageID)
	if _, err := os.Stat(dir); err == nil {
		return treeBinds(dir)
	}
	if err := os.MkdirAll(t.root, 0o755); err != nil {
		return nil, fmt.Errorf("create tree directory: %w", err)
	}
	tmp, err := os.MkdirTemp(t.root, ".unpack-")
	if err != nil {
		return nil, fmt.Errorf("create tree directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	began := time.Now()
	if err := t.docker.CopyFromImage(ctx, imageID, "/usr", func(r io.Reader) error { return untarTree(r, tmp) }); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(dir); serr != nil { // not a concurrent unpack that won
			return nil, fmt.Errorf("move tree into place: %w", err)
		}
	}
	t.log.Info("unpacked the runtime tree of an image", "image", imageID, "took", time.Since(began).Round(time.Millisecond))
	return treeBinds(dir)
}

// prune removes the trees of images the engine no longer has, and unpacks
// left behind by a crash.
func (t *trees) prune(ctx context.Context) {
	entries, err := os.ReadDir(t.root)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(t.root, e.Name())
		if strings.HasPrefix(e.Name(), ".unpack-") {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleUnpack {
				os.RemoveAll(p)
			}
			continue
		}
		if _, err := t.docker.ImageID(ctx, "sha256:"+e.Name()); errors.Is(err, backend.ErrNotFound) {
			t.log.Info("removing the runtime tree of a removed image", "image", e.Name())
			os.RemoveAll(p)
		}
	}
}

// treeBinds lists the read-only bind mounts of the tree in dir: each
// directory of its usr but treeKeepInImage, over the same one in the
// container.
func treeBinds(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "usr"))
	if err != nil {
		return nil, err
	}
	var binds []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != treeKeepInImage {
			binds = append(binds, filepath.Join(dir, "usr", e.Name())+":/usr/"+e.Name()+":ro")
		}
	}
	if len(binds) == 0 {
		return nil, errors.New("the image's /usr has no directories")
	}
	return binds, nil
}

// untarTree unpacks the archive the engine gives for a directory into dst.
// Only directories, regular files and links are made; modes lose their
// setuid, setgid and write-by-others bits; nothing is written through a link.
func untarTree(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	dirs := map[string]bool{".": true}
	files := map[string]bool{}
	type dirMode struct {
		path string
		mode os.FileMode
	}
	var modes []dirMode
	// mkdir makes the directory rel, whose parents must be directories made
	// here: a name that is a link already is refused by Mkdir.
	var mkdir func(rel string) error
	mkdir = func(rel string) error {
		if dirs[rel] {
			return nil
		}
		if err := mkdir(path.Dir(rel)); err != nil {
			return err
		}
		if err := os.Mkdir(filepath.Join(dst, rel), 0o755); err != nil {
			return err
		}
		dirs[rel] = true
		return nil
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		rel := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("archive entry %q is outside the tree", hdr.Name)
		}
		mode := os.FileMode(hdr.Mode) & 0o755
		target := filepath.Join(dst, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := mkdir(rel); err != nil {
				return err
			}
			modes = append(modes, dirMode{target, mode | 0o700})
			continue
		case tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
			if err := mkdir(path.Dir(rel)); err != nil {
				return err
			}
		default: // devices, fifos: nothing in /usr a runtime needs
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", rel, err)
			}
			if err := os.Chmod(target, mode); err != nil { // past the umask
				return err
			}
			// Python trusts a module's bytecode only while the source
			// keeps the modification time the bytecode recorded.
			if err := os.Chtimes(target, hdr.ModTime, hdr.ModTime); err != nil {
				return err
			}
			files[rel] = true
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			from := path.Clean(strings.TrimPrefix(hdr.Linkname, "/"))
			if !files[from] {
				return fmt.Errorf("archive entry %q links to %q, not a file before it", hdr.Name, hdr.Linkname)
			}
			if err := os.Link(filepath.Join(dst, from), target); err != nil {
				return err
			}
		}
	}
	for _, d := range modes {
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
	}
	return nil
}

// withTree returns what a container of the image ref is created from: the
// image's id and the binds of its unpacked tree, when ref is a runtime
// image whose tree is ready; otherwise ref itself and no binds. Creating from
// the id keeps a rebuilt image from meeting the tree of its predecessor.
// Dependency images are not unpacked: their /usr differs from the runtime's.
func (d *Backend) withTree(ctx context.Context, ref string, runtime bool) (string, []string) {
	if d.trees == nil || !runtime {
		return ref, nil
	}
	id, err := d.ImageID(ctx, ref)
	if err != nil {
		return ref, nil
	}
	if binds := d.trees.binds(id); binds != nil {
		return id, binds
	}
	// Unpacked in the background: this launch does not wait for it.
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.prepareTree(d.base, id)
	}()
	return ref, nil
}

// Prepare learns the engine's storage driver, prunes the trees of removed
// images and unpacks those of the runtime images.
func (d *Backend) Prepare(ctx context.Context, runtimeImages []string) {
	if err := d.roots.detect(ctx, d); err != nil {
		d.log.Warn("could not ask the engine for its storage driver", "err", err)
	}
	if d.trees == nil {
		return
	}
	d.trees.prune(ctx)
	for _, ref := range runtimeImages {
		id, err := d.ImageID(ctx, ref)
		if err != nil {
			continue // launches of it fail with the reason
		}
		d.prepareTree(ctx, id)
	}
}

func (d *Backend) prepareTree(ctx context.Context, imageID string) {
	if err := d.trees.prepare(ctx, imageID); err != nil && ctx.Err() == nil {
		d.log.Warn("could not unpack a runtime image's tree; its previews read the image's own files", "image", imageID, "err", err)
	}
}
