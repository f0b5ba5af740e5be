package docker

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
)

// maxImageFile bounds what ReadImageFile reads: it only reads small metadata.
const maxImageFile = 4 << 20

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
