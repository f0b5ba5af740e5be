package upload

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

var checkPathTests = []struct {
	name    string
	path    string
	wantMsg string // "" means the path is accepted
}{
	{"simple", "main.py", ""},
	{"nested", "app/routers/items.py", ""},
	{"dotfile", ".env", ""},
	{"dots inside a name", "a..b/..c/d..", ""},
	{"spaces", "my app/main file.py", ""},
	{"unicode", "données/ファイル.txt", ""},
	{"colon not at drive position", "ab:c/d:e", ""},
	{"longest", strings.Repeat("a", MaxPathLen), ""},

	{"empty", "", "empty path"},
	{"absolute", "/etc/passwd", "must be relative"},
	{"root", "/", "must be relative"},
	{"drive", "C:/Windows/x", "drive letter"},
	{"drive lower case, no slash", "c:x", "drive letter"},
	{"dotdot alone", "..", `must not contain ".."`},
	{"dotdot first", "../x", `must not contain ".."`},
	{"dotdot inside", "a/../b", `must not contain ".."`},
	{"dotdot last", "a/..", `must not contain ".."`},
	{"dot alone", ".", `"." segments`},
	{"dot first", "./a", `"." segments`},
	{"dot inside", "a/./b", `"." segments`},
	{"empty segment", "a//b", "empty segments"},
	{"trailing slash", "a/", "must not end with /"},
	{"NUL", "a\x00b", "NUL byte"},
	{"backslash", `a\b`, "backslash"},
	{"backslash dotdot", `..\x`, "backslash"},
	{"invalid UTF-8", "a\xffb", "not valid UTF-8"},
	{"newline", "a\nb.py", "control characters"},
	{"carriage return", "main.py\r", "control characters"},
	{"tab", "a\tb", "control characters"},
	{"escape", "\x1b[31mred.py", "control characters"},
	{"DEL", "a\x7fb", "control characters"},
	{"C1 control", "a\u0085b", "control characters"},
	{"right-to-left override", "evil\u202Eyp.exe", "bidirectional controls"},
	{"left-to-right embedding", "a\u202Ab", "bidirectional controls"},
	{"first strong isolate", "a\u2068b", "bidirectional controls"},
	{"pop directional isolate", "a\u2069b", "bidirectional controls"},
	{"left-to-right mark", "a\u200Eb", "bidirectional controls"},
	{"right-to-left mark", "a\u200Fb", "bidirectional controls"},
	{"arabic letter mark", "a\u061Cb", "bidirectional controls"},
	{"too long", strings.Repeat("a", MaxPathLen+1), "longer than 1024 bytes"},
}

func TestCheckPath(t *testing.T) {
	for _, tt := range checkPathTests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPath(tt.path)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("CheckPath(%q) = %v, want nil", tt.path, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckPath(%q) = %v, want ErrInvalid", tt.path, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("CheckPath(%q) = %q, want it to mention %q", tt.path, err, tt.wantMsg)
			}
		})
	}
}

func TestCheckPathMessage(t *testing.T) {
	// The message goes to the client as it is: it names the path and the rule.
	err := CheckPath("../x")
	if got, want := err.Error(), `file "../x": path must not contain ".."`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// A hostile path must not make a hostile message.
	err = CheckPath("a" + strings.Repeat("é", 2000))
	if msg := err.Error(); len(msg) > 300 || strings.Contains(msg, `\x`) {
		t.Errorf("message for a 4001-byte path is %d bytes long or cuts a character: %s", len(msg), msg)
	}
}

func TestCheckPathEscapesControls(t *testing.T) {
	// The message names the path with its controls escaped, so it cannot
	// forge a line or reorder the text it is shown in.
	for p, want := range map[string]string{
		"a\nb.py":        `file "a\nb.py"`,
		"\x1b[2Jx":       `file "\x1b[2Jx"`,
		"evil\u202Eyp":   `file "evil\u202eyp"`,
		"a\u0085b":       `file "a\u0085b"`,
		"x\u2066y\u2069": `file "x\u2066y\u2069"`,
	} {
		err := CheckPath(p)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckPath(%q) = %v, want it to start with %s", p, err, want)
		}
		if strings.ContainsFunc(err.Error(), hasControlRune) {
			t.Errorf("CheckPath(%q): message %q carries a control character", p, err)
		}
	}
}

func hasControlRune(r rune) bool { return hasControl(string(r)) }

func FuzzCheckPath(f *testing.F) {
	for _, tt := range checkPathTests {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath(p)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckPath(%q) = %v, not ErrInvalid", p, err)
			}
			return
		}
		switch {
		case path.IsAbs(p), hasDrive(p):
			t.Errorf("accepted absolute path %q", p)
		case strings.ContainsAny(p, "\\\x00"):
			t.Errorf("accepted backslash or NUL in %q", p)
		case strings.ContainsFunc(p, hasControlRune):
			t.Errorf("accepted a control character in %q", p)
		case !utf8.ValidString(p), len(p) > MaxPathLen:
			t.Errorf("accepted invalid or long path %q", p)
		case path.Clean(p) != p:
			t.Errorf("accepted unclean path %q (clean: %q)", p, path.Clean(p))
		}
		for seg := range strings.SplitSeq(p, "/") {
			if seg == ".." {
				t.Errorf("accepted .. segment in %q", p)
			}
		}
	})
}
