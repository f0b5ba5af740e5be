package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEndToEndWatch: up -watch against a real previewd sends a change of
// the folder as the next revision, says when it is live, and the app serves
// it; a broken change is reported and the previous revision keeps serving.
func TestEndToEndWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	p := startPreviewd(t)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "samples", "fastapi")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	mainPy := filepath.Join(dir, "app", "main.py")
	orig, err := os.ReadFile(mainPy)
	if err != nil {
		t.Fatal(err)
	}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(mainPy, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		a := &app{stdout: &out, stderr: &errOut, getenv: envMap{"PREVIEW_URL": p.url, "PREVIEW_TOKEN": p.token}.get}
		done <- a.main(ctx, []string{"up", "-watch", dir})
	}()
	appURL := waitMatch(t, &out, &errOut, done, regexp.MustCompile(`App:\s+(http://\S+)`))
	if _, body := httpGet(t, appURL); !strings.Contains(body, "hello from fastapi") {
		t.Fatalf("%s answered %q", appURL, body)
	}
	waitMatch(t, &out, &errOut, done, regexp.MustCompile(`is running`))

	// A change: revision 2, live, served. up prints what came of each
	// change among the log's lines, on stderr.
	write(strings.Replace(string(orig), "hello from fastapi", "hello from fastapi, changed", 1))
	ms := waitMatch(t, &errOut, &out, done, regexp.MustCompile(`revision 2 live in (\d+) ms`))
	t.Logf("revision 2 live in %s ms", ms)
	if _, body := httpGet(t, appURL); !strings.Contains(body, "hello from fastapi, changed") {
		t.Errorf("after revision 2 %s answered %q", appURL, body)
	}

	// A broken change: the failure is printed, revision 2 serves on.
	write(strings.Replace(string(orig), "hello from fastapi", "hello from fastapi, changed", 1) + "\ndef broken(:\n")
	waitMatch(t, &errOut, &out, done, regexp.MustCompile(`the change failed to start: .*revision 3`))
	waitMatch(t, &errOut, &out, done, regexp.MustCompile(`the previous revision keeps serving`))
	if _, body := httpGet(t, appURL); !strings.Contains(body, "hello from fastapi, changed") {
		t.Errorf("after the broken revision 3 %s answered %q", appURL, body)
	}

	// Fixed again: revision 4.
	write(strings.Replace(string(orig), "hello from fastapi", "hello from fastapi, fixed", 1))
	waitMatch(t, &errOut, &out, done, regexp.MustCompile(`revision 4 live in \d+ ms`))
	if _, body := httpGet(t, appURL); !strings.Contains(body, "hello from fastapi, fixed") {
		t.Errorf("after revision 4 %s answered %q", appURL, body)
	}

	interrupt()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("up -watch: exit code %d\n%s", code, errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("up -watch did not return after Ctrl-C")
	}
	t.Logf("up -watch:\n%s", out.String())
}
