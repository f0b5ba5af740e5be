package upload

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestFromArchiveContentType(t *testing.T) {
	zipBody := makeZip(t, reg("a", "1"))
	tarBody := makeTar(t, reg("a", "1"))
	gzBody := makeTarGz(t, reg("a", "1"))
	tests := []struct {
		ct      string
		body    []byte
		wantMsg string // "" means accepted
	}{
		{"application/zip", zipBody, ""},
		{"application/x-zip-compressed", zipBody, ""},
		{"application/x-tar", tarBody, ""},
		{"application/gzip", gzBody, ""},
		{"application/x-gzip", gzBody, ""},
		{"application/x-gtar", gzBody, ""},
		{"application/tar+gzip", gzBody, ""},
		{"application/zip;", zipBody, ""}, // malformed parameters

		{"application/zip", gzBody, "the body is gzip-compressed but Content-Type is \"application/zip\""},
		{"application/zip", tarBody, "the body is a tar archive"},
		{"application/x-tar", zipBody, "the body is a zip archive"},
		{"application/x-tar", gzBody, "send a .tar.gz as application/gzip"},
		{"application/gzip", tarBody, "send it as application/x-tar"},
		{"application/gzip", zipBody, "send it as application/zip"},
		{"application/gzip", []byte("plain text"), "the body is not gzip-compressed data"},
		{"application/zip", nil, "the body is not a zip archive"},
		{"application/x-tar", []byte("\xfd7zXZ\x00\x00"), "xz-compressed data, which is not supported"},
		{"application/gzip", []byte("BZh91AY&SY"), "bzip2-compressed data, which is not supported"},
		{"application/zip", []byte{0x28, 0xb5, 0x2f, 0xfd, 0}, "zstd-compressed data, which is not supported"},
		{"text/plain", zipBody, "unsupported Content-Type \"text/plain\""},
		{"", zipBody, "unsupported Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			got, err := FromArchive(bytes.NewReader(tt.body), tt.ct, Limits{})
			if tt.wantMsg == "" {
				if err != nil || len(got) != 1 {
					t.Fatalf("got %d files, err %v; want 1 file", len(got), err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.wantMsg)
			}
		})
	}
}

// failingReader yields some bytes, then fails as a dropped connection would.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestFromArchiveReadError(t *testing.T) {
	errConn := errors.New("connection reset")
	// Incompressible and longer than any read-ahead buffer, so the failure
	// is met inside the archive, not while sniffing its first bytes.
	noise := make([]byte, 64<<10)
	_, _ = rand.NewChaCha8([32]byte{}).Read(noise)
	big := string(noise)
	tarBody := makeTar(t, reg("a", big), reg("b", big))
	zipBody := makeZip(t, reg("a", big))
	gzBody := makeTarGz(t, reg("a", big), reg("b", big))
	tests := []struct {
		name string
		ct   string
		data []byte
	}{
		{"before the first byte", ctZip, nil},
		{"inside a zip", ctZip, zipBody[:len(zipBody)/2]},
		{"inside a tar", ctTar, tarBody[:len(tarBody)/2]},
		{"inside a tar.gz", ctGzip, gzBody[:len(gzBody)/2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromArchive(&failingReader{data: tt.data, err: errConn}, tt.ct, Limits{})
			if !errors.Is(err, errConn) {
				t.Fatalf("err = %v, want it to wrap the read error", err)
			}
			if errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) {
				t.Errorf("err = %v: a transport failure is not a bad upload", err)
			}
		})
	}
}
