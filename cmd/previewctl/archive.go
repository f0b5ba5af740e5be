package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// skippedDirs are never uploaded: version control, installed dependencies
// and caches, which the runtime provides or rebuilds.
var skippedDirs = map[string]bool{
	".git":         true,
	"node_modules": true,
	"__pycache__":  true,
	".venv":        true,
}

// archiveStats describes what buildArchive packed.
type archiveStats struct {
	Files int
	Bytes int64 // file contents, uncompressed
	// Skipped lists what was left out on purpose, relative and slash-separated.
	Skipped []string
}

// buildArchive writes the files below dir to w as a gzip-compressed tar, the
// format the upload endpoint reads as a stream.
//
// Directories named in skippedDirs are left out at any depth. The server
// refuses symbolic links in an archive, so a link to a file inside dir is
// stored as that file's content; a link to a directory inside dir is left out
// (its files are uploaded under their real path); a link that leads outside
// dir, or nowhere, is an error, as is anything but a regular file.
func buildArchive(dir string, w io.Writer) (archiveStats, error) {
	var st archiveStats
	root, err := filepath.Abs(dir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("%s does not exist", dir)
	}
	if err != nil {
		return st, err
	}
	if fi, err := os.Stat(root); err != nil {
		return st, err
	} else if !fi.IsDir() {
		return st, fmt.Errorf("%s is not a directory", dir)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch mode := d.Type(); {
		case mode.IsDir():
			if skippedDirs[d.Name()] {
				st.Skipped = append(st.Skipped, name+"/")
				return filepath.SkipDir
			}
			return nil
		case mode&fs.ModeSymlink != 0:
			target, isDir, err := linkTarget(root, path, name)
			switch {
			case err != nil:
				return err
			case isDir:
				st.Skipped = append(st.Skipped, name+" (a link to a directory)")
				return nil
			}
			return addFile(tw, &st, name, target)
		case mode.IsRegular():
			return addFile(tw, &st, name, path)
		default:
			return fmt.Errorf("%s is not a regular file (%s); remove it or move it out of the folder", name, mode.Type())
		}
	})
	if err != nil {
		return st, err
	}
	if st.Files == 0 {
		return st, fmt.Errorf("%s has no files to upload", dir)
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	return st, gz.Close()
}

// linkTarget resolves the symbolic link at path to the file it leads to, or
// reports a link to a directory; it refuses a target outside root.
func linkTarget(root, path, name string) (target string, isDir bool, err error) {
	target, err = filepath.EvalSymlinks(path)
	if err != nil {
		dest, _ := os.Readlink(path)
		return "", false, fmt.Errorf("%s is a symbolic link to %s, which does not exist", name, dest)
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false, fmt.Errorf("%s is a symbolic link to %s, outside the uploaded folder; copy the file in instead", name, target)
	}
	fi, err := os.Stat(target)
	if err != nil {
		return "", false, err
	}
	switch {
	case fi.IsDir():
		return target, true, nil
	case !fi.Mode().IsRegular():
		return "", false, fmt.Errorf("%s links to %s, which is not a regular file", name, filepath.ToSlash(rel))
	}
	return target, false, nil
}

// addFile stores the file at path as a regular member called name.
func addFile(tw *tar.Writer, st *archiveStats, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	mode := int64(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: mode, ModTime: fi.ModTime()}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := io.CopyN(tw, f, fi.Size()); err != nil {
		return fmt.Errorf("%s: read: %w (did it change while being packed?)", name, err)
	}
	st.Files++
	st.Bytes += fi.Size()
	return nil
}
