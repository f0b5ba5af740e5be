package upload

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"io"
)

// rawTarLimit bounds the uncompressed tar stream. File contents are held to
// MaxBytes by the collector; the rest of the stream is headers, padding,
// directories and skipped junk (macOS adds a ._ file per file), for which
// this allows a generous 16 KiB per file plus MaxBytes again. Without it an
// endless run of directory entries would never end.
func rawTarLimit(lim Limits) int64 {
	return 2*lim.MaxBytes + int64(lim.MaxFiles)*16<<10 + 1<<20
}

// readGzip decompresses a tar.gz and collects the files of the tar inside.
func readGzip(r io.Reader, c *collector) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return invalidf("gzip data is corrupt")
	}
	defer zr.Close()
	inner := bufio.NewReader(zr)
	// Errors here are met again, and classified, by the tar reader.
	head, _ := inner.Peek(512)
	if got := sniff(head); got != formatTar && got != formatUnknown {
		return invalidf("the gzip data holds %s, not a tar archive", got)
	}
	return readTar(inner, c, true)
}

// readTar collects the regular files of a tar stream. When the stream was
// gzipped, it reads on past the end of the archive, within the stream cap, so
// that the gzip checksum at the end is verified.
func readTar(r io.Reader, c *collector, gzipped bool) error {
	capped := &capReader{r: r, n: rawTarLimit(c.lim)}
	entries := 0
	fail := func(err error) error {
		var ke *kindError
		switch {
		case errors.As(err, &ke):
			return err
		case capped.over:
			return tooLargef("tar archive expands to more than %d bytes", rawTarLimit(c.lim))
		case isCorruptCompression(err):
			return invalidf("gzip data is corrupt")
		case errors.Is(err, io.ErrUnexpectedEOF) && (entries > 0 || gzipped):
			// A short plain body with no header in it is no tar at all.
			return invalidf("tar archive is truncated")
		}
		return invalidf("not a valid tar archive")
	}
	tr := tar.NewReader(capped)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// ErrInsecurePath comes with a usable header; CheckPath gives the
		// precise reason.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fail(err)
		}
		entries++
		name := memberName(hdr.Name)
		if hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeXGlobalHeader || isJunk(name) {
			// A global header is metadata, e.g. the commit id `git archive` adds.
			continue
		}
		if err := checkTypeflag(name, hdr.Typeflag); err != nil {
			return err
		}
		if err := c.claim(name); err != nil {
			return err
		}
		if err := c.addReader(name, tr); err != nil {
			return fail(err)
		}
	}
	if gzipped {
		if _, err := io.Copy(io.Discard, capped); err != nil && !capped.over {
			return fail(err)
		}
	}
	return nil
}

// checkTypeflag refuses anything but a regular file.
func checkTypeflag(name string, flag byte) error {
	switch flag {
	case tar.TypeReg, tar.TypeGNUSparse:
		// archive/tar turns the old '\x00' regular type into TypeReg; a
		// sparse file reads as a regular one, its holes as zeros, and its
		// size is bounded like any other.
		return nil
	case tar.TypeSymlink:
		return invalidf("file %s: symbolic links are not allowed", quote(name))
	case tar.TypeLink:
		return invalidf("file %s: hard links are not allowed", quote(name))
	case tar.TypeChar, tar.TypeBlock:
		return invalidf("file %s: device files are not allowed", quote(name))
	case tar.TypeFifo:
		return invalidf("file %s: FIFOs are not allowed", quote(name))
	}
	return invalidf("file %s: unsupported tar entry type %q; only regular files and directories are allowed", quote(name), flag)
}
