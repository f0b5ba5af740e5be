package upload

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// format is what a body is, by Content-Type or by its first bytes.
type format int

const (
	formatUnknown format = iota
	formatZip
	formatTar
	formatGzip
	formatBzip2
	formatXz
	formatZstd
)

func (f format) String() string {
	switch f {
	case formatZip:
		return "a zip archive"
	case formatTar:
		return "a tar archive"
	case formatGzip:
		return "gzip-compressed data"
	case formatBzip2:
		return "bzip2-compressed data"
	case formatXz:
		return "xz-compressed data"
	case formatZstd:
		return "zstd-compressed data"
	}
	return "not a recognised archive"
}

// FromArchive reads a zip archive, a tar archive or a gzip-compressed tar
// archive from r and returns its regular files sorted by path.
//
// contentType is the request's Content-Type: "application/zip" or
// "application/x-zip-compressed" for zip, "application/x-tar" for tar, and
// "application/gzip", "application/x-gzip", "application/x-gtar" or
// "application/tar+gzip" for tar.gz. The body must start as that format
// does; a mismatch is refused with a message that says what the body is.
//
// Directory entries are skipped, as is macOS junk (anything under
// "__MACOSX/", ".DS_Store" files and "._" AppleDouble files). Leading "./" is
// removed from member names. When every file sits under one top-level
// directory, as when a folder is zipped, that directory is removed from the
// paths. Symbolic links, hard links, devices and FIFOs are refused.
//
// Limits are counted while reading. A zip body is read into memory (zip
// needs random access) and may itself be at most MaxBytes; the decompressed
// stream of a tar is cut off at a bound a little above MaxBytes, so an endless
// stream of directories or skipped entries ends too.
//
// Errors for a bad upload wrap ErrInvalid or ErrTooLarge. An error reading r
// is returned wrapped but with neither kind, so the caller can tell a broken
// connection, or an *http.MaxBytesError, from a bad upload.
func FromArchive(r io.Reader, contentType string, lim Limits) ([]File, error) {
	want, err := formatOf(contentType)
	if err != nil {
		return nil, err
	}
	body := &readRecorder{r: r}
	br := bufio.NewReader(body)
	// A short body is fine here: it is refused below as not the right format.
	head, _ := br.Peek(512)
	if body.err != nil {
		return nil, fmt.Errorf("read upload: %w", body.err)
	}
	if got := sniff(head); got != want && !(want == formatTar && got == formatUnknown) {
		// An unrecognised body labelled tar may still be an old-style tar
		// without the ustar magic; the tar reader decides.
		return nil, mismatch(got, want, contentType)
	}

	c := newCollector(lim)
	switch want {
	case formatZip:
		err = readZip(br, c)
	case formatTar:
		err = readTar(br, c, false)
	case formatGzip:
		err = readGzip(br, c)
	}
	if body.err != nil {
		// Whatever the readers made of it, the cause is the transport.
		return nil, fmt.Errorf("read upload: %w", body.err)
	}
	if err != nil {
		return nil, err
	}
	return c.result(true)
}

// formatOf maps a Content-Type to the archive format it announces.
func formatOf(contentType string) (format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Parameters we do not need may be malformed; the type itself decides.
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch mt {
	case "application/zip", "application/x-zip-compressed":
		return formatZip, nil
	case "application/x-tar":
		return formatTar, nil
	case "application/gzip", "application/x-gzip", "application/x-gtar", "application/tar+gzip":
		return formatGzip, nil
	}
	return formatUnknown, invalidf("unsupported Content-Type %s; send application/zip, application/x-tar or application/gzip", quote(contentType))
}

// sniff identifies a body by its magic bytes.
func sniff(head []byte) format {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return formatZip
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return formatGzip
	case bytes.HasPrefix(head, []byte("BZh")):
		return formatBzip2
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return formatXz
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return formatZstd
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return formatTar
	}
	return formatUnknown
}

// mismatch explains a body that is not what its Content-Type says.
func mismatch(got, want format, contentType string) error {
	ct := quote(contentType)
	switch got {
	case formatZip:
		return invalidf("the body is a zip archive but Content-Type is %s; send it as application/zip", ct)
	case formatTar:
		return invalidf("the body is a tar archive but Content-Type is %s; send it as application/x-tar", ct)
	case formatGzip:
		return invalidf("the body is gzip-compressed but Content-Type is %s; send a .tar.gz as application/gzip", ct)
	case formatBzip2, formatXz, formatZstd:
		return invalidf("the body is %s, which is not supported; send a zip, a tar or a tar.gz", got)
	}
	return invalidf("the body is not %s as Content-Type %s says", want, ct)
}

// memberName removes the leading "./" that `tar -C dir .` puts on every name.
func memberName(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	return name
}

// isJunk reports files that macOS adds to archives and nobody means to upload.
func isJunk(name string) bool {
	if name == "__MACOSX" || strings.HasPrefix(name, "__MACOSX/") {
		return true
	}
	base := name[strings.LastIndexByte(name, '/')+1:]
	return base == ".DS_Store" || strings.HasPrefix(base, "._")
}

// isCorruptCompression reports errors that mean the compressed data is bad,
// as opposed to the archive inside it.
func isCorruptCompression(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader)
}

// readRecorder remembers the first error of the underlying reader, so that a
// failed read of the request body is not reported as a corrupt archive.
type readRecorder struct {
	r   io.Reader
	err error
}

func (r *readRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// errOverCap is what capReader returns past its cap.
var errOverCap = errors.New("stream over its cap")

// capReader ends a stream after n bytes and records that it did, so that a
// stream cut off for size is told apart from a truncated one.
type capReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.over = true
		return 0, errOverCap
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}
