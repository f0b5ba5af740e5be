package upload

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
	"testing"
)

// countingMethod is a zip compression method private to these tests: deflate,
// with every decompressed byte counted, so a test can see how much of a bomb
// FromArchive actually expanded. zip decompressors are registered per
// process, hence the package-level counter.
const countingMethod uint16 = 0xDEF1

var (
	registerCounting sync.Once
	decompressed     atomic.Int64
)

type countingDecompressor struct{ io.ReadCloser }

func (c countingDecompressor) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	decompressed.Add(int64(n))
	return n, err
}

// deflatedZeros returns n bytes of zeros, deflated, and their CRC-32.
func deflatedZeros(t testing.TB, n int64) ([]byte, uint32) {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	var crc uint32
	for left := n; left > 0; left -= int64(len(zeros)) {
		chunk := zeros[:min(left, int64(len(zeros)))]
		if _, err := fw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), crc
}

func TestZipBomb(t *testing.T) {
	registerCounting.Do(func() {
		zip.RegisterDecompressor(countingMethod, func(r io.Reader) io.ReadCloser {
			return countingDecompressor{flate.NewReader(r)}
		})
	})
	const size = 1 << 30
	bomb, crc := deflatedZeros(t, size)
	t.Logf("bomb: %d bytes deflate to %d", len(bomb), size)
	lim := Limits{} // the defaults: the 1.3 MiB body is well under 20 MiB
	maxBytes := lim.withDefaults().MaxBytes

	tests := []struct {
		name     string
		method   uint16
		declared uint64 // the uncompressed size the header claims
		wantErr  error
	}{
		{"deflate, honest header", zip.Deflate, size, ErrTooLarge},
		{"counted, honest header", countingMethod, size, ErrTooLarge},
		// archive/zip refuses to read past a declared size; either way no
		// more than the limit may be expanded.
		{"counted, header claims 100 bytes", countingMethod, 100, ErrInvalid},
		{"counted, header claims 2^63 bytes", countingMethod, 1 << 63, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := makeRawZip(t, &zip.FileHeader{
				Name: "zeros.bin", Method: tt.method, CRC32: crc,
				CompressedSize64: uint64(len(bomb)), UncompressedSize64: tt.declared,
			}, bomb)
			decompressed.Store(0)
			_, err := FromArchive(bytes.NewReader(body), ctZip, lim)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n := decompressed.Load(); n > maxBytes+1 {
				t.Errorf("decompressed %d bytes, want at most MaxBytes+1 = %d", n, maxBytes+1)
			}
			if tt.method == countingMethod && tt.wantErr == ErrTooLarge && decompressed.Load() < maxBytes {
				t.Errorf("decompressed only %d bytes: the counter does not see the reads", decompressed.Load())
			}
		})
	}
}

func TestTarGzBomb(t *testing.T) {
	// 16 MiB of zeros in a tar.gz; the limit is 1 MiB.
	const size = 16 << 20
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeroReader{}, size); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	body := gzipBytes(t, tarBuf.Bytes())
	r := &countingReader{r: bytes.NewReader(body)}
	_, err := FromArchive(r, ctGzip, Limits{MaxFiles: 10, MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// 1 MiB of zeros is about 1/16 of the compressed body; stopping at the
	// limit reads far less than all of it.
	if r.n > int64(len(body))/4 {
		t.Errorf("read %d of %d compressed bytes; it should stop near the 1 MiB limit", r.n, len(body))
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// repeatReader repeats block forever: an endless upload.
type repeatReader struct {
	block []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	return n, nil
}

func TestTarEndless(t *testing.T) {
	lim := Limits{MaxFiles: 10, MaxBytes: 1 << 20}
	// The read-ahead of bufio and of the tar reader may take a little more
	// than the cap from the body.
	slack := int64(64 << 10)

	var hugeHeader bytes.Buffer
	tw := tar.NewWriter(&hugeHeader)
	if err := tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: 1 << 40, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		body    io.Reader
		maxRead int64
		wantMsg string
	}{
		{
			// Directories are not counted as files; only the stream cap stops them.
			name:    "endless directories",
			body:    &repeatReader{block: makeTar(t, dir("d/"))[:512]},
			maxRead: rawTarLimit(lim) + slack,
			wantMsg: "tar archive expands to more than",
		},
		{
			name:    "endless skipped junk",
			body:    &repeatReader{block: makeTar(t, reg(".DS_Store", "junk"))[:1024]},
			maxRead: rawTarLimit(lim) + slack,
			wantMsg: "tar archive expands to more than",
		},
		{
			name:    "file declaring 1 TiB, endless content",
			body:    io.MultiReader(&hugeHeader, zeroReader{}),
			maxRead: lim.MaxBytes + 1 + int64(hugeHeader.Len()) + slack,
			wantMsg: `file "big": files add up to more than`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{r: tt.body}
			_, err := FromArchive(r, ctTar, lim)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.wantMsg)) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			if r.n > tt.maxRead {
				t.Errorf("read %d bytes of the body, want at most %d", r.n, tt.maxRead)
			}
		})
	}
}
