package sandbox

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/previewd/previewd/sandbox/framework"
)

// A Django app on SQLite is migrated before it serves (see
// images/python/previewd_django.py), which takes seconds. The migration
// cache keeps the database files a migrate produced — copied in the
// container right after migrate, before the app served anything — and a
// later launch with the same key gets them among its files and does not
// migrate. The key covers everything the result depends on: the app's
// files (any change is a new key), the image's id, the environment the app
// starts with, and the owner (a user never gets a database another user's
// launch produced).

// djangoManageEnv names the app's manage.py to the image's gunicorn hook;
// without it, the hook does not migrate.
const djangoManageEnv = "PREVIEWD_DJANGO_MANAGE"

// migratedDir is the cache's directory under the run directory.
const migratedDir = "migrated"

// maxMigratedBytes bounds one entry (as the shim does); maxMigratedCache
// the whole cache, whose least recently used entries go first.
const (
	maxMigratedBytes = 64 << 20
	maxMigratedCache = 256 << 20
)

// migrationCache is the host-side store of migrated databases, one
// directory per key. It is local to this previewd: another replica, or
// an emptied run directory, migrates again.
type migrationCache struct {
	dir string
	mu  sync.Mutex // puts and evictions take turns
}

func newMigrationCache(runRoot string) *migrationCache {
	return &migrationCache{dir: filepath.Join(runRoot, migratedDir)}
}

// migrationKey is the cache key of a launch: owner, image id, the files
// written to /app and the app's environment.
func migrationKey(owner, imageID string, files []File, env map[string]string) string {
	h := sha256.New()
	field := func(b []byte) {
		binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	field([]byte(owner))
	field([]byte(imageID))
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		field([]byte(f.Path))
		field(f.Content)
	}
	for _, k := range sortedKeys(env) {
		field([]byte(k))
		field([]byte(env[k]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// get returns the files kept for key, and marks the entry used.
func (c *migrationCache) get(key string) ([]File, bool) {
	root := filepath.Join(c.dir, key)
	var files []File
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files = append(files, File{Path: filepath.ToSlash(rel), Content: b})
		return err
	})
	if err != nil || len(files) == 0 {
		return nil, false
	}
	now := time.Now()
	os.Chtimes(root, now, now)
	return files, true
}

// put keeps the tar r (what the shim's GET /migrated sends) as key's files.
// Nothing is kept unless all of it is read: names must be plain relative
// paths, and the whole no more than maxMigratedBytes.
func (c *migrationCache) put(key string, r io.Reader) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("keep the migrated database: %w", err)
	}
	tmp, err := os.MkdirTemp(c.dir, ".new-")
	if err != nil {
		return fmt.Errorf("keep the migrated database: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := extractMigrated(r, tmp); err != nil {
		return fmt.Errorf("keep the migrated database: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dst := filepath.Join(c.dir, key)
	if _, err := os.Stat(dst); err == nil {
		return nil // a concurrent launch of the same key kept it first
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("keep the migrated database: %w", err)
	}
	return c.evict(maxMigratedCache)
}

// extractMigrated writes the regular files of tar r under dir.
func extractMigrated(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	var total int64
	n := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := hdr.Name
		if hdr.Typeflag != tar.TypeReg || name == "" || path.IsAbs(name) || path.Clean(name) != name ||
			name == ".." || strings.HasPrefix(name, "../") || strings.ContainsAny(name, "\\\x00") {
			return fmt.Errorf("unexpected entry %q", name)
		}
		if total += hdr.Size; total > maxMigratedBytes {
			return fmt.Errorf("more than %d bytes", maxMigratedBytes)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, tr, hdr.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("no files")
	}
	return nil
}

// evict removes the least recently used entries until the cache holds at
// most limit bytes. c.mu is held.
func (c *migrationCache) evict(limit int64) error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	type entry struct {
		path string
		used time.Time
		size int64
	}
	var all []entry
	var total int64
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		en := entry{path: filepath.Join(c.dir, e.Name()), used: info.ModTime()}
		filepath.WalkDir(en.path, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					en.size += fi.Size()
				}
			}
			return nil
		})
		total += en.size
		all = append(all, en)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	var errs []error
	for _, en := range all {
		if total <= limit {
			break
		}
		if err := os.RemoveAll(en.path); err != nil {
			errs = append(errs, err)
			continue
		}
		total -= en.size
	}
	return errors.Join(errs...)
}

// migrated applies the cache to a launch. For a Django app that migrates
// (its plan sets djangoManageEnv), it returns the key to keep the result
// under when nothing is kept yet; when something is, it returns the plan
// without the migrate and files with the kept database among them, and
// no key.
func (m *Manager) migrated(ctx context.Context, in *instance, plan framework.Plan, image string, files []File, userEnv map[string]string) (framework.Plan, []File, string) {
	if _, ok := plan.Env[djangoManageEnv]; !ok {
		return plan, files, ""
	}
	if _, ok := userEnv[djangoManageEnv]; ok {
		return plan, files, "" // the user's own choice; not cached
	}
	id, err := m.backend.ImageID(ctx, image)
	if err != nil {
		return plan, files, ""
	}
	key := migrationKey(in.rec.Owner, id, files, appEnv(plan, userEnv))
	kept, ok := m.migrations.get(key)
	if !ok {
		return plan, files, key
	}
	env := make(map[string]string, len(plan.Env))
	for k, v := range plan.Env {
		if k != djangoManageEnv {
			env[k] = v
		}
	}
	plan.Env = env
	in.logs.Load().system("database: the SQLite database as an earlier launch of these files migrated it; migrate skipped")
	return plan, withFiles(files, kept), ""
}

// withFiles is files with over written over them: same paths replaced.
func withFiles(files, over []File) []File {
	replaced := make(map[string]bool, len(over))
	for _, f := range over {
		replaced[f.Path] = true
	}
	out := make([]File, 0, len(files)+len(over))
	for _, f := range files {
		if !replaced[f.Path] {
			out = append(out, f)
		}
	}
	return append(out, over...)
}

// keepMigrated fetches the database the app's migrate produced from the
// shim and keeps it under key. A preview whose hook kept nothing (not
// SQLite, or a database outside /app) answers 404; then nothing is kept
// and the next launch migrates again.
func (m *Manager) keepMigrated(in *instance, key string) {
	ctx, cancel := context.WithTimeout(in.ctx, 10*time.Second)
	defer cancel()
	body, status, err := m.shim(in).get(ctx, "/migrated")
	if err != nil {
		m.log.Warn("fetch the migrated database", "preview_id", in.rec.ID, "err", err)
		return
	}
	defer body.Close()
	if status != http.StatusOK {
		return
	}
	if err := m.migrations.put(key, body); err != nil {
		m.log.Warn("keep the migrated database", "preview_id", in.rec.ID, "err", err)
	}
}
