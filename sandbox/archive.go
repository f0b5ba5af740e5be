package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxImageFile bounds what ReadImageFile reads: it only reads small metadata.
const maxImageFile = 4 << 20

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

// firstTarFile returns the content of the first regular file in a tar stream.
func firstTarFile(r io.Reader) ([]byte, error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("no file in archive")
			}
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > maxImageFile {
			return nil, fmt.Errorf("file %s is %d bytes, more than %d", hdr.Name, hdr.Size, maxImageFile)
		}
		return io.ReadAll(tr)
	}
}
