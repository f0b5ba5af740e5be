// Package upload turns an uploaded generation — a JSON list of files or a
// zip, tar or gzip-compressed tar archive — into a validated, sorted list of
// files. Every limit is counted while reading, never taken from sizes an
// archive declares, so a zip bomb or an endless tar stream is cut off as soon
// as it crosses a limit.
package upload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Defaults of the API contract, used where a Limits field is not set.
const (
	// DefaultMaxFiles is the default of PREVIEW_MAX_FILES.
	DefaultMaxFiles = 2000
	// DefaultMaxBytes is the default of PREVIEW_MAX_UPLOAD_BYTES: 20 MiB.
	DefaultMaxBytes int64 = 20 << 20
)

// Limits bound one upload. A zero or negative field means its default
// (DefaultMaxFiles, DefaultMaxBytes), so the zero Limits is usable.
type Limits struct {
	// MaxFiles is the largest number of files; directories and skipped
	// macOS junk do not count.
	MaxFiles int
	// MaxBytes bounds the sum of the decoded file contents. A zip body may
	// not be larger than this either.
	MaxBytes int64
}

// withDefaults fills unset fields. It also caps absurd values, far beyond
// anything one request can carry, so that the sums built from the limits
// (see rawTarLimit) cannot overflow.
func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	l.MaxFiles = min(l.MaxFiles, 1<<30)
	l.MaxBytes = min(l.MaxBytes, 1<<50)
	return l
}

// File is one validated file of a generation.
type File struct {
	// Path is relative, slash-separated and clean (see CheckPath).
	Path string
	// Content is the decoded content.
	Content []byte
}

// Error kinds. Every error this package returns for a bad upload wraps
// exactly one of them; the server maps them to HTTP answers.
var (
	// ErrInvalid marks an upload that breaks a rule (400/422 invalid_request).
	ErrInvalid = errors.New("invalid upload")
	// ErrTooLarge marks an upload over a limit (413 payload_too_large).
	ErrTooLarge = errors.New("upload too large")
)

// kindError is a message meant for the person who uploaded, plus the kind
// that decides the HTTP status. It is used instead of
// fmt.Errorf("...: %w", ErrInvalid) because the message is shown to the
// client verbatim, and a trailing ": invalid upload" would add nothing to it.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &kindError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

func tooLargef(format string, args ...any) error {
	return &kindError{kind: ErrTooLarge, msg: fmt.Sprintf(format, args...)}
}

// quote renders a path for an error message. Long paths are cut so that a
// hostile 1 MiB name does not become a 1 MiB error message.
func quote(p string) string {
	const maxLen = 80
	if len(p) <= maxLen {
		return fmt.Sprintf("%q", p)
	}
	cut := maxLen
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", p[:cut])
}

// collector gathers validated files and enforces the limits and the
// uniqueness rules as each file arrives, so a bad upload fails at the first
// offending file rather than after everything has been read.
type collector struct {
	lim   Limits
	files []File
	total int64
	paths map[string]bool // paths of files
	dirs  map[string]bool // every proper prefix of a file path
}

func newCollector(lim Limits) *collector {
	return &collector{lim: lim.withDefaults(), paths: map[string]bool{}, dirs: map[string]bool{}}
}

// claim validates p and reserves it for a file: it counts the file against
// MaxFiles and rejects a path already used as a file or a directory. Call it
// before reading the content, so nothing is read for a file that is refused.
func (c *collector) claim(p string) error {
	if err := CheckPath(p); err != nil {
		return err
	}
	if len(c.files)+1 > c.lim.MaxFiles {
		return tooLargef("more than %d files", c.lim.MaxFiles)
	}
	if c.paths[p] {
		return invalidf("file %s: appears twice", quote(p))
	}
	if c.dirs[p] {
		return invalidf("file %s: path is also used as a directory", quote(p))
	}
	for i := range len(p) {
		if p[i] != '/' {
			continue
		}
		dir := p[:i]
		if c.paths[dir] {
			return invalidf("file %s: %s is a file, so it cannot be a directory", quote(p), quote(dir))
		}
		c.dirs[dir] = true
	}
	c.paths[p] = true
	return nil
}

// remaining is how many more content bytes fit under MaxBytes.
func (c *collector) remaining() int64 { return c.lim.MaxBytes - c.total }

// addBytes stores the content of a claimed path.
func (c *collector) addBytes(p string, content []byte) error {
	if int64(len(content)) > c.remaining() {
		return c.tooManyBytes(p)
	}
	c.total += int64(len(content))
	c.files = append(c.files, File{Path: p, Content: content})
	return nil
}

// addReader reads the content of a claimed path, reading at most one byte
// more than fits so that an oversized member is detected without reading it.
// Read errors are returned as they are; the caller knows what they mean.
func (c *collector) addReader(p string, r io.Reader) error {
	content, err := io.ReadAll(io.LimitReader(r, c.remaining()+1))
	if err != nil {
		return err
	}
	if cap(content)-len(content) > len(content)/8+64 {
		// ReadAll leaves up to half of its buffer unused; kept for every
		// file, that would make MaxBytes of files cost twice the memory.
		content = bytes.Clone(content)
	}
	return c.addBytes(p, content)
}

func (c *collector) tooManyBytes(p string) error {
	return tooLargef("file %s: files add up to more than %d bytes", quote(p), c.lim.MaxBytes)
}

// result returns the files sorted by path; with stripTop it first removes a
// top-level directory that holds every file, which is how people zip a folder.
// A top directory with an __init__.py is kept: it is the app's Python package
// (FastAPI's app/main.py layout, with relative imports), not a wrapper.
func (c *collector) result(stripTop bool) ([]File, error) {
	if len(c.files) == 0 {
		return nil, invalidf("no files")
	}
	if stripTop {
		if top, ok := commonTop(c.files); ok && !slices.ContainsFunc(c.files, func(f File) bool { return f.Path == top+"/__init__.py" }) {
			for i := range c.files {
				c.files[i].Path = c.files[i].Path[len(top)+1:]
			}
		}
	}
	slices.SortFunc(c.files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return c.files, nil
}

// commonTop reports the first path segment when every file sits below it.
func commonTop(files []File) (string, bool) {
	top, _, ok := strings.Cut(files[0].Path, "/")
	if !ok {
		return "", false
	}
	for _, f := range files[1:] {
		if t, _, ok := strings.Cut(f.Path, "/"); !ok || t != top {
			return "", false
		}
	}
	return top, true
}

// Check validates a complete file set made from files already accepted one
// by one (a generation's files with a patch applied) by the rules of an
// upload: paths, MaxFiles, MaxBytes, a path used as both a file and a
// directory, at least one file. It returns the files sorted by path.
func Check(files []File, lim Limits) ([]File, error) {
	c := newCollector(lim)
	for _, f := range files {
		if err := c.claim(f.Path); err != nil {
			return nil, err
		}
		if err := c.addBytes(f.Path, f.Content); err != nil {
			return nil, err
		}
	}
	return c.result(false)
}
