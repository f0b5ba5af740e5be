package upload

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestFromJSON(t *testing.T) {
	small := Limits{MaxFiles: 3, MaxBytes: 10}
	tests := []struct {
		name    string
		files   []JSONFile
		lim     Limits
		want    []File
		wantErr error
		wantMsg string
	}{
		{
			name: "text and base64, sorted by path",
			files: []JSONFile{
				{Path: "static/logo.png", Content: "iVBORw==", Encoding: "base64"},
				{Path: "main.py", Content: "print(1)\n"},
				{Path: "app/x.py", Content: "x", Encoding: "utf-8"},
			},
			want: []File{
				{Path: "app/x.py", Content: []byte("x")},
				{Path: "main.py", Content: []byte("print(1)\n")},
				{Path: "static/logo.png", Content: []byte{0x89, 'P', 'N', 'G'}},
			},
		},
		{
			name:  "encoding case is ignored",
			files: []JSONFile{{Path: "a", Content: "QQ==", Encoding: "BASE64"}, {Path: "b", Content: "b", Encoding: "UTF-8"}},
			want:  []File{{Path: "a", Content: []byte("A")}, {Path: "b", Content: []byte("b")}},
		},
		{
			name:  "base64 without padding",
			files: []JSONFile{{Path: "a", Content: "QQ", Encoding: "base64"}},
			want:  []File{{Path: "a", Content: []byte("A")}},
		},
		{
			name:  "base64 wrapped at 76 columns",
			files: []JSONFile{{Path: "a", Content: "QUJD\nREVG\n", Encoding: "base64"}},
			want:  []File{{Path: "a", Content: []byte("ABCDEF")}},
		},
		{
			name:  "empty content",
			files: []JSONFile{{Path: "app/__init__.py"}},
			want:  []File{{Path: "app/__init__.py", Content: []byte{}}},
		},
		{
			name:  "no common prefix is stripped from JSON",
			files: []JSONFile{{Path: "myapp/main.py", Content: "x"}},
			want:  []File{{Path: "myapp/main.py", Content: []byte("x")}},
		},
		{
			name:  "exactly at the limits",
			files: []JSONFile{{Path: "a", Content: "12345"}, {Path: "b", Content: "MTIzNDU=", Encoding: "base64"}},
			lim:   Limits{MaxFiles: 2, MaxBytes: 10},
			want:  []File{{Path: "a", Content: []byte("12345")}, {Path: "b", Content: []byte("12345")}},
		},
		{
			// The limit is on decoded bytes: the 16 base64 characters are 12 bytes.
			name:  "limit counts decoded bytes",
			files: []JSONFile{{Path: "a", Content: "MTIzNDU2Nzg5MDEy", Encoding: "base64"}},
			lim:   Limits{MaxFiles: 1, MaxBytes: 12},
			want:  []File{{Path: "a", Content: []byte("123456789012")}},
		},

		{name: "no files", files: nil, wantErr: ErrInvalid, wantMsg: "no files"},
		{name: "empty path", files: []JSONFile{{Path: ""}}, wantErr: ErrInvalid, wantMsg: "empty path"},
		{name: "absolute", files: []JSONFile{{Path: "/etc/passwd"}}, wantErr: ErrInvalid, wantMsg: `file "/etc/passwd": path must be relative`},
		{name: "drive letter", files: []JSONFile{{Path: "C:/x"}}, wantErr: ErrInvalid, wantMsg: "drive letter"},
		{name: "dotdot", files: []JSONFile{{Path: "../x"}}, wantErr: ErrInvalid, wantMsg: `file "../x": path must not contain ".."`},
		{name: "dot segment", files: []JSONFile{{Path: "./x"}}, wantErr: ErrInvalid, wantMsg: `"." segments`},
		{name: "empty segment", files: []JSONFile{{Path: "a//b"}}, wantErr: ErrInvalid, wantMsg: "empty segments"},
		{name: "trailing slash", files: []JSONFile{{Path: "a/"}}, wantErr: ErrInvalid, wantMsg: "end with /"},
		{name: "NUL", files: []JSONFile{{Path: "a\x00"}}, wantErr: ErrInvalid, wantMsg: "NUL"},
		{name: "backslash", files: []JSONFile{{Path: `a\b`}}, wantErr: ErrInvalid, wantMsg: "backslash"},
		{name: "invalid UTF-8", files: []JSONFile{{Path: "\xc3\x28"}}, wantErr: ErrInvalid, wantMsg: "UTF-8"},
		{name: "too long", files: []JSONFile{{Path: strings.Repeat("x/", 600)}}, wantErr: ErrInvalid, wantMsg: "longer than"},
		{
			name:    "duplicate",
			files:   []JSONFile{{Path: "a.py"}, {Path: "b.py"}, {Path: "a.py"}},
			wantErr: ErrInvalid, wantMsg: `file "a.py": appears twice`,
		},
		{
			name:    "file then directory",
			files:   []JSONFile{{Path: "a"}, {Path: "a/b"}},
			wantErr: ErrInvalid, wantMsg: `"a" is a file, so it cannot be a directory`,
		},
		{
			name:    "directory then file",
			files:   []JSONFile{{Path: "a/b/c"}, {Path: "a/b"}},
			wantErr: ErrInvalid, wantMsg: `file "a/b": path is also used as a directory`,
		},
		{
			name:    "bad base64",
			files:   []JSONFile{{Path: "a", Content: "not base64!", Encoding: "base64"}},
			wantErr: ErrInvalid, wantMsg: `file "a": content is not valid base64`,
		},
		{
			name:    "unknown encoding",
			files:   []JSONFile{{Path: "a", Content: "x", Encoding: "hex"}},
			wantErr: ErrInvalid, wantMsg: `unknown encoding "hex"`,
		},
		{
			name:    "too many files",
			files:   []JSONFile{{Path: "a"}, {Path: "b"}, {Path: "c"}, {Path: "d"}},
			lim:     small,
			wantErr: ErrTooLarge, wantMsg: "more than 3",
		},
		{
			name:    "too many bytes in text",
			files:   []JSONFile{{Path: "a", Content: "123456"}, {Path: "b", Content: "12345"}},
			lim:     small,
			wantErr: ErrTooLarge, wantMsg: `file "b": files add up to more than 10 bytes`,
		},
		{
			name:    "too many bytes in base64",
			files:   []JSONFile{{Path: "a", Content: "MTIzNDU2Nzg5MDE=", Encoding: "base64"}},
			lim:     small,
			wantErr: ErrTooLarge, wantMsg: "more than 10 bytes",
		},
		{
			name:    "default limits apply to the zero Limits",
			files:   manyJSONFiles(DefaultMaxFiles + 1),
			wantErr: ErrTooLarge, wantMsg: "more than 2000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromJSON(tt.files, tt.lim)
			checkResult(t, got, err, tt.want, tt.wantErr, tt.wantMsg)
		})
	}
}

func manyJSONFiles(n int) []JSONFile {
	files := make([]JSONFile, n)
	for i := range files {
		files[i] = JSONFile{Path: strings.Repeat("d/", i%5) + "f" + strings.Repeat("x", i)}
	}
	return files
}

// checkResult compares a result with the files or the error a case expects.
func checkResult(t *testing.T, got []File, err error, want []File, wantErr error, wantMsg string) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
		if !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("err = %q, want it to contain %q", err, wantMsg)
		}
		if got != nil {
			t.Errorf("got %d files with an error", len(got))
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
	eq := func(a, b File) bool { return a.Path == b.Path && string(a.Content) == string(b.Content) }
	if !slices.EqualFunc(got, want, eq) {
		t.Errorf("files:\n got %s\nwant %s", describeFiles(got), describeFiles(want))
	}
}

func describeFiles(files []File) string {
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.Path + "=" + strings.ReplaceAll(string(f.Content), "\n", `\n`) + " ")
	}
	return b.String()
}
