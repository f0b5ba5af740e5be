package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// rejectError is an upload the shim refuses: a malformed tar stream or an
// entry that is not a plain file or directory inside the app dir.
type rejectError struct {
	name   string
	reason string
}

func (e *rejectError) Error() string {
	if e.name == "" {
		return e.reason
	}
	return fmt.Sprintf("tar entry %q: %s", e.name, e.reason)
}

// extractTar writes the regular files and directories of the tar stream r
// into dir. Modes in the archive are ignored: the app gets 0644 files and
// 0755 dirs, so an upload cannot plant setuid or world-writable files.
//
// Entries are written as they arrive, so a rejected entry leaves the ones
// before it in place; the host discards the container on any failure.
func extractTar(r io.Reader, dir string) error {
	// os.Root refuses to follow a symlink out of dir, which matters once
	// the app is running and can create symlinks in its own files.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open app dir: %w", err)
	}
	defer root.Close()

	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &rejectError{reason: fmt.Sprintf("read tar: %v", err)}
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if name == "." {
				continue
			}
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("create dir %s: %w", name, err)
			}
		case tar.TypeReg:
			if name == "." {
				return &rejectError{hdr.Name, "a file cannot be the app dir itself"}
			}
			if err := writeFile(root, name, tr); err != nil {
				return err
			}
		default:
			return &rejectError{hdr.Name, typeName(hdr.Typeflag) + " not allowed, only regular files and directories"}
		}
	}
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("entry type %q", flag)
}

// entryName validates a tar entry name and returns it cleaned and relative.
// ".." is refused even where it would stay inside dir: a well-formed upload
// never needs it.
func entryName(raw string) (string, error) {
	if raw == "" {
		return "", &rejectError{raw, "empty name"}
	}
	if strings.HasPrefix(raw, "/") {
		return "", &rejectError{raw, "absolute name"}
	}
	if strings.ContainsRune(raw, 0) || strings.Contains(raw, `\`) {
		return "", &rejectError{raw, "invalid character in name"}
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", &rejectError{raw, `".." in name`}
		}
	}
	return path.Clean(raw), nil
}

func writeFile(root *os.Root, name string, content io.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create dir %s: %w", dir, err)
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create file %s: %w", name, err)
	}
	// A file that already existed keeps its old mode through O_TRUNC.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	src := &readErrRecorder{r: content}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		if src.err != nil {
			return &rejectError{name, fmt.Sprintf("read tar: %v", src.err)}
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// readErrRecorder remembers a read error so that a truncated upload (the
// client's fault) can be told apart from a full disk (ours).
type readErrRecorder struct {
	r   io.Reader
	err error
}

func (r *readErrRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
