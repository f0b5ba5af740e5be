package upload

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"testing"
)

// member is one entry of a test archive. A zero typ or mode means a regular
// file; a name ending in "/" is a directory.
type member struct {
	name string
	body string
	typ  byte        // tar type flag
	mode fs.FileMode // zip mode
	link string
}

func reg(name, body string) member { return member{name: name, body: body} }
func dir(name string) member       { return member{name: name, typ: tar.TypeDir, mode: fs.ModeDir | 0o755} }

func makeTar(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Mode: 0o644, Size: int64(len(m.body)), Linkname: m.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			// archive/tar names the entry itself and refuses other fields.
			h = &tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": m.body}}
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", m.name, err)
		}
		if h.Size == 0 {
			continue
		}
		if _, err := io.WriteString(tw, m.body); err != nil {
			t.Fatalf("tar body %q: %v", m.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeTarGz(t testing.TB, members ...member) []byte {
	t.Helper()
	return gzipBytes(t, makeTar(t, members...))
}

func makeZip(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
		mode := m.mode
		if mode == 0 {
			mode = 0o644
		}
		if mode.IsDir() {
			h.Method = zip.Store
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip header %q: %v", m.name, err)
		}
		if _, err := io.WriteString(w, m.body); err != nil {
			t.Fatalf("zip body %q: %v", m.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeRawZip writes one entry with the header and compressed bytes given, so
// a test can declare any method, flag or size.
func makeRawZip(t testing.TB, h *zip.FileHeader, compressed []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(compressed); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// files builds the expected result from path, content pairs.
func files(pathContent ...string) []File {
	var out []File
	for i := 0; i < len(pathContent); i += 2 {
		out = append(out, File{Path: pathContent[i], Content: []byte(pathContent[i+1])})
	}
	return out
}
