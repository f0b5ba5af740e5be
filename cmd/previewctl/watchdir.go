package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
)

// Sending a folder's changes as revisions (up -watch).
const (
	// folderPoll is how often the folder is looked at.
	folderPoll = 250 * time.Millisecond
	// folderQuiet is how long the folder must stay unchanged before its
	// change is sent: an editor saving several files sends one revision.
	folderQuiet = 200 * time.Millisecond
)

// folderWatcher sends each change of a folder as the next revision of a
// generation and reports how it went.
type folderWatcher struct {
	client *client
	gen    string
	dir    string
	report func(string)
	sent   [32]byte // fingerprint of what was last sent
}

// newFolderWatcher starts from the folder as it is now: what up uploaded.
func newFolderWatcher(c *client, gen, dir string, report func(string)) (*folderWatcher, error) {
	_, sum, err := packFolder(dir)
	if err != nil {
		return nil, err
	}
	return &folderWatcher{client: c, gen: gen, dir: dir, report: report, sent: sum}, nil
}

// run watches until ctx ends.
func (w *folderWatcher) run(ctx context.Context) {
	t := time.NewTicker(folderPoll)
	defer t.Stop()
	var pending [32]byte
	var changedAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		archive, sum, err := packFolder(w.dir)
		if err != nil {
			continue // mid-save, or a file that is not ours to send: look again
		}
		switch {
		case sum == w.sent:
			changedAt = time.Time{}
			continue
		case sum != pending || changedAt.IsZero():
			pending, changedAt = sum, time.Now()
			continue
		case time.Since(changedAt) < folderQuiet:
			continue
		}
		w.sent = sum
		w.report(w.send(ctx, archive))
	}
}

// send sends archive and says what came of it.
func (w *folderWatcher) send(ctx context.Context, archive []byte) string {
	r, _, err := w.client.replaceFiles(ctx, w.gen, "", 0, archive)
	var ae *apiError
	switch {
	case err == nil:
		return revisedLine(r)
	case errors.As(err, &ae) && ae.Code == "launch_failed":
		line := "the change failed to start: " + ae.Message
		if n := len(ae.LogTail); n > 0 {
			line += "\n  " + ae.LogTail[n-1]
		}
		return line + "\n  the previous revision keeps serving"
	default:
		return "the change was not sent: " + err.Error()
	}
}

// revisedLine says what a change did to the generation's preview.
func revisedLine(r revised) string {
	switch r.Reload {
	case "in_place", "new_container":
		return fmt.Sprintf("revision %d live in %d ms", r.Revision, r.TimingsMS["total"])
	default:
		return fmt.Sprintf("revision %d stored; the next launch runs it", r.Revision)
	}
}

// packFolder builds the folder's archive as up sends it, and a fingerprint
// of its names and contents (not its times: saving a file unchanged is no
// change).
func packFolder(dir string) ([]byte, [32]byte, error) {
	var buf bytes.Buffer
	if _, err := buildArchive(dir, &buf); err != nil {
		return nil, [32]byte{}, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, [32]byte{}, err
	}
	h := sha256.New()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, [32]byte{}, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%o\x00", hdr.Name, hdr.Size, hdr.Mode)
		if _, err := io.Copy(h, tr); err != nil {
			return nil, [32]byte{}, err
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return buf.Bytes(), sum, nil
}
