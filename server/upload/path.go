package upload

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPathLen is the longest accepted path, in bytes.
const MaxPathLen = 1024

// CheckPath reports whether p may name a file of a generation. An accepted
// path is relative, slash-separated, valid UTF-8, at most MaxPathLen bytes,
// and already clean: path.Clean(p) == p, so no "", "." or ".." segment and no
// trailing slash. Backslashes and drive letters are refused too, because the
// files may be written out on a system that reads them as separators or roots.
// So are control characters and bidirectional controls: a newline or an
// escape sequence in a path forges lines in logs and terminals, and U+202E
// and its kin show a name that is not the one stored ("exe.py" read as
// "yp.exe"). The error wraps ErrInvalid and names the path, escaped.
func CheckPath(p string) error {
	switch {
	case p == "":
		return invalidf("a file has an empty path")
	case !utf8.ValidString(p):
		return invalidf("file %s: path is not valid UTF-8", quote(p))
	case len(p) > MaxPathLen:
		return invalidf("file %s: path is longer than %d bytes", quote(p), MaxPathLen)
	case strings.IndexByte(p, 0) >= 0:
		return invalidf("file %s: path must not contain a NUL byte", quote(p))
	case hasControl(p):
		return invalidf("file %s: path must not contain control characters or bidirectional controls", quote(p))
	case strings.IndexByte(p, '\\') >= 0:
		return invalidf("file %s: path must not contain a backslash; use / between directories", quote(p))
	case p[0] == '/':
		return invalidf("file %s: path must be relative, not start with /", quote(p))
	case hasDrive(p):
		return invalidf("file %s: path must be relative, not start with a drive letter", quote(p))
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "..":
			return invalidf("file %s: path must not contain \"..\"", quote(p))
		case ".":
			return invalidf("file %s: path must not contain \".\" segments", quote(p))
		case "":
			if strings.HasSuffix(p, "/") {
				return invalidf("file %s: path must not end with /", quote(p))
			}
			return invalidf("file %s: path must not contain empty segments (//)", quote(p))
		}
	}
	return nil
}

// hasControl reports whether p has a C0 or C1 control character, DEL, or a
// Unicode bidirectional control (U+061C, U+200E, U+200F, U+202A–U+202E,
// U+2066–U+2069).
func hasControl(p string) bool {
	for _, r := range p {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return true
		}
	}
	return false
}

// hasDrive reports a Windows drive prefix such as "C:".
func hasDrive(p string) bool {
	if len(p) < 2 || p[1] != ':' {
		return false
	}
	c := p[0] | 0x20 // ASCII lower case
	return 'a' <= c && c <= 'z'
}
