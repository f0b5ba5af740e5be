package upload

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
)

// readZip reads a zip body into memory, through MaxBytes, and collects its
// regular files. Member contents are decompressed through the collector's
// limit, whatever sizes the archive declares.
func readZip(r io.Reader, c *collector) error {
	data, err := io.ReadAll(io.LimitReader(r, c.lim.MaxBytes+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > c.lim.MaxBytes {
		return tooLargef("zip archive is larger than %d bytes", c.lim.MaxBytes)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	// ErrInsecurePath comes with a usable reader; CheckPath gives the
	// precise reason for each name.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return invalidf("not a valid zip archive")
	}
	for _, f := range zr.File {
		name := memberName(f.Name)
		mode := f.Mode()
		if mode.IsDir() || isJunk(name) {
			continue
		}
		if err := checkMode(name, mode); err != nil {
			return err
		}
		if f.Flags&0x1 != 0 {
			return invalidf("file %s: encrypted zip entries are not supported", quote(name))
		}
		if err := c.claim(name); err != nil {
			return err
		}
		if err := readZipFile(f, name, c); err != nil {
			return err
		}
	}
	return nil
}

// checkMode refuses anything but a regular file, by the Unix mode the zip
// records in its external attributes.
func checkMode(name string, mode fs.FileMode) error {
	switch {
	case mode&fs.ModeSymlink != 0:
		return invalidf("file %s: symbolic links are not allowed", quote(name))
	case mode&fs.ModeDevice != 0:
		return invalidf("file %s: device files are not allowed", quote(name))
	case mode&fs.ModeNamedPipe != 0:
		return invalidf("file %s: FIFOs are not allowed", quote(name))
	case !mode.IsRegular():
		return invalidf("file %s: only regular files and directories are allowed", quote(name))
	}
	return nil
}

func readZipFile(f *zip.File, name string, c *collector) error {
	rc, err := f.Open()
	if errors.Is(err, zip.ErrAlgorithm) {
		return invalidf("file %s: unsupported compression method %d; use deflate", quote(name), f.Method)
	}
	if err != nil {
		return invalidf("file %s: zip entry is corrupt", quote(name))
	}
	defer rc.Close()
	err = c.addReader(name, rc)
	var ke *kindError
	if err != nil && !errors.As(err, &ke) {
		// The body is in memory, so a read error is bad data, never I/O.
		return invalidf("file %s: compressed data is corrupt", quote(name))
	}
	return err
}
