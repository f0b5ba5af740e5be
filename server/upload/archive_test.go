package upload

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io/fs"
	"math"
	"strings"
	"testing"
)

const (
	ctZip   = "application/zip"
	ctTar   = "application/x-tar"
	ctGzip  = "application/gzip"
	crcText = "hello"
)

func TestFromArchive(t *testing.T) {
	small := Limits{MaxFiles: 3, MaxBytes: 10}
	helloCRC := crc32.ChecksumIEEE([]byte(crcText))
	tarGz := makeTarGz(t, reg("main.py", "x"), reg("app/y.py", "y"))
	badCRC := bytes.Clone(tarGz)
	badCRC[len(badCRC)-8] ^= 0xff // the gzip trailer starts with the CRC-32

	tests := []struct {
		name    string
		ct      string
		body    []byte
		lim     Limits
		want    []File
		wantErr error
		wantMsg string
	}{
		// Good archives.
		{
			name: "zip",
			ct:   ctZip,
			body: makeZip(t, reg("main.py", "print(1)"), dir("app/"), reg("app/x.py", "x")),
			want: files("app/x.py", "x", "main.py", "print(1)"),
		},
		{
			name: "tar",
			ct:   ctTar,
			body: makeTar(t, reg("main.py", "print(1)"), dir("app/"), reg("app/x.py", "x")),
			want: files("app/x.py", "x", "main.py", "print(1)"),
		},
		{
			name: "tar.gz",
			ct:   ctGzip,
			body: tarGz,
			want: files("app/y.py", "y", "main.py", "x"),
		},
		{
			name: "zipped folder: common top directory stripped",
			ct:   ctZip,
			body: makeZip(t, dir("myapp/"), reg("myapp/main.py", "m"), dir("myapp/routers/"), reg("myapp/routers/x.py", "x")),
			want: files("main.py", "m", "routers/x.py", "x"),
		},
		{
			name: "tarred folder: common top directory stripped",
			ct:   ctGzip,
			body: makeTarGz(t, dir("myapp/"), reg("myapp/main.py", "m"), reg("myapp/routers/x.py", "x")),
			want: files("main.py", "m", "routers/x.py", "x"),
		},
		{
			name: "only one level is stripped",
			ct:   ctTar,
			body: makeTar(t, reg("a/b/c.py", "c")),
			want: files("b/c.py", "c"),
		},
		{
			name: "no strip when a file sits at the top",
			ct:   ctZip,
			body: makeZip(t, reg("myapp/main.py", "m"), reg("README.md", "r")),
			want: files("README.md", "r", "myapp/main.py", "m"),
		},
		{
			name: "a Python package at the top is kept, not stripped",
			ct:   ctZip,
			body: makeZip(t, dir("app/"), reg("app/__init__.py", ""), reg("app/main.py", "m"), reg("app/routers/items.py", "i")),
			want: files("app/__init__.py", "", "app/main.py", "m", "app/routers/items.py", "i"),
		},
		{
			name: "no strip across two top directories",
			ct:   ctZip,
			body: makeZip(t, reg("a/x", "1"), reg("b/y", "2")),
			want: files("a/x", "1", "b/y", "2"),
		},
		{
			name: "tar -C dir . names",
			ct:   ctTar,
			body: makeTar(t, dir("./"), reg("./main.py", "m"), dir("./app/"), reg("./app/x.py", "x")),
			want: files("app/x.py", "x", "main.py", "m"),
		},
		{
			name: "./ names of one folder are stripped too",
			ct:   ctTar,
			body: makeTar(t, dir("./"), dir("./myapp/"), reg("./myapp/main.py", "m")),
			want: files("main.py", "m"),
		},
		{
			name: "macOS junk skipped, then folder stripped",
			ct:   ctZip,
			body: makeZip(t,
				dir("myapp/"), reg("myapp/main.py", "m"), reg("myapp/.DS_Store", "junk"), reg("myapp/._main.py", "junk"),
				dir("__MACOSX/"), dir("__MACOSX/myapp/"), reg("__MACOSX/myapp/._main.py", "junk"), reg("._myapp", "junk")),
			want: files("main.py", "m"),
		},
		{
			name: "pax global header skipped",
			ct:   ctTar,
			body: makeTar(t, member{name: "pax_global_header", typ: tar.TypeXGlobalHeader, body: "git commit id"}, reg("main.py", "m")),
			want: files("main.py", "m"),
		},
		{
			name: "directories and junk do not count as files",
			ct:   ctTar,
			body: makeTar(t, dir("a/"), dir("b/"), dir("c/"), dir("d/"), reg(".DS_Store", "j"), reg("a/1", ""), reg("b/2", ""), reg("c/3", "")),
			lim:  small,
			want: files("a/1", "", "b/2", "", "c/3", ""),
		},
		{
			name: "Content-Type parameters and case are ignored",
			ct:   "Application/ZIP; charset=binary",
			body: makeZip(t, reg("a", "1")),
			want: files("a", "1"),
		},
		{
			name: "huge limits do not overflow",
			ct:   ctTar,
			body: makeTar(t, reg("a", "1")),
			lim:  Limits{MaxFiles: math.MaxInt, MaxBytes: math.MaxInt64},
			want: files("a", "1"),
		},
		{
			name:    "empty tar",
			ct:      ctTar,
			body:    makeTar(t),
			wantErr: ErrInvalid, wantMsg: "no files",
		},

		// Forbidden entries.
		{name: "zip symlink", ct: ctZip, body: makeZip(t, reg("a", "1"), member{name: "link", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}), wantErr: ErrInvalid, wantMsg: `file "link": symbolic links are not allowed`},
		{name: "zip device", ct: ctZip, body: makeZip(t, member{name: "dev", mode: fs.ModeDevice | fs.ModeCharDevice | 0o600}), wantErr: ErrInvalid, wantMsg: "device files"},
		{name: "zip FIFO", ct: ctZip, body: makeZip(t, member{name: "fifo", mode: fs.ModeNamedPipe | 0o600}), wantErr: ErrInvalid, wantMsg: "FIFOs"},
		{name: "zip socket", ct: ctZip, body: makeZip(t, member{name: "sock", mode: fs.ModeSocket | 0o600}), wantErr: ErrInvalid, wantMsg: "only regular files"},
		{name: "tar symlink", ct: ctTar, body: makeTar(t, member{name: "link", typ: tar.TypeSymlink, link: "/etc/passwd"}), wantErr: ErrInvalid, wantMsg: `file "link": symbolic links`},
		{name: "tar hard link", ct: ctTar, body: makeTar(t, reg("a", "1"), member{name: "b", typ: tar.TypeLink, link: "a"}), wantErr: ErrInvalid, wantMsg: "hard links"},
		{name: "tar char device", ct: ctTar, body: makeTar(t, member{name: "null", typ: tar.TypeChar}), wantErr: ErrInvalid, wantMsg: "device files"},
		{name: "tar block device", ct: ctTar, body: makeTar(t, member{name: "sda", typ: tar.TypeBlock}), wantErr: ErrInvalid, wantMsg: "device files"},
		{name: "tar FIFO", ct: ctTar, body: makeTar(t, member{name: "fifo", typ: tar.TypeFifo}), wantErr: ErrInvalid, wantMsg: "FIFOs"},
		{name: "tar unknown type", ct: ctTar, body: makeTar(t, member{name: "x", typ: 'Z'}), wantErr: ErrInvalid, wantMsg: `unsupported tar entry type 'Z'`},
		{name: "tar.gz symlink", ct: ctGzip, body: makeTarGz(t, member{name: "link", typ: tar.TypeSymlink, link: "../../x"}), wantErr: ErrInvalid, wantMsg: "symbolic links"},

		// Bad paths.
		{name: "zip dotdot", ct: ctZip, body: makeZip(t, reg("../x", "1")), wantErr: ErrInvalid, wantMsg: `file "../x": path must not contain ".."`},
		{name: "tar dotdot after ./", ct: ctTar, body: makeTar(t, reg("./../x", "1")), wantErr: ErrInvalid, wantMsg: `file "../x"`},
		{name: "zip absolute", ct: ctZip, body: makeZip(t, reg("/etc/cron.d/x", "1")), wantErr: ErrInvalid, wantMsg: "must be relative"},
		{name: "tar absolute", ct: ctTar, body: makeTar(t, reg("/etc/cron.d/x", "1")), wantErr: ErrInvalid, wantMsg: "must be relative"},
		{name: "zip backslash", ct: ctZip, body: makeZip(t, reg(`app\main.py`, "1")), wantErr: ErrInvalid, wantMsg: "backslash"},
		{name: "zip drive", ct: ctZip, body: makeZip(t, reg("C:/x", "1")), wantErr: ErrInvalid, wantMsg: "drive letter"},
		{name: "zip NUL", ct: ctZip, body: makeZip(t, reg("a\x00b", "1")), wantErr: ErrInvalid, wantMsg: "NUL"},
		{name: "zip newline", ct: ctZip, body: makeZip(t, reg("a\nb.py", "1")), wantErr: ErrInvalid, wantMsg: `file "a\nb.py": path must not contain control characters`},
		{name: "tar escape", ct: ctTar, body: makeTar(t, reg("\x1b]0;x\a.py", "1")), wantErr: ErrInvalid, wantMsg: `file "\x1b]0;x\a.py": path must not contain control characters`},
		{name: "tar.gz right-to-left override", ct: ctGzip, body: makeTarGz(t, reg("app/evil\u202Eyp.sj", "1")), wantErr: ErrInvalid, wantMsg: `file "app/evil\u202eyp.sj": path must not contain control characters or bidirectional controls`},
		{name: "zip invalid UTF-8", ct: ctZip, body: makeZip(t, reg("caf\xe9.py", "1")), wantErr: ErrInvalid, wantMsg: "UTF-8"},
		{name: "tar long path", ct: ctTar, body: makeTar(t, reg(strings.Repeat("d/", 512)+"x", "1")), wantErr: ErrInvalid, wantMsg: "longer than 1024"},
		{name: "zip empty segment", ct: ctZip, body: makeZip(t, reg("a//b", "1")), wantErr: ErrInvalid, wantMsg: "empty segments"},
		{name: "zip duplicate", ct: ctZip, body: makeZip(t, reg("a", "1"), reg("a", "2")), wantErr: ErrInvalid, wantMsg: `file "a": appears twice`},
		{name: "tar duplicate via ./", ct: ctTar, body: makeTar(t, reg("./a", "1"), reg("a", "2")), wantErr: ErrInvalid, wantMsg: "appears twice"},
		{name: "tar file and directory", ct: ctTar, body: makeTar(t, reg("a", "1"), reg("a/b", "2")), wantErr: ErrInvalid, wantMsg: "cannot be a directory"},
		{name: "zip only directories", ct: ctZip, body: makeZip(t, dir("a/"), dir("a/b/")), wantErr: ErrInvalid, wantMsg: "no files"},
		{name: "zip only junk", ct: ctZip, body: makeZip(t, reg(".DS_Store", "j"), reg("__MACOSX/._a", "j")), wantErr: ErrInvalid, wantMsg: "no files"},

		// Corrupt archives.
		{name: "zip garbage after magic", ct: ctZip, body: []byte("PK\x03\x04 and then nothing that makes sense"), wantErr: ErrInvalid, wantMsg: "not a valid zip archive"},
		{
			name:    "zip CRC mismatch",
			ct:      ctZip,
			body:    makeRawZip(t, &zip.FileHeader{Name: "a", Method: zip.Store, CRC32: helloCRC, CompressedSize64: 5, UncompressedSize64: 5}, []byte("hellO")),
			wantErr: ErrInvalid, wantMsg: `file "a": compressed data is corrupt`,
		},
		{
			name:    "zip unsupported method",
			ct:      ctZip,
			body:    makeRawZip(t, &zip.FileHeader{Name: "a", Method: 12, CRC32: helloCRC, CompressedSize64: 5, UncompressedSize64: 5}, []byte(crcText)),
			wantErr: ErrInvalid, wantMsg: "unsupported compression method 12",
		},
		{
			name:    "zip encrypted",
			ct:      ctZip,
			body:    makeRawZip(t, &zip.FileHeader{Name: "a", Method: zip.Store, Flags: 0x1, CRC32: helloCRC, CompressedSize64: 5, UncompressedSize64: 5}, []byte(crcText)),
			wantErr: ErrInvalid, wantMsg: "encrypted",
		},
		{name: "tar truncated", ct: ctTar, body: makeTar(t, reg("a", strings.Repeat("x", 1000)))[:700], wantErr: ErrInvalid, wantMsg: "truncated"},
		{name: "tar too short", ct: ctTar, body: []byte("hello"), wantErr: ErrInvalid, wantMsg: "not a valid tar archive"},
		{name: "tar garbage", ct: ctTar, body: bytes.Repeat([]byte("not a tar "), 200), wantErr: ErrInvalid, wantMsg: "not a valid tar archive"},
		{name: "gzip truncated", ct: ctGzip, body: tarGz[:len(tarGz)/2], wantErr: ErrInvalid, wantMsg: "truncated"},
		{name: "gzip bad header", ct: ctGzip, body: []byte("\x1f\x8b\x00 not really gzip"), wantErr: ErrInvalid, wantMsg: "gzip data is corrupt"},
		{name: "gzip bad checksum", ct: ctGzip, body: badCRC, wantErr: ErrInvalid, wantMsg: "gzip data is corrupt"},
		{name: "gzip of a zip", ct: ctGzip, body: gzipBytes(t, makeZip(t, reg("a", "1"))), wantErr: ErrInvalid, wantMsg: "holds a zip archive, not a tar archive"},

		// Limits.
		{name: "zip too many files", ct: ctZip, body: makeZip(t, reg("a", ""), reg("b", ""), reg("c", ""), reg("d", "")), lim: Limits{MaxFiles: 3, MaxBytes: 1 << 20}, wantErr: ErrTooLarge, wantMsg: "more than 3 files"},
		{name: "tar too many files", ct: ctTar, body: makeTar(t, reg("a", ""), reg("b", ""), reg("c", ""), reg("d", "")), lim: small, wantErr: ErrTooLarge, wantMsg: "more than 3 files"},
		{
			// The body fits in MaxBytes; what it decompresses to does not.
			name: "zip too many bytes", ct: ctZip,
			body:    makeZip(t, reg("a", strings.Repeat("x", 200)), reg("b", strings.Repeat("x", 200))),
			lim:     Limits{MaxFiles: 3, MaxBytes: 350},
			wantErr: ErrTooLarge, wantMsg: `file "b": files add up to more than 350 bytes`,
		},
		{name: "tar too many bytes", ct: ctTar, body: makeTar(t, reg("a", "123456"), reg("b", "123456")), lim: small, wantErr: ErrTooLarge, wantMsg: `file "b": files add up to more than 10 bytes`},
		{name: "zip body over MaxBytes", ct: ctZip, body: makeZip(t, reg("a", "1")), lim: small, wantErr: ErrTooLarge, wantMsg: "zip archive is larger than 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromArchive(bytes.NewReader(tt.body), tt.ct, tt.lim)
			checkResult(t, got, err, tt.want, tt.wantErr, tt.wantMsg)
		})
	}
}
