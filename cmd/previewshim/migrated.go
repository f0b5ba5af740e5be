package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// migratedDir is where the Python image's Django hook
// (images/python/previewd_django.py) leaves a copy of the app's SQLite
// database(s) as `manage.py migrate` left them, before the app serves:
// files at their paths relative to the app directory.
const migratedDir = "/tmp/.previewd-migrated"

// maxMigratedBytes bounds what GET /migrated sends.
const maxMigratedBytes = 64 << 20

// errMigratedTooBig: the snapshot is larger than previewd takes.
var errMigratedTooBig = errors.New("the migrated database is too large to keep")

// handleMigrated answers GET /migrated with a tar of the snapshot in dir
// (404 when there is none). The app wrote it and could have put anything
// there: only regular files are sent, none through a symbolic link, and no
// more than maxMigratedBytes.
func handleMigrated(dir string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		files, err := migratedFiles(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist) || err == nil && len(files) == 0:
			http.Error(w, "no migrated database", http.StatusNotFound)
			return
		case errors.Is(err, errMigratedTooBig):
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-tar")
		tw := tar.NewWriter(w)
		for _, rel := range files {
			if err := addMigrated(tw, dir, rel); err != nil {
				// The status is sent: a cut-off tar is what the host sees,
				// and it keeps nothing of it.
				panic(http.ErrAbortHandler)
			}
		}
		if err := tw.Close(); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
}

// migratedFiles lists the regular files under dir, relative to it.
func migratedFiles(dir string) ([]string, error) {
	var files []string
	var total int64
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil // directories are walked; links and the rest left out
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if total += info.Size(); total > maxMigratedBytes {
			return errMigratedTooBig
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	return files, err
}

// addMigrated writes file rel of dir to tw, refusing a link put there
// since it was listed.
func addMigrated(tw *tar.Writer, dir, rel string) error {
	f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(rel)), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() || info.Size() > maxMigratedBytes {
		return fmt.Errorf("%s is not a regular file of a size to keep", rel)
	}
	if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: info.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, info.Size())
	return err
}
