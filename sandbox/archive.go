package sandbox

import (
	"archive/tar"
	"bytes"
	"fmt"
	"time"
)

// File is one file to put into a container.
type File struct {
	Path    string
	Content []byte
}

// tarFiles packs files into an uncompressed tar, as the shim's PUT /files takes it.
func tarFiles(files []File) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A fixed time keeps the archive independent of when it was made.
	mtime := time.Unix(0, 0)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Path, Mode: 0o644, Size: int64(len(f.Content)), Typeflag: tar.TypeReg, ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("pack %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, fmt.Errorf("pack %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("pack files: %w", err)
	}
	return &buf, nil
}
