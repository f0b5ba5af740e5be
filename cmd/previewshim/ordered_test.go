package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runHooked runs argv with Python's stdio hook loaded (as previewd-lazy.pth
// loads it in the image) and the
// pacer's pipes as its output, and returns what the pacer wrote, in order.
func runHooked(t *testing.T, argv ...string) []string {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Skipf("%s is not installed on this host: %v", argv[0], err)
	}
	p := newOutputPacer(newLineLimiter(1_000_000, &strings.Builder{}))
	var got streamLog
	outW, errW, err := p.start(got.writer("stdout"), got.writer("stderr"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := filepath.Abs("../../images")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	f, v := p.orderedEnd(3)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), v, "PYTHONPATH="+filepath.Join(images, "python"))
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.closeChildEnds()
	_ = cmd.Wait()
	p.finish(time.Second)
	return got.lines
}

// An app that prints thousands of lines as fast as it can, with a stderr
// line after every hundredth: through the hooks every stderr line comes
// right after the stdout line printed before it. With two pipes alone they
// landed hundreds of lines later.
func TestHookedOutputKeepsExactOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"python", []string{"python3", "-c", `import previewd_stdio, sys
for i in range(1, 3001):
    print(f"count {i}")
    if i % 100 == 0:
        print(f"err {i}", file=sys.stderr)
`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := runHooked(t, tc.argv...)
			for _, l := range lines {
				if strings.HasPrefix(l, "stdout: err") || strings.HasPrefix(l, "stderr: count") {
					t.Fatalf("%q went to the wrong stream", l)
				}
			}
			checkInterleaving(t, lines, 3000, 100, 1)
		})
	}
}

// What the hook does not see still arrives: a write to fd 2 behind Python's
// back, a traceback and a line longer than a frame.
func TestHookedOutputLosesNothing(t *testing.T) {
	long := strings.Repeat("x", 10000)
	lines := runHooked(t, "python3", "-c", `import previewd_stdio, os, sys
print("first")
os.write(2, b"raw stderr\n")
print("`+long+`")
sys.stdout.buffer.write(b"bytes\n")
raise ValueError("boom")
`)
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"stdout: first", "stderr: raw stderr", "stdout: " + long, "stdout: bytes", "stderr: ValueError: boom"} {
		if !strings.Contains(joined, want) {
			t.Errorf("python: no %.60q in %.300q", want, joined)
		}
	}
}

// A process that did not inherit the ordered pipe (the fd is something else,
// or closed) keeps its own stdout and stderr.
func TestHookIgnoresAForeignFD(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("python3 is not installed on this host: %v", err)
	}
	images, _ := filepath.Abs("../../images/python")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var stdout bytes.Buffer
	cmd := exec.Command("python3", "-c", `import previewd_stdio; print("plain")`)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), "PYTHONPATH="+images, "PREVIEWD_STDIO=3:1") // a pipe, but not that inode
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "plain\n" {
		t.Errorf("stdout %q, want the line written as it is", stdout.String())
	}
}

func TestPushFrames(t *testing.T) {
	frame := func(stream byte, s string) []byte {
		return append([]byte{stream, byte(len(s) >> 8), byte(len(s))}, s...)
	}
	p := newOutputPacer(newLineLimiter(1000, &strings.Builder{}))
	go p.write()
	var got streamLog
	dsts := []io.Writer{got.writer("stdout"), got.writer("stderr")}
	all := bytes.Join([][]byte{frame(1, "a\n"), frame(2, "b\n"), frame(1, "c\n")}, nil)
	var rest []byte
	for _, cut := range [][]byte{all[:4], all[4:9], all[9:]} { // reads that cut frames
		rest = p.pushFrames(append(rest, cut...), dsts)
	}
	if len(rest) != 0 {
		t.Errorf("left %q", rest)
	}
	if rest = p.pushFrames([]byte{9, 0, 1, 'z', '\n'}, dsts); rest != nil { // not a frame
		t.Errorf("left %q of a malformed frame", rest)
	}
	p.mu.Lock()
	p.read = true
	p.cond.Broadcast()
	p.mu.Unlock()
	<-p.done
	want := []string{"stdout: a", "stderr: b", "stdout: c", "stderr: \t\x00\x01z"}
	if fmt.Sprint(got.lines) != fmt.Sprint(want) {
		t.Errorf("wrote %q, want %q", got.lines, want)
	}
}
